import Testing
@testable import Rescue

@Suite struct DisputeBookTests {
    let policy = DisputePolicy()
    static let hour: Int64 = 3_600_000_000
    let delivered: Int64 = 1_795_453_200_000_000

    /// A delivered claim, unless `status` says otherwise (then nothing was picked up or delivered).
    func facts(_ claim: String = "c-1", held: Int64 = 40_000, late: Bool = false, attested: Int64? = nil, status: OfferBook.ClaimStatus = .delivered) -> ClaimFacts {
        ClaimFacts(
            claim: claim, claimant: "rcp-1", provider: "prv-1", heldRupiah: held, status: status, offerExpiresAt: delivered - 2 * Self.hour,
            pickedUpAt: status == .placed ? nil : delivered - 3 * Self.hour, deliveredAt: status == .delivered ? delivered : nil,
            pickupAfterExpiry: late, attestedFreshnessScore: attested)
    }

    @discardableResult
    func run(_ book: inout DisputeBook, _ command: DisputeCommand) -> Result<[DisputeEvent], DisputeRejection> {
        let result = book.decide(command, policy: policy)
        if case .success(let events) = result { for event in events { book.apply(event) } }
        return result
    }

    func resolution(_ book: DisputeBook, _ id: String) -> DisputeBook.Resolution? { book.disputes[id]?.resolution }

    @Test func automaticRulesDecideAtOnceAndNameTheRule() {
        var book = DisputeBook()
        run(&book, .open(id: "d-1", facts: facts("c-1", status: .placed), actor: "rcp-1", reason: .providerNoShow, evidence: [], now: delivered + Self.hour))
        #expect(resolution(book, "d-1") == DisputeBook.Resolution(outcome: .fullRefund, refundRupiah: 40_000, rule: "auto.providerNoShow"))
        run(&book, .open(id: "d-2", facts: facts("c-2", attested: 41), actor: "rcp-1", reason: .spoiled, evidence: [CitySimulator.evidence("photo:1")], now: delivered))
        #expect(resolution(book, "d-2")?.rule == "auto.freshnessBelowThreshold")
        run(&book, .open(id: "d-3", facts: facts("c-3", late: true), actor: "rcp-1", reason: .notAsDescribed, evidence: [], now: delivered))
        #expect(resolution(book, "d-3")?.rule == "auto.pickupAfterExpiry")
        // The provider reports the claimant did not come, after the pickup time: no refund, relisted.
        run(&book, .open(id: "d-4", facts: facts("c-4", status: .placed), actor: "prv-1", reason: .claimantNoShow, evidence: [], now: delivered))
        #expect(resolution(book, "d-4") == DisputeBook.Resolution(outcome: .noRefundRelist, refundRupiah: 0, rule: "auto.claimantNoShow"))
    }

    @Test func everythingElseWaitsForAnOperatorWithinTheDeadline() {
        var book = DisputeBook()
        #expect(run(&book, .open(id: "d-1", facts: facts(), actor: "rcp-2", reason: .spoiled, evidence: [], now: delivered)) == .failure(.actorMayNotDisputeThisClaim))
        #expect(run(&book, .open(id: "d-1", facts: facts(), actor: "rcp-1", reason: .spoiled, evidence: [], now: delivered + 25 * Self.hour)) == .failure(.disputeWindowHasClosed))
        #expect(run(&book, .open(id: "d-1", facts: facts(attested: 90), actor: "rcp-1", reason: .spoiled, evidence: [CitySimulator.evidence("photo:7")], now: delivered + Self.hour)).isSuccess)
        #expect(resolution(book, "d-1") == nil)
        #expect(run(&book, .open(id: "d-2", facts: facts(), actor: "rcp-1", reason: .safety, evidence: [], now: delivered)) == .failure(.claimIsAlreadyDisputed))
        #expect(run(&book, .decide(id: "d-1", outcome: .partialRefund(rupiah: 40_001), now: delivered + 2 * Self.hour)) == .failure(.refundExceedsHeld))
        #expect(run(&book, .expire(id: "d-1", now: delivered + 2 * Self.hour)) == .failure(.decisionDeadlineHasNotPassed))
        #expect(run(&book, .decide(id: "d-1", outcome: .partialRefund(rupiah: 15_000), now: delivered + 2 * Self.hour)).isSuccess)
        #expect(resolution(book, "d-1") == DisputeBook.Resolution(outcome: .partialRefund(rupiah: 15_000), refundRupiah: 15_000, rule: "operator.decision"))
        #expect(run(&book, .decide(id: "d-1", outcome: .noRefund, now: delivered + 3 * Self.hour)) == .failure(.disputeAlreadyResolved))
        // Nobody decides d-3 in time: the policy's default applies, and says so.
        run(&book, .open(id: "d-3", facts: facts("c-3"), actor: "rcp-1", reason: .notAsDescribed, evidence: [], now: delivered))
        #expect(run(&book, .decide(id: "d-3", outcome: .noRefund, now: delivered + 73 * Self.hour)) == .failure(.decisionDeadlineHasPassed))
        #expect(run(&book, .expire(id: "d-3", now: delivered + 73 * Self.hour)).isSuccess)
        #expect(resolution(book, "d-3")?.rule == "policy.undecidedByDeadline")
    }

    /// Issue 13: an operator could decide at exactly `decideBy` and the deadline could expire it
    /// in the same instant; both deadlines are half-open like the dispute window.
    @Test func theDecisionDeadlineIsHalfOpen() {
        var book = DisputeBook()
        run(&book, .open(id: "d-1", facts: facts(), actor: "rcp-1", reason: .spoiled, evidence: [], now: delivered))
        let decideBy = delivered + policy.decisionDeadlineMicroseconds
        #expect(run(&book, .expire(id: "d-1", now: decideBy - 1)) == .failure(.decisionDeadlineHasNotPassed))
        #expect(run(&book, .decide(id: "d-1", outcome: .noRefund, now: decideBy)) == .failure(.decisionDeadlineHasPassed))
        #expect(run(&book, .expire(id: "d-1", now: decideBy)).isSuccess)
    }

    /// Issue 13: `claimantNoShow` was accepted at any time, also on picked-up and delivered claims,
    /// and `providerNoShow` refunded after a pickup confirmed with the claimant's own code.
    @Test func eachReasonFitsOnlyTheClaimsAndTimesItIsAbout() {
        var book = DisputeBook()
        let expiry = delivered - 2 * Self.hour
        // Before the offer's expiry the claimant may still come: no claimant no-show yet.
        #expect(run(&book, .open(id: "d-1", facts: facts(status: .placed), actor: "prv-1", reason: .claimantNoShow, evidence: [], now: expiry - 1))
            == .failure(.claimantNoShowBeforeExpiry))
        #expect(run(&book, .open(id: "d-1", facts: facts(status: .pickedUp), actor: "prv-1", reason: .claimantNoShow, evidence: [], now: expiry + 1))
            == .failure(.noShowAfterPickup))
        #expect(run(&book, .open(id: "d-1", facts: facts(status: .delivered), actor: "rcp-1", reason: .providerNoShow, evidence: [], now: delivered))
            == .failure(.noShowAfterPickup))
        #expect(run(&book, .open(id: "d-1", facts: facts(status: .placed), actor: "rcp-1", reason: .spoiled, evidence: [], now: delivered))
            == .failure(.disputeNeedsAPickup))
        #expect(run(&book, .open(id: "d-1", facts: facts(status: .cancelled), actor: "rcp-1", reason: .providerNoShow, evidence: [], now: delivered))
            == .failure(.claimIsCancelled))
        // The claimant, not the provider, reports a provider no-show (and the other way round).
        #expect(run(&book, .open(id: "d-1", facts: facts(status: .placed), actor: "rcp-1", reason: .claimantNoShow, evidence: [], now: expiry))
            == .failure(.actorMayNotDisputeThisClaim))
        #expect(run(&book, .open(id: "d-1", facts: facts(status: .placed), actor: "prv-1", reason: .claimantNoShow, evidence: [], now: expiry)).isSuccess)
        // Half-open: at exactly the window's end the dispute is refused (the settlement owns that instant).
        #expect(run(&book, .open(id: "d-2", facts: facts("c-2"), actor: "rcp-1", reason: .spoiled, evidence: [], now: delivered + policy.windowMicroseconds))
            == .failure(.disputeWindowHasClosed))
        #expect(run(&book, .open(id: "d-2", facts: facts("c-2"), actor: "rcp-1", reason: .spoiled, evidence: [], now: delivered + policy.windowMicroseconds - 1)).isSuccess)
    }

    /// Issue 13: evidence and dispute ids were free strings; a NIK written with spaces was accepted.
    @Test func evidenceIsAReferenceAndIdsArePseudonymous() {
        var book = DisputeBook()
        // The engine records keyed digests only; anything else (even a plain file digest, whose 64
        // hex digits could spell a NIK) is refused.
        for evidence in ["3174 0112 0190 0001", "081234567890", "budi@example.id", "Budi Santoso", "sha256:abc", "photo:clm-7",
            "sha256:" + String(repeating: "31740112019000010812345678900000", count: 2), "hmac:" + String(repeating: "G", count: 64)] {
            #expect(run(&book, .open(id: "d-1", facts: facts(), actor: "rcp-1", reason: .spoiled, evidence: [evidence], now: delivered)) == .failure(.evidenceIsNotAReference))
        }
        #expect(run(&book, .open(id: "d-1", facts: facts(), actor: "rcp-1", reason: .spoiled, evidence: Array(repeating: CitySimulator.evidence("photo:1"), count: 17), now: delivered))
            == .failure(.evidenceIsNotAReference))
        #expect(run(&book, .open(id: "081234567890", facts: facts(), actor: "rcp-1", reason: .spoiled, evidence: [], now: delivered)) == .failure(.idIsNotPseudonymous))
        #expect(run(&book, .open(id: "d-1", facts: facts(), actor: "rcp-1", reason: .spoiled, evidence: [CitySimulator.evidence("photo:1"), "hmac:" + String(repeating: "ab", count: 32)], now: delivered)).isSuccess)
    }
}
