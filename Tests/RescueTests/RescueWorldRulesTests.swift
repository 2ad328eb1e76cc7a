import Testing
@testable import Rescue

/// A small world driven command by command, as the command loop drives it: decide, then apply
/// every event at the next seq. Used by the transcripts of the money, carbon and timing rules.
struct WorldHarness {
    var world = RescueWorld()
    var policy = standardPolicy
    var seq: UInt64 = 0
    /// Every event applied, with its seq.
    var written: [(seq: UInt64, event: RescueEvent)] = []
    static let minute: Int64 = 60_000_000
    static let hour: Int64 = 3_600_000_000
    let start = simulationStart

    init(policy: RescuePolicy = standardPolicy) {
        self.policy = policy
        for (participant, at) in Self.participants {
            _ = try? run(.register(participant), "operator", at: start + at)
        }
    }

    static let participants: [(ParticipantRegistry.Participant, Int64)] = [
        (.init(id: "cmp-a", role: .company, region: "ID-JK"), 0),
        (.init(id: "site-a", role: .site, company: "cmp-a", region: "ID-JK", latitude: -6_208_800, longitude: 106_845_600), 0),
        (.init(id: "ngo-a", role: .recipient, region: "ID-JK", latitude: -6_209_800, longitude: 106_846_600, registrationNumber: "AHU-1",
              capacityPortions: 10, acceptedCategories: ["mixedMeals"], serviceRadiusMetres: 10_000, headcountServed: 80), 0),
        (.init(id: "ngo-b", role: .recipient, region: "ID-JK", latitude: -6_219_800, longitude: 106_856_600, registrationNumber: "AHU-2",
              capacityPortions: 10, acceptedCategories: ["mixedMeals"], serviceRadiusMetres: 10_000, headcountServed: 80), 0),
        (.init(id: "buyer-a", role: .buyer, region: "ID-JK"), 0),
        (.init(id: "buyer-b", role: .buyer, region: "ID-JK"), 0),
    ]

    /// Decides and applies; the events, or the rejection thrown.
    @discardableResult
    mutating func run(_ command: RescueCommand, _ actor: String, at now: Int64) throws(RescueRejection) -> [RescueEvent] {
        let events = try world.decide(command, actor: actor, now: now, policy: policy).get()
        for event in events {
            world.apply(event, seq: seq, time: now)
            written.append((seq, event))
            seq += 1
        }
        let violations = world.invariantViolations()
        #expect(violations.isEmpty, "\(violations)")
        return events
    }

    /// The rejection `command` gets, or nil when it succeeds (and is then applied).
    mutating func refusal(_ command: RescueCommand, _ actor: String, at now: Int64) -> RescueRejection? {
        do {
            try run(command, actor, at: now)
            return nil
        } catch {
            return error
        }
    }

    mutating func post(_ id: String, grams: Int64 = 4_200, portions: Int64 = 10, price: Int64, expiresIn: Int64 = 2 * hour, at now: Int64) throws(RescueRejection) {
        try run(.post(OfferPost(
            id: id, provider: "", category: "mixedMeals", grams: grams, portions: portions, latitude: -6_208_800, longitude: 106_845_600,
            temperature: .ambient, expiresAt: now + expiresIn, priceRupiah: price, now: 0)), "site-a", at: now)
    }

    mutating func claim(_ id: String, offer: String, by claimant: String, portions: Int64 = 10, at now: Int64) throws(RescueRejection) {
        let version = world.offers.offers[offer]?.version ?? 1
        try run(.claim(id: id, offer: offer, seenVersion: version, portions: portions, pickupCodeDigest: "digest-\(id)"), claimant, at: now)
    }

    mutating func pickup(_ claim: String, grams: Int64, declared: Int64? = nil, at now: Int64) throws(RescueRejection) {
        try run(.confirmPickup(claim: claim, pickupCodeDigest: "digest-\(claim)", grams: grams, declaredFreshnessScore: declared), "site-a", at: now)
    }

    /// Rupiah released to the provider and refunded to the buyer for `escrow`, from the events.
    func moved(_ escrow: String) -> (released: Int64, refunded: Int64) {
        written.reduce((0, 0)) { total, item in
            switch item.event {
            case .escrowReleased(escrow, let rupiah): (total.0 + rupiah, total.1)
            case .escrowRefunded(escrow, let rupiah, _): (total.0, total.1 + rupiah)
            default: total
            }
        }
    }

    func mints(ofRescueAt rescue: UInt64) -> Int {
        written.filter { if case .carbonMinted(let minted) = $0.event { minted.rescue == rescue } else { false } }.count
    }

    func rescueSeq(_ claim: String) -> UInt64? { world.rescues[claim]?.seq }
}

/// Transcripts of the rules issue 13 found broken: each fails on the code before it.
@Suite struct RescueWorldRulesTests {
    let hour = WorldHarness.hour
    let minute = WorldHarness.minute

    /// A 60,000 Rp offer paid its provider 120,000 when `claimantNoShow` came before the pickup
    /// time was over: the food was relisted and sold again while the first buyer got nothing.
    @Test func aClaimantNoShowWaitsForTheExpiryAndPaysTheProviderOnce() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 60_000, at: t)
        try h.claim("clm-a", offer: "off-a", by: "buyer-a", at: t + minute)
        let dispute = RescueCommand.openDispute(id: "dsp-a", claim: "clm-a", reason: .claimantNoShow, evidence: [])
        #expect(h.refusal(dispute, "site-a", at: t + 10 * minute) == .dispute(.claimantNoShowBeforeExpiry))
        let expiry = h.world.offers.offers["off-a"]!.expiresAt
        #expect(h.refusal(dispute, "site-a", at: expiry) == nil)
        #expect(h.moved("clm-a") == (released: 60_000, refunded: 0))
        // The food is back on offer, but past its expiry: nobody can buy it a second time.
        #expect(h.refusal(.claim(id: "clm-b", offer: "off-a", seenVersion: h.world.offers.offers["off-a"]!.version, portions: 10, pickupCodeDigest: "d"), "buyer-b", at: expiry + 1)
            == .offer(.offerHasExpired))
        #expect(h.world.escrows.escrows["clm-b"] == nil)
    }

    /// `providerNoShow` refunded in full after the provider handed the food over against the
    /// claimant's own pickup code.
    @Test func aProviderNoShowCannotFollowAPickup() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 60_000, at: t)
        try h.claim("clm-a", offer: "off-a", by: "buyer-a", at: t + minute)
        try h.pickup("clm-a", grams: 4_200, at: t + 2 * minute)
        #expect(h.refusal(.openDispute(id: "dsp-a", claim: "clm-a", reason: .providerNoShow, evidence: []), "buyer-a", at: t + 3 * minute)
            == .dispute(.noShowAfterPickup))
        try h.run(.confirmDelivery(claim: "clm-a", portionsServed: 10), "buyer-a", at: t + 4 * minute)
        #expect(h.refusal(.openDispute(id: "dsp-a", claim: "clm-a", reason: .providerNoShow, evidence: []), "buyer-a", at: t + 5 * minute)
            == .dispute(.noShowAfterPickup))
    }

    /// A provider is paid for what was taken: half the grams, half the price; the rest goes back
    /// to the buyer at the pickup, and only the kept half is released after the window.
    @Test func aPartialPickupRefundsTheShareLeftBehind() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 60_001, at: t)
        try h.claim("clm-a", offer: "off-a", by: "buyer-a", at: t + minute)
        try h.pickup("clm-a", grams: 2_100, at: t + 2 * minute)
        #expect(h.moved("clm-a") == (released: 0, refunded: 30_001))
        try h.run(.confirmDelivery(claim: "clm-a", portionsServed: 5), "buyer-a", at: t + 3 * minute)
        try h.run(.tick, "system", at: t + 3 * minute + h.policy.disputes.windowMicroseconds)
        #expect(h.moved("clm-a") == (released: 30_000, refunded: 30_001))
        #expect(h.world.escrows.escrows["clm-a"]!.isClosed)
    }

    /// The offered recipient could still claim after its accept window until the next tick,
    /// while everyone else was refused.
    @Test func theAcceptWindowIsHalfOpenForEveryone() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 0, at: t)
        let offered = try #require(h.world.matches.matches["off-a"])
        #expect(offered.offeredTo == "ngo-a")
        #expect(h.refusal(.claim(id: "clm-a", offer: "off-a", seenVersion: 1, portions: 10, pickupCodeDigest: "d"), "ngo-a", at: offered.expiresAt)
            == .acceptWindowHasClosed)
        #expect(h.refusal(.declineMatch(offer: "off-a"), "ngo-a", at: offered.expiresAt) == .acceptWindowHasClosed)
        #expect(h.refusal(.claim(id: "clm-b", offer: "off-a", seenVersion: 1, portions: 10, pickupCodeDigest: "d"), "ngo-b", at: offered.expiresAt)
            == .offerIsReservedForAnotherRecipient)
        try h.run(.tick, "system", at: offered.expiresAt)
        #expect(h.world.matches.matches["off-a"]?.offeredTo == "ngo-b")
    }

    /// Matching kept offering food that had expired days before.
    @Test func escalationStopsWithTheFood() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 0, expiresIn: 3 * minute, at: t)
        let offered = try #require(h.world.matches.matches["off-a"])
        let events = try h.run(.tick, "system", at: offered.expiresAt)
        #expect(events.contains { if case .matchExpired("off-a", "ngo-a") = $0 { true } else { false } })
        #expect(!events.contains { if case .matchOffered = $0 { true } else { false } })
        #expect(h.world.matches.matches["off-a"]?.offeredTo == nil)
        // A decline after expiry does not hand the food on either.
        var k = WorldHarness()
        try k.post("off-b", price: 0, expiresIn: 3 * minute, at: t)
        let declined = try k.run(.declineMatch(offer: "off-b"), "ngo-a", at: t + 4 * minute)
        #expect(!declined.contains { if case .matchOffered = $0 { true } else { false } })
    }

    /// At exactly delivery + window both a mint and a dispute were accepted.
    @Test func theDisputeWindowAndTheMintNeverShareAnInstant() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 0, at: t)
        try h.claim("clm-a", offer: "off-a", by: "ngo-a", at: t + minute)
        try h.pickup("clm-a", grams: 4_200, at: t + 2 * minute)
        let delivered = t + 3 * minute
        try h.run(.confirmDelivery(claim: "clm-a", portionsServed: 10), "ngo-a", at: delivered)
        let end = delivered + h.policy.disputes.windowMicroseconds
        try h.run(.tick, "system", at: end - 1)
        #expect(h.mints(ofRescueAt: h.rescueSeq("clm-a")!) == 0)
        #expect(h.refusal(.openDispute(id: "dsp-a", claim: "clm-a", reason: .spoiled, evidence: []), "ngo-a", at: end) == .dispute(.disputeWindowHasClosed))
        try h.run(.tick, "system", at: end)
        #expect(h.mints(ofRescueAt: h.rescueSeq("clm-a")!) == 1)
    }

    /// A rescue whose dispute ended `noRefund` before its delivery was never counted for carbon.
    @Test func aDisputeDecidedForTheProviderBeforeDeliveryStillCounts() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 0, at: t)
        try h.claim("clm-a", offer: "off-a", by: "ngo-a", at: t + minute)
        try h.pickup("clm-a", grams: 4_200, at: t + 2 * minute)
        try h.run(.openDispute(id: "dsp-a", claim: "clm-a", reason: .spoiled, evidence: []), "ngo-a", at: t + 3 * minute)
        try h.run(.decideDispute(id: "dsp-a", outcome: .noRefund), "operator", at: t + 4 * minute)
        let delivered = t + 5 * minute
        try h.run(.confirmDelivery(claim: "clm-a", portionsServed: 10), "ngo-a", at: delivered)
        try h.run(.tick, "system", at: delivered + h.policy.disputes.windowMicroseconds)
        #expect(h.mints(ofRescueAt: h.rescueSeq("clm-a")!) == 1)
    }

    /// `dispute.opened.heldRupiah` reported the original hold, and a resolution could state a
    /// refund that never moved.
    @Test func aDisputeSeesAndRefundsOnlyWhatIsStillHeld() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 60_000, at: t)
        try h.claim("clm-a", offer: "off-a", by: "buyer-a", at: t + minute)
        try h.pickup("clm-a", grams: 2_100, at: t + 2 * minute)
        try h.run(.openDispute(id: "dsp-a", claim: "clm-a", reason: .spoiled, evidence: []), "buyer-a", at: t + 3 * minute)
        #expect(h.world.disputes.disputes["dsp-a"]?.heldRupiah == 30_000)
        #expect(h.refusal(.decideDispute(id: "dsp-a", outcome: .partialRefund(rupiah: 30_001)), "operator", at: t + 4 * minute) == .dispute(.refundExceedsHeld))
        try h.run(.decideDispute(id: "dsp-a", outcome: .fullRefund), "operator", at: t + 4 * minute)
        #expect(h.world.disputes.disputes["dsp-a"]?.resolution?.refundRupiah == 30_000)
        #expect(h.moved("clm-a") == (released: 0, refunded: 60_000))
    }

    /// A declared freshness score decided refunds automatically (`auto.freshnessBelowThreshold`).
    @Test func aDeclaredFreshnessScoreDecidesNothing() throws {
        var h = WorldHarness()
        let t = h.start + hour
        try h.post("off-a", price: 60_000, at: t)
        try h.claim("clm-a", offer: "off-a", by: "buyer-a", at: t + minute)
        try h.pickup("clm-a", grams: 4_200, declared: 5, at: t + 2 * minute)
        let events = try h.run(.openDispute(id: "dsp-a", claim: "clm-a", reason: .spoiled, evidence: []), "buyer-a", at: t + 3 * minute)
        #expect(events.count == 1)
        #expect(h.world.pickups["clm-a"]?.declaredFreshnessScore == 5)
    }

    /// Only food nobody took can be relisted; an open dispute holds the claim's money.
    @Test func relistingAndCancellingRespectTheClaimsState() throws {
        var manual = standardPolicy
        manual.disputes.automaticByReason = [:]
        var h = WorldHarness(policy: manual)
        let t = h.start + hour
        try h.post("off-a", price: 60_000, at: t)
        try h.post("off-b", price: 60_000, at: t)
        try h.claim("clm-a", offer: "off-a", by: "buyer-a", at: t + minute)
        try h.claim("clm-b", offer: "off-b", by: "buyer-b", at: t + minute)
        try h.run(.openDispute(id: "dsp-a", claim: "clm-a", reason: .providerNoShow, evidence: []), "buyer-a", at: t + 2 * minute)
        #expect(h.refusal(.cancelClaim(claim: "clm-a"), "buyer-a", at: t + 3 * minute) == .claimIsDisputed)
        #expect(h.refusal(.confirmPickup(claim: "clm-a", pickupCodeDigest: "digest-clm-a", grams: 4_200, declaredFreshnessScore: nil), "site-a", at: t + 3 * minute)
            == .claimIsDisputed)
        try h.pickup("clm-b", grams: 4_200, at: t + 3 * minute)
        try h.run(.openDispute(id: "dsp-b", claim: "clm-b", reason: .spoiled, evidence: []), "buyer-b", at: t + 3 * minute)
        #expect(h.refusal(.decideDispute(id: "dsp-b", outcome: .noRefundRelist), "operator", at: t + 4 * minute) == .dispute(.relistNeedsAClaimNotPickedUp))
        // Exactly once: every rupiah held is released or refunded, never both, never twice.
        try h.run(.decideDispute(id: "dsp-a", outcome: .fullRefund), "operator", at: t + 5 * minute)
        try h.run(.decideDispute(id: "dsp-b", outcome: .noRefund), "operator", at: t + 5 * minute)
        #expect(h.moved("clm-a") == (released: 0, refunded: 60_000))
        #expect(h.moved("clm-b") == (released: 60_000, refunded: 0))
    }

    /// Mints are written as `system` whichever command's entries they follow.
    @Test func mintsAreTheSystemsEntries() {
        let minted = RescueEvent.carbonMinted(Minted(
            company: "cmp-a", vintage: 2026, range: nil, buffer: nil, rescue: 1, basedOn: [], gramsCO2e: 1, carriedGrams: 1, basis: .downstream))
        #expect(minted.isWrittenBySystem)
        #expect(!RescueEvent.claimCancelled(claim: "c").isWrittenBySystem)
    }
}
