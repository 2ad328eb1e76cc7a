/// Couriers, the dispatch of claims to them, their legs and their Eco-Hero points (FORMAT
/// §7.16). Pure: the world passes in the claim's facts (where the food is, where it goes, how
/// cold it must stay); the logistics provider's API and its circuit breaker are Core's.
public struct LogisticsBook: Sendable, Equatable {
    public enum DeclineReason: String, Hashable, Sendable { case declined, timedOut }

    public struct Courier: Hashable, Sendable {
        public var id: String
        public var vehicleGrams: Int64
        public var coldChain: Bool
        /// Grams in hand (assigned, not yet delivered) and the claims of those legs.
        public var carryingGrams: Int64 = 0
        public var legs: Set<String> = []
        public var deliveriesToday: Int64 = 0
        public var day: Int64 = 0
        public var points: Int64 = 0
    }

    /// One courier's part of a claim.
    public struct Leg: Hashable, Sendable {
        public var courier: String
        public var grams: Int64
        public var pickedUp = false
        public var delivered = false
        public var external = false
    }

    /// A claim being dispatched: where and what, what is still to place, who is being asked.
    public struct Dispatch: Hashable, Sendable {
        public var claim: String
        public var pickupLatitude: Int64
        public var pickupLongitude: Int64
        public var dropLatitude: Int64
        public var dropLongitude: Int64
        public var needsColdChain: Bool
        public var expiresAt: Int64
        public var unplacedGrams: Int64
        public var declined: Set<String> = []
        public var offeredTo: String?
        public var offeredGrams: Int64 = 0
        public var offerExpiresAt: Int64 = 0
        public var legs: [Leg] = []

        public init(
            claim: String, pickupLatitude: Int64, pickupLongitude: Int64, dropLatitude: Int64, dropLongitude: Int64, needsColdChain: Bool, expiresAt: Int64,
            unplacedGrams: Int64
        ) {
            self.claim = claim
            self.pickupLatitude = pickupLatitude
            self.pickupLongitude = pickupLongitude
            self.dropLatitude = dropLatitude
            self.dropLongitude = dropLongitude
            self.needsColdChain = needsColdChain
            self.expiresAt = expiresAt
            self.unplacedGrams = unplacedGrams
        }
    }

    /// `courier.delivered` with what points are computed from.
    public struct Delivery: Hashable, Sendable {
        public var claim: String
        public var courier: String
        public var grams: Int64
        public var distanceMetres: Int64
        public var coldChain: Bool
        public var minutesBeforeExpiry: Int64

        public init(claim: String, courier: String, grams: Int64, distanceMetres: Int64, coldChain: Bool, minutesBeforeExpiry: Int64) {
            self.claim = claim
            self.courier = courier
            self.grams = grams
            self.distanceMetres = distanceMetres
            self.coldChain = coldChain
            self.minutesBeforeExpiry = minutesBeforeExpiry
        }
    }

    /// `points.awarded`: the sum and its parts.
    public struct Award: Hashable, Sendable {
        public var courier: String
        public var claim: String
        public var kgPoints: Int64
        public var kmPoints: Int64
        public var coldChainPoints: Int64
        public var nearExpiryPoints: Int64
        public var points: Int64 { kgPoints + kmPoints + coldChainPoints + nearExpiryPoints }

        public init(courier: String, claim: String, kgPoints: Int64, kmPoints: Int64, coldChainPoints: Int64, nearExpiryPoints: Int64) {
            self.courier = courier
            self.claim = claim
            self.kgPoints = kgPoints
            self.kmPoints = kmPoints
            self.coldChainPoints = coldChainPoints
            self.nearExpiryPoints = nearExpiryPoints
        }
    }

    public private(set) var couriers: IDTable<Courier> = [:]
    public private(set) var search = CourierSearch()
    /// What dispatch reads of each courier on every candidate, by the search's numbers: an array
    /// read, not a hash of the courier's id, in the loop over the couriers near a pickup.
    struct Load: Hashable, Sendable {
        var freeGrams: Int64
        var legs: Int
        var deliveriesToday: Int64
        var day: Int64
    }
    private var loads: [Load] = []
    public private(set) var dispatches: IDTable<Dispatch> = [:]
    /// Claims whose current offer to a courier times out, by deadline.
    private var offerDeadlines = DeadlineQueue<String>()

    public init() {}

    /// The WIB calendar day of `time`, the fairness period.
    static func day(_ time: Int64) -> Int64 { (time + 7 * 3_600_000_000) / 86_400_000_000 }

    public mutating func registerCourier(_ participant: ParticipantRegistry.Participant) {
        guard participant.role == .courier, let latitude = participant.latitude, let longitude = participant.longitude,
            let radius = participant.serviceRadiusMetres, let vehicle = participant.vehicleGrams
        else { return }
        guard couriers[participant.id] == nil else { return }
        couriers[participant.id] = Courier(id: participant.id, vehicleGrams: vehicle, coldChain: participant.coldChain ?? false)
        search.index(participant.id, latitude: latitude, longitude: longitude, radiusMetres: radius, coldChain: participant.coldChain ?? false)
        loads.append(Load(freeGrams: vehicle, legs: 0, deliveriesToday: 0, day: 0))
    }

    /// The next offer of `dispatch`'s unplaced grams: the best eligible courier, or nil.
    public func nextOffer(_ dispatch: Dispatch, now: Int64, policy: LogisticsPolicy) -> (courier: String, grams: Int64, expiresAt: Int64)? {
        guard dispatch.unplacedGrams > 0 else { return nil }
        let today = Self.day(now)
        let ids = search.ids
        let loads = loads
        let found = search.best(
            latitude: dispatch.pickupLatitude, longitude: dispatch.pickupLongitude, needsColdChain: dispatch.needsColdChain,
            eligible: { number in
                guard loads[number].freeGrams > 0, loads[number].legs < policy.batchMax else { return false }
                let id = ids[number]
                return !dispatch.declined.contains(id) && id != policy.providerCourier && !dispatch.legs.contains { $0.courier == id && !$0.delivered }
            },
            deliveriesToday: { number in loads[number].day == today ? loads[number].deliveriesToday : 0 })
        guard let found, let courier = couriers[found.courier] else { return nil }
        return (found.courier, min(dispatch.unplacedGrams, courier.vehicleGrams - courier.carryingGrams), now + policy.acceptWindowMicroseconds)
    }

    /// Offers past their window at `now`.
    public func timedOut(by now: Int64) -> [Dispatch] {
        offerDeadlines.due(by: now).compactMap { item in
            guard let dispatch = dispatches[item.key], dispatch.offeredTo != nil, dispatch.offerExpiresAt == item.deadline, dispatch.offerExpiresAt <= now else { return nil }
            return dispatch
        }
    }

    /// Points for a delivery by the policy (FORMAT §7.16).
    public static func award(_ delivery: Delivery, policy: LogisticsPolicy) -> Award {
        Award(
            courier: delivery.courier, claim: delivery.claim, kgPoints: policy.perKg.multiplied(by: delivery.grams, dividedBy: 1_000) ?? 0,
            kmPoints: policy.perKm.multiplied(by: delivery.distanceMetres, dividedBy: 1_000) ?? 0,
            coldChainPoints: delivery.coldChain ? policy.coldChainBonus : 0,
            nearExpiryPoints: delivery.minutesBeforeExpiry < policy.nearExpiryMinutes ? policy.nearExpiryBonus : 0)
    }

    // MARK: Applying

    mutating func started(_ dispatch: Dispatch) {
        if let existing = dispatches[dispatch.claim] {
            // A second request: what is still unplaced is offered again, to everyone.
            var again = existing
            again.declined = []
            dispatches[dispatch.claim] = again
        } else {
            dispatches[dispatch.claim] = dispatch
        }
    }

    mutating func offered(claim: String, courier: String, grams: Int64, expiresAt: Int64) {
        dispatches[claim]?.offeredTo = courier
        dispatches[claim]?.offeredGrams = grams
        dispatches[claim]?.offerExpiresAt = expiresAt
        offerDeadlines.insert(claim, deadline: expiresAt)
    }

    mutating func declined(claim: String, courier: String) {
        dispatches[claim]?.declined.insert(courier)
        if dispatches[claim]?.offeredTo == courier { dispatches[claim]?.offeredTo = nil }
        dropSettledOffers()
    }

    mutating func assigned(claim: String, courier: String, grams: Int64, external: Bool) {
        guard var dispatch = dispatches[claim] else { return }
        dispatch.unplacedGrams = max(0, dispatch.unplacedGrams - grams)
        if dispatch.offeredTo == courier { dispatch.offeredTo = nil }
        dispatch.legs.append(Leg(courier: courier, grams: grams, external: external))
        dispatches[claim] = dispatch
        couriers[courier]?.carryingGrams += grams
        couriers[courier]?.legs.insert(claim)
        syncLoad(courier)
        dropSettledOffers()
    }

    mutating func pickedUp(claim: String, courier: String) {
        guard let index = dispatches[claim]?.legs.firstIndex(where: { $0.courier == courier && !$0.pickedUp }) else { return }
        dispatches[claim]!.legs[index].pickedUp = true
    }

    mutating func delivered(_ delivery: Delivery, time: Int64) {
        // The vehicle is emptied of the whole leg, even when fewer grams counted as delivered.
        var legGrams = delivery.grams
        if let index = dispatches[delivery.claim]?.legs.firstIndex(where: { $0.courier == delivery.courier && $0.pickedUp && !$0.delivered }) {
            dispatches[delivery.claim]!.legs[index].delivered = true
            legGrams = dispatches[delivery.claim]!.legs[index].grams
        }
        guard var courier = couriers[delivery.courier] else { return }
        courier.carryingGrams = max(0, courier.carryingGrams - legGrams)
        if !(dispatches[delivery.claim]?.legs.contains { $0.courier == delivery.courier && !$0.delivered } ?? false) { courier.legs.remove(delivery.claim) }
        let today = Self.day(time)
        if courier.day != today {
            courier.day = today
            courier.deliveriesToday = 0
        }
        courier.deliveriesToday += 1
        couriers[delivery.courier] = courier
        syncLoad(delivery.courier)
    }

    /// Copies a courier's changing figures into its `Load`.
    private mutating func syncLoad(_ id: String) {
        guard let courier = couriers[id], let number = search.number(of: id) else { return }
        loads[number] = Load(
            freeGrams: courier.vehicleGrams - courier.carryingGrams, legs: courier.legs.count, deliveriesToday: courier.deliveriesToday, day: courier.day)
    }

    /// A claim that no courier can take any more (cancelled, or handed over): its open offer
    /// ends, and the legs that will never be carried (all undelivered ones, or with
    /// `keepPickedUp` those no courier picked up) free their couriers' vehicles and places.
    mutating func closed(claim: String, keepPickedUp: Bool) {
        guard var dispatch = dispatches[claim] else { return }
        dispatch.offeredTo = nil
        dispatch.unplacedGrams = 0
        var released: [String] = []
        dispatch.legs.removeAll { leg in
            guard !leg.delivered, !(keepPickedUp && leg.pickedUp) else { return false }
            released.append(leg.courier)
            couriers[leg.courier]?.carryingGrams -= leg.grams
            return true
        }
        dispatches[claim] = dispatch
        for courier in released {
            if !(dispatch.legs.contains { $0.courier == courier && !$0.delivered }) { couriers[courier]?.legs.remove(claim) }
            syncLoad(courier)
        }
        dropSettledOffers()
    }

    mutating func awarded(_ award: Award) { couriers[award.courier]?.points += award.points }

    private mutating func dropSettledOffers() {
        offerDeadlines.dropFront { dispatches[$0.key]?.offeredTo == nil || dispatches[$0.key]?.offerExpiresAt != $0.deadline }
    }
}

/// Why a courier command was refused (FORMAT §7.16).
public enum LogisticsRejection: String, Error, Sendable, CaseIterable {
    case claimIsNotAwaitingPickup
    case claimIsAlreadyDispatched
    case noCourierAvailable
    case actorIsNotTheClaimant
    case noOfferForThisCourier
    case courierOfferHasExpired
    case noLegForThisCourier
    case legAlreadyPickedUp
    case legNotPickedUp
    case pickupCodeIsWrong
    case recipientHasNoLocation
    case courierIsFull
    case providerCourierIsNotRegistered
    case foodWasNotHandedOver

    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .noOfferForThisCourier, .noLegForThisCourier: .notFound
        case .claimIsNotAwaitingPickup, .claimIsAlreadyDispatched, .noCourierAvailable, .courierOfferHasExpired, .legAlreadyPickedUp, .legNotPickedUp,
            .courierIsFull, .foodWasNotHandedOver:
            .conflict
        case .providerCourierIsNotRegistered: .invalid
        case .actorIsNotTheClaimant: .forbidden
        case .pickupCodeIsWrong, .recipientHasNoLocation: .invalid
        }
    }
}

/// `policies/logistics.yaml` (FORMAT §7.16).
public struct LogisticsPolicy: Hashable, Sendable {
    public var acceptWindowMicroseconds: Int64
    public var batchMax: Int
    public var perKg: Int64
    public var perKm: Int64
    public var coldChainBonus: Int64
    public var nearExpiryBonus: Int64
    public var nearExpiryMinutes: Int64
    /// The logistics provider's courier id (no points), its distance rule and circuit breaker.
    public var providerCourier: String
    public var providerBeyondMetres: Int64
    public var providerFailuresToOpen: Int
    public var providerOpenMicroseconds: Int64

    public init(
        acceptWindowMicroseconds: Int64, batchMax: Int, perKg: Int64, perKm: Int64, coldChainBonus: Int64, nearExpiryBonus: Int64, nearExpiryMinutes: Int64,
        providerCourier: String, providerBeyondMetres: Int64, providerFailuresToOpen: Int, providerOpenMicroseconds: Int64
    ) {
        self.acceptWindowMicroseconds = acceptWindowMicroseconds
        self.batchMax = batchMax
        self.perKg = perKg
        self.perKm = perKm
        self.coldChainBonus = coldChainBonus
        self.nearExpiryBonus = nearExpiryBonus
        self.nearExpiryMinutes = nearExpiryMinutes
        self.providerCourier = providerCourier
        self.providerBeyondMetres = providerBeyondMetres
        self.providerFailuresToOpen = providerFailuresToOpen
        self.providerOpenMicroseconds = providerOpenMicroseconds
    }

    /// The shipped numbers (`policies/logistics.yaml`).
    public static let standard = LogisticsPolicy(
        acceptWindowMicroseconds: 300_000_000, batchMax: 3, perKg: 10, perKm: 2, coldChainBonus: 5, nearExpiryBonus: 10, nearExpiryMinutes: 60,
        providerCourier: "lsp-kirim", providerBeyondMetres: 10_000, providerFailuresToOpen: 3, providerOpenMicroseconds: 60_000_000)
}
