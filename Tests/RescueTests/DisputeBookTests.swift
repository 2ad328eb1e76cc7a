import Testing
@testable import Rescue

@Suite struct DisputeBookTests {
    let policy = DisputePolicy()
    static let hour: Int64 = 3_600_000_000
    let delivered: Int64 = 1_795_453_200_000_000

    func facts(_ claim: String = "c-1", held: Int64 = 40_000, late: Bool = false, freshness: Int64? = nil) -> ClaimFacts {
        ClaimFacts(claim: claim, claimant: "rcp-1", provider: "prv-1", heldRupiah: held, windowStart: delivered, pickupAfterExpiry: late, freshnessScore: freshness)
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
        run(&book, .open(id: "d-1", facts: facts("c-1"), actor: "rcp-1", reason: .providerNoShow, evidence: [], now: delivered + Self.hour))
        #expect(resolution(book, "d-1") == DisputeBook.Resolution(outcome: .fullRefund, refundRupiah: 40_000, rule: "auto.providerNoShow"))
        run(&book, .open(id: "d-2", facts: facts("c-2", freshness: 41), actor: "rcp-1", reason: .spoiled, evidence: ["photo:1"], now: delivered))
        #expect(resolution(book, "d-2")?.rule == "auto.freshnessBelowThreshold")
        run(&book, .open(id: "d-3", facts: facts("c-3", late: true), actor: "rcp-1", reason: .notAsDescribed, evidence: [], now: delivered))
        #expect(resolution(book, "d-3")?.rule == "auto.pickupAfterExpiry")
        // The provider reports the claimant did not come: no refund, the food is relisted.
        run(&book, .open(id: "d-4", facts: facts("c-4"), actor: "prv-1", reason: .claimantNoShow, evidence: [], now: delivered))
        #expect(resolution(book, "d-4") == DisputeBook.Resolution(outcome: .noRefundRelist, refundRupiah: 0, rule: "auto.claimantNoShow"))
    }

    @Test func everythingElseWaitsForAnOperatorWithinTheDeadline() {
        var book = DisputeBook()
        #expect(run(&book, .open(id: "d-1", facts: facts(), actor: "rcp-2", reason: .spoiled, evidence: [], now: delivered)) == .failure(.actorMayNotDisputeThisClaim))
        #expect(run(&book, .open(id: "d-1", facts: facts(), actor: "rcp-1", reason: .spoiled, evidence: [], now: delivered + 25 * Self.hour)) == .failure(.disputeWindowHasClosed))
        #expect(run(&book, .open(id: "d-1", facts: facts(freshness: 90), actor: "rcp-1", reason: .spoiled, evidence: ["photo:7"], now: delivered + Self.hour)).isSuccess)
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
}
