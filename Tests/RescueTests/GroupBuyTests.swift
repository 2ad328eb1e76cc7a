import Testing
@testable import Rescue

/// RT/RW group buys through the world (FORMAT §7.13): one claim, one escrow per member, every
/// money movement split over the members, and the group closed once every hold has closed.
@Suite struct GroupBuyTests {
    let hour = WorldHarness.hour
    let minute = WorldHarness.minute

    /// A harness with an RT coordinator and three households.
    func harness() -> WorldHarness {
        var h = WorldHarness()
        for (id, role) in [("kom-a", ParticipantRegistry.Role.group), ("hh-a", .buyer), ("hh-b", .buyer), ("hh-c", .buyer)] {
            _ = try? h.run(.register(.init(id: id, role: role, region: "ID-JK")), "operator", at: h.start)
        }
        return h
    }

    func form(_ h: inout WorldHarness, at t: Int64, minPortions: Int64 = 5) throws(RescueRejection) {
        try h.run(.formGroup(GroupBook.Form(id: "grp-a", area: "3174031002.rw07.rt03", offer: "off-a", category: nil, deadline: t + hour, minPortions: minPortions)), "kom-a", at: t)
        try h.run(.joinGroup(group: "grp-a", portions: 3), "hh-a", at: t + minute)
        try h.run(.joinGroup(group: "grp-a", portions: 3), "hh-b", at: t + minute)
        try h.run(.joinGroup(group: "grp-a", portions: 1), "hh-c", at: t + minute)
    }

    /// The worked example: Rp 100,000 for 7 portions split 42,857 + 42,857 + 14,286, each in its
    /// own escrow; a dispute's partial refund is split over them by the same rule.
    @Test func aPaidGroupClaimHoldsEachMembersShareAndSplitsARefund() throws {
        var h = harness()
        let t = h.start + hour
        try h.post("off-a", grams: 2_940, portions: 7, price: 100_000, at: t)
        try form(&h, at: t)
        let claimed = try h.run(.claimGroup(group: "grp-a", claim: "clm-g", offer: nil, pickupCodeDigest: "digest-clm-g"), "kom-a", at: t + 2 * minute)
        guard case .groupClaimed(let plan) = claimed.first, case .claimPlaced(let claim) = claimed[1] else { Issue.record("\(claimed)"); return }
        #expect(plan.shares.map(\.rupiah) == [42_857, 42_857, 14_286] && claim.priceRupiah == 100_000 && claim.claimant == "kom-a")
        let holds = claimed.compactMap { if case .escrowHeld(let escrow) = $0 { (escrow.id, escrow.heldRupiah) } else { nil } }
        #expect(holds.map(\.0) == ["clm-g/hh-a", "clm-g/hh-b", "clm-g/hh-c"] && holds.map(\.1) == [42_857, 42_857, 14_286])
        // Nobody leaves after the claim; a second claim is refused.
        #expect(h.refusal(.leaveGroup(group: "grp-a"), "hh-a", at: t + 3 * minute) == .group(.groupIsNotForming))
        #expect(h.refusal(.claimGroup(group: "grp-a", claim: "clm-h", offer: nil, pickupCodeDigest: "d"), "kom-a", at: t + 3 * minute) == .group(.groupIsNotForming))
        try h.pickup("clm-g", grams: 2_940, at: t + 10 * minute)
        try h.run(.confirmDelivery(claim: "clm-g", portionsServed: 7), "kom-a", at: t + 20 * minute)
        try h.run(.groupNoShow(group: "grp-a", member: "hh-c"), "kom-a", at: t + 21 * minute)
        #expect(h.refusal(.groupNoShow(group: "grp-a", member: "hh-c"), "kom-a", at: t + 22 * minute) == .group(.noShowAlreadyRecorded))
        // A spoiled-food dispute decided for a partial refund of Rp 10,001: split 4,286 + 4,286 + 1,429.
        try h.run(.openDispute(id: "dsp-g", claim: "clm-g", reason: .spoiled, evidence: ["hmac:" + String(repeating: "ab", count: 32)]), "kom-a", at: t + 30 * minute)
        #expect(h.world.disputes.disputes["dsp-g"]?.heldRupiah == 100_000)
        let settled = try h.run(.decideDispute(id: "dsp-g", outcome: .partialRefund(rupiah: 10_001)), "operator", at: t + 40 * minute)
        let refunds = settled.compactMap { if case .escrowRefunded(let id, let rupiah, _) = $0 { (id, rupiah) } else { nil } }
        #expect(refunds.map(\.1) == [4_286, 4_286, 1_429] && refunds.map(\.1).reduce(0, +) == 10_001, "\(refunds)")
        let released = settled.compactMap { if case .escrowReleased(_, let rupiah) = $0 { rupiah } else { nil } }.reduce(0, +)
        #expect(released == 89_999)
        #expect(settled.last == .groupClosed(group: "grp-a") && h.world.groups.groups["grp-a"]?.status == .closed)
        #expect(["clm-g/hh-a", "clm-g/hh-b", "clm-g/hh-c"].allSatisfy { h.world.escrows.escrows[$0]!.isClosed })
    }

    /// Cancelling the group's claim before pickup refunds every member in full and closes it;
    /// a group that never claims expires at its deadline with nothing held.
    @Test func cancellingRefundsEveryMemberAndAMissedDeadlineExpires() throws {
        var h = harness()
        let t = h.start + hour
        try h.post("off-a", grams: 2_940, portions: 7, price: 100_000, at: t)
        try form(&h, at: t)
        #expect(h.refusal(.claimGroup(group: "grp-a", claim: "clm-g", offer: nil, pickupCodeDigest: "d"), "hh-a", at: t + 2 * minute) == .group(.actorIsNotTheCoordinator))
        try h.run(.claimGroup(group: "grp-a", claim: "clm-g", offer: nil, pickupCodeDigest: "d"), "kom-a", at: t + 2 * minute)
        // No food was handed over yet: nobody can have failed to collect it.
        #expect(h.refusal(.groupNoShow(group: "grp-a", member: "hh-c"), "kom-a", at: t + 3 * minute) == .group(.foodWasNotHandedOver))
        let cancelled = try h.run(.cancelClaim(claim: "clm-g"), "kom-a", at: t + 3 * minute)
        let refunds = cancelled.compactMap { if case .escrowRefunded(_, let rupiah, let rule) = $0 { (rupiah, rule) } else { nil } }
        #expect(refunds.map(\.0) == [42_857, 42_857, 14_286] && refunds.allSatisfy { $0.1 == "claim.cancelledBeforePickup" })
        #expect(cancelled.last == .groupClosed(group: "grp-a"))

        var e = harness()
        try e.post("off-a", grams: 4_200, portions: 10, price: 100_000, at: t)
        try form(&e, at: t, minPortions: 8)
        #expect(e.refusal(.claimGroup(group: "grp-a", claim: "clm-g", offer: nil, pickupCodeDigest: "d"), "kom-a", at: t + 2 * minute) == .group(.minimumNotReached))
        #expect(e.refusal(.formGroup(GroupBook.Form(id: "grp-b", area: "3174031002.rw07.rt03", offer: "off-a", category: nil, deadline: t + hour, minPortions: 1)), "hh-a", at: t + 2 * minute) == .actorMayNotCoordinateGroups)
        #expect(e.refusal(.joinGroup(group: "grp-a", portions: 1), "kom-a", at: t + 2 * minute) == .actorMayNotJoinGroups)
        // A household cannot block the group by asking for more than the offer has left.
        _ = try? e.run(.register(.init(id: "hh-d", role: .buyer, region: "ID-JK")), "operator", at: t + 2 * minute)
        #expect(e.refusal(.joinGroup(group: "grp-a", portions: 4), "hh-d", at: t + 2 * minute) == .group(.groupExceedsWhatRemains))
        let ticked = try e.run(.tick, "system", at: t + hour)
        #expect(ticked.contains(.groupExpired(group: "grp-a", rule: "policy.groupDeadlineMissed")))
        #expect(e.world.escrows.escrows.isEmpty)
    }
}
