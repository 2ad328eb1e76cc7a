extension CitySimulator {
    /// Pahlawan-Express: NGOs without transport ask for couriers; couriers accept, decline or let
    /// the offer lapse, carry what their vehicle holds (the rest goes to another), sometimes
    /// give a wrong pickup code or claim a delivery before the pickup, and earn points.
    mutating func courierStep(world: RescueWorld) -> Step? {
        guard devices != nil, !courierIDs.isEmpty else { return nil }
        switch scanRandom.int(below: 100) {
        case 0..<30:
            // An NGO asks for a courier for a claim it placed.
            let waiting = placed.suffix(40).filter { id in
                guard let claim = world.offers.claims[id], claim.status == .placed, world.participants.participants[claim.claimant]?.role == .recipient else { return false }
                return world.logistics.dispatches[id] == nil
            }
            guard let id = waiting.last, let claim = world.offers.claims[id] else { return nil }
            return Step(command: .requestCourier(claim: id), actor: claim.claimant, now: now)
        case 30..<60:
            // A courier answers its offer: mostly yes, sometimes no; some never answer (timed
            // out), and some answer after the window (refused).
            guard let dispatch = world.logistics.dispatches.values.filter({ $0.offeredTo != nil }).min(by: { $0.claim < $1.claim }),
                let courier = dispatch.offeredTo
            else { return nil }
            let roll = scanRandom.int(below: 100)
            if roll >= 90 { return nil }
            return Step(command: .respondToCourierOffer(claim: dispatch.claim, accept: roll < 70), actor: courier, now: now)
        case 70..<80:
            // The provider confirms handing a claim over once its couriers have taken their legs.
            guard let (claim, _) = world.logistics.dispatches.sorted(by: { $0.key < $1.key }).first(where: { id, dispatch in
                world.offers.claims[id]?.status == .placed && !dispatch.legs.isEmpty && dispatch.legs.allSatisfy(\.pickedUp) && dispatch.unplacedGrams == 0
            }), let placed = world.offers.claims[claim], let offer = world.offers.offers[placed.offer] else { return nil }
            return Step(
                command: .confirmPickup(claim: claim, pickupCodeDigest: digest(claim, codes[claim] ?? ""), grams: placed.grams, declaredFreshnessScore: nil),
                actor: offer.provider, now: now)
        case 60..<70:
            // A courier picks up a leg with the claim's code (sometimes a wrong one).
            guard let (claim, leg) = openLeg(world: world, pickedUp: false) else { return nil }
            let code = scanRandom.chance(percent: 92) ? codes[claim] ?? "" : "WRONG"
            return Step(command: .courierPickup(claim: claim, pickupCodeDigest: digest(claim, code)), actor: leg.courier, now: now)
        default:
            // A courier delivers a leg once the food was handed over (sometimes one not picked up
            // yet, or before the handover: refused).
            guard let (claim, leg) = openLeg(world: world, pickedUp: !scanRandom.chance(percent: 8), handedOver: !scanRandom.chance(percent: 8)) else { return nil }
            return Step(command: .courierDeliver(claim: claim), actor: leg.courier, now: now)
        }
    }

    private func openLeg(world: RescueWorld, pickedUp: Bool, handedOver: Bool? = nil) -> (String, LogisticsBook.Leg)? {
        for (claim, dispatch) in world.logistics.dispatches.sorted(by: { $0.key < $1.key }) {
            if let handedOver, (world.offers.claims[claim]?.status == .pickedUp) != handedOver { continue }
            if let leg = dispatch.legs.first(where: { !$0.delivered && $0.pickedUp == pickedUp && !$0.external }) { return (claim, leg) }
        }
        return nil
    }
}
