/// Surplus offers and the claims on them, as a pure state machine (`decide` / `apply`, like the
/// carbon registry). Time is an argument (µs since the epoch); so is the claim's pickup-code
/// digest: this module neither reads clocks nor makes random numbers.
public struct OfferBook: Sendable, Equatable {
    public enum Temperature: String, Sendable, CaseIterable { case ambient, chilled, frozen, hot }

    public struct Offer: Hashable, Sendable {
        public var id: String
        public var provider: String
        public var category: String
        public var grams: Int64
        public var portions: Int64
        /// Micro-degrees (WGS 84).
        public var latitude: Int64
        public var longitude: Int64
        public var temperature: Temperature
        public var postedAt: Int64
        /// When the food must be picked up by: the earlier of the stated expiry and the
        /// food-safety window after posting.
        public var expiresAt: Int64
        /// 0 for a donation.
        public var priceRupiah: Int64
        /// Bumped by every change, so a claim can say which state it saw.
        public var version: Int64
        public var remainingPortions: Int64
        public var remainingGrams: Int64
        /// The donor's declared cost of the goods in rupiah (PP 93/2010 Art. 6 values in-kind
        /// donations at cost), when declared.
        public var costRupiah: Int64?
        public init(
            id: String, provider: String, category: String, grams: Int64, portions: Int64, latitude: Int64, longitude: Int64, temperature: Temperature, postedAt: Int64, expiresAt: Int64, priceRupiah: Int64, version: Int64, remainingPortions: Int64, remainingGrams: Int64,
            costRupiah: Int64? = nil
        ) {
            self.id = id
            self.provider = provider
            self.category = category
            self.grams = grams
            self.portions = portions
            self.latitude = latitude
            self.longitude = longitude
            self.temperature = temperature
            self.postedAt = postedAt
            self.expiresAt = expiresAt
            self.priceRupiah = priceRupiah
            self.version = version
            self.remainingPortions = remainingPortions
            self.remainingGrams = remainingGrams
            self.costRupiah = costRupiah
        }
    }

    public struct Claim: Hashable, Sendable {
        public var id: String
        public var offer: String
        public var claimant: String
        public var portions: Int64
        public var grams: Int64
        public var priceRupiah: Int64
        /// A digest of the single-use pickup code (the code itself is never stored).
        public var pickupCodeDigest: String
        public var status: ClaimStatus
        /// When it was placed (its entry's time).
        public var placedAt: Int64
        public var isCancelled: Bool { status == .cancelled }
        public init(
            id: String, offer: String, claimant: String, portions: Int64, grams: Int64, priceRupiah: Int64, pickupCodeDigest: String, status: ClaimStatus,
            placedAt: Int64 = 0
        ) {
            self.placedAt = placedAt
            self.id = id
            self.offer = offer
            self.claimant = claimant
            self.portions = portions
            self.grams = grams
            self.priceRupiah = priceRupiah
            self.pickupCodeDigest = pickupCodeDigest
            self.status = status
        }
    }

    public enum ClaimStatus: Hashable, Sendable {
        case placed, cancelled, pickedUp, delivered
    }

    public private(set) var offers: IDTable<Offer> = [:]
    public private(set) var claims: IDTable<Claim> = [:]

    public init() {}

    // MARK: Deciding

    public func decide(_ command: OfferCommand, policy: OfferPolicy) -> Result<OfferEvent, OfferRejection> {
        switch command {
        case .post(let post):
            guard offers[post.id] == nil else { return .failure(.offerAlreadyExists) }
            guard InputDomain.isID(post.id) else { return .failure(.idIsNotPseudonymous) }
            guard post.grams > 0, post.portions > 0 else { return .failure(.quantityMustBePositive) }
            guard InputDomain.grams.contains(post.grams), InputDomain.portions.contains(post.portions) else { return .failure(.quantityIsTooLarge) }
            guard post.priceRupiah >= 0 else { return .failure(.priceMustNotBeNegative) }
            guard (post.costRupiah ?? 0) >= 0 else { return .failure(.costMustNotBeNegative) }
            guard InputDomain.rupiah.contains(post.priceRupiah), InputDomain.rupiah.contains(post.costRupiah ?? 0) else {
                return .failure(.amountIsTooLarge)
            }
            guard InputDomain.latitude.contains(post.latitude), InputDomain.longitude.contains(post.longitude) else {
                return .failure(.locationIsOutOfRange)
            }
            guard policy.factors[post.category] != nil else { return .failure(.categoryIsUnknown) }
            guard InputDomain.microseconds.contains(post.expiresAt) else { return .failure(.expiryIsOutOfRange) }
            guard post.expiresAt > post.now else { return .failure(.offerAlreadyExpired) }
            let window = post.temperature == .hot ? policy.hotFoodWindowMicroseconds : policy.otherFoodWindowMicroseconds
            return .success(.posted(Offer(
                id: post.id, provider: post.provider, category: post.category, grams: post.grams, portions: post.portions,
                latitude: post.latitude, longitude: post.longitude, temperature: post.temperature, postedAt: post.now,
                expiresAt: min(post.expiresAt, post.now + window), priceRupiah: post.priceRupiah, version: 1,
                remainingPortions: post.portions, remainingGrams: post.grams, costRupiah: post.costRupiah)))
        case .claim(let id, let offerID, let claimant, let seenVersion, let portions, let pickupCodeDigest, let now, let auctionPrice):
            guard claims[id] == nil else { return .failure(.claimAlreadyExists) }
            guard InputDomain.isID(id) else { return .failure(.idIsNotPseudonymous) }
            guard let offer = offers[offerID] else { return .failure(.offerNotFound) }
            guard offer.provider != claimant else { return .failure(.providerCannotClaimOwnOffer) }
            guard now < offer.expiresAt else { return .failure(.offerHasExpired) }
            guard seenVersion == offer.version else { return .failure(.offerVersionIsStale) }
            guard portions > 0 else { return .failure(.quantityMustBePositive) }
            guard offer.remainingPortions > 0 else { return .failure(.offerIsFullyClaimed) }
            guard portions <= offer.remainingPortions else { return .failure(.claimExceedsRemaining) }
            // An auction decides its own lots and price (FORMAT §7.12).
            guard offer.priceRupiah == 0 || portions == offer.portions || auctionPrice != nil else { return .failure(.paidOfferMustBeClaimedWhole) }
            // Grams follow portions; the last claim takes whatever rounding left.
            let share = portions == offer.remainingPortions ? offer.remainingGrams : offer.grams.multiplied(by: portions, dividedBy: offer.portions)
            guard let grams = share else { return .failure(.quantityIsTooLarge) }
            return .success(.claimPlaced(Claim(
                id: id, offer: offerID, claimant: claimant, portions: portions, grams: grams, priceRupiah: auctionPrice ?? offer.priceRupiah,
                pickupCodeDigest: pickupCodeDigest, status: .placed, placedAt: now)))
        case .cancelClaim(let id, let actor):
            guard let claim = claims[id] else { return .failure(.claimNotFound) }
            guard claim.claimant == actor else { return .failure(.claimBelongsToAnotherClaimant) }
            guard claim.status != .cancelled else { return .failure(.claimAlreadyCancelled) }
            guard claim.status == .placed else { return .failure(.claimIsAlreadyPickedUp) }
            return .success(.claimCancelled(claim: id))
        case .confirmPickup(let id, let actor, let digest, let grams, let now):
            guard let claim = claims[id] else { return .failure(.claimNotFound) }
            let offer = offers[claim.offer]!
            guard actor == offer.provider else { return .failure(.actorIsNotTheProvider) }
            guard claim.status != .cancelled else { return .failure(.claimWasCancelled) }
            guard claim.status == .placed else { return .failure(.claimIsAlreadyPickedUp) }
            guard digest == claim.pickupCodeDigest else { return .failure(.pickupCodeIsWrong) }
            guard grams > 0 else { return .failure(.quantityMustBePositive) }
            guard grams <= claim.grams else { return .failure(.pickupExceedsClaim) }
            // Portions follow grams, rounded up; what was not taken goes back on offer.
            guard let share = grams.multiplied(by: claim.portions, dividedBy: claim.grams, roundingUp: true) else { return .failure(.quantityIsTooLarge) }
            let portions = min(claim.portions, max(1, share))
            return .success(.pickedUp(Pickup(
                claim: id, grams: grams, portions: portions, returnedGrams: claim.grams - grams,
                returnedPortions: claim.portions - portions, afterExpiry: now >= offer.expiresAt, at: now)))
        case .confirmDelivery(let id, let actor, let portionsServed, let now):
            guard let claim = claims[id] else { return .failure(.claimNotFound) }
            guard actor == claim.claimant else { return .failure(.claimBelongsToAnotherClaimant) }
            guard claim.status == .pickedUp else {
                return .failure(claim.status == .delivered ? .deliveryAlreadyConfirmed : .pickupNotConfirmed)
            }
            guard portionsServed >= 0, portionsServed <= claim.portions else { return .failure(.servedExceedsPickedUp) }
            let offer = offers[claim.offer]!
            guard let factors = policy.factors[offer.category] else { return .failure(.categoryIsUnknown) }
            // Integer grams CO2e: grams × (grams CO2e per kg) ÷ 1,000, rounded down.
            guard let lifecycle = claim.grams.multiplied(by: factors.lifecycle, dividedBy: 1_000),
                let downstream = claim.grams.multiplied(by: factors.downstream, dividedBy: 1_000)
            else { return .failure(.quantityIsTooLarge) }
            return .success(.delivered(Completion(
                claim: id, offer: offer.id, provider: offer.provider, claimant: claim.claimant, category: offer.category,
                gramsRescued: claim.grams, portionsServed: portionsServed, meals: claim.grams / policy.mealGrams,
                lifecycleGramsCO2e: lifecycle, downstreamGramsCO2e: downstream, at: now)))
        }
    }

    // MARK: Applying

    public mutating func apply(_ event: OfferEvent) {
        switch event {
        case .posted(let offer):
            offers[offer.id] = offer
        case .claimPlaced(let claim):
            claims[claim.id] = claim
            offers.update(claim.offer) { offer in
                offer.remainingPortions -= claim.portions
                offer.remainingGrams -= claim.grams
                offer.version += 1
            }
        case .pickedUp(let pickup):
            let offerID = claims.update(pickup.claim) { claim in
                claim.status = .pickedUp
                claim.grams = pickup.grams
                claim.portions = pickup.portions
                return claim.offer
            }
            if pickup.returnedGrams > 0 || pickup.returnedPortions > 0 {
                offers.update(offerID) { offer in
                    offer.remainingGrams += pickup.returnedGrams
                    offer.remainingPortions += pickup.returnedPortions
                    offer.version += 1
                }
            }
        case .delivered(let completion):
            claims.update(completion.claim) { $0.status = .delivered }
        case .donated(let id):
            offers.update(id) { offer in
                offer.priceRupiah = 0
                offer.version += 1
            }
        case .claimCancelled(let id):
            let claim = claims.update(id) { claim in
                claim.status = .cancelled
                return claim
            }
            offers.update(claim.offer) { offer in
                offer.remainingPortions += claim.portions
                offer.remainingGrams += claim.grams
                offer.version += 1
            }
        }
    }

    /// Every broken invariant, described; empty when the state is sound.
    public func invariantViolations() -> [String] {
        var violations = [String]()
        var live: [String: (portions: Int64, grams: Int64)] = [:]
        for claim in claims.values where !claim.isCancelled {
            live[claim.offer, default: (0, 0)].portions += claim.portions
            live[claim.offer, default: (0, 0)].grams += claim.grams
        }
        for offer in offers.values {
            let claimed = live[offer.id] ?? (0, 0)
            if claimed.portions + offer.remainingPortions != offer.portions { violations.append("\(offer.id): claimed portions and remaining do not add up") }
            if claimed.grams + offer.remainingGrams != offer.grams { violations.append("\(offer.id): claimed grams and remaining do not add up") }
            if offer.remainingPortions < 0 || offer.remainingGrams < 0 { violations.append("\(offer.id): claimed beyond what was offered") }
        }
        return violations
    }
}

/// What the food-safety and category policy says the offer book needs.
public struct OfferPolicy: Hashable, Sendable {
    /// Emission factors per food category, grams CO2e per kilogram, on both bases.
    public var factors: [String: EmissionFactors]
    public var categories: Set<String> { Set(factors.keys) }
    /// Grams of food per meal, for the meals figure.
    public var mealGrams: Int64
    public var hotFoodWindowMicroseconds: Int64
    public var otherFoodWindowMicroseconds: Int64

    public init(
        factors: [String: EmissionFactors], mealGrams: Int64 = 420, hotFoodWindowMicroseconds: Int64 = 2 * 3_600_000_000,
        otherFoodWindowMicroseconds: Int64 = 4 * 3_600_000_000
    ) {
        precondition(mealGrams > 0)
        self.factors = factors
        self.mealGrams = mealGrams
        self.hotFoodWindowMicroseconds = hotFoodWindowMicroseconds
        self.otherFoodWindowMicroseconds = otherFoodWindowMicroseconds
    }
}

/// Grams CO2e avoided per kilogram of food rescued: *lifecycle* (CSR impact figures, e.g.
/// FAO-derived) and *downstream* (landfill emissions avoided, the conservative carbon basis).
public struct EmissionFactors: Hashable, Sendable {
    public var lifecycle: Int64
    public var downstream: Int64

    public init(lifecycle: Int64, downstream: Int64) {
        self.lifecycle = lifecycle
        self.downstream = downstream
    }
}

/// A `pickup.confirmed` event.
public struct Pickup: Hashable, Sendable {
    public var claim: String
    /// What was actually taken.
    public var grams: Int64
    public var portions: Int64
    /// What was not taken, back on offer.
    public var returnedGrams: Int64
    public var returnedPortions: Int64
    /// Picked up at or after the offer's expiry (grounds for a full refund in a dispute).
    public var afterExpiry: Bool
    public var at: Int64
    /// A freshness score (0–100) the provider declared at pickup. Recorded, never used to
    /// decide anything: only a device-attested scan may.
    public var declaredFreshnessScore: Int64? = nil
    public init(
        claim: String, grams: Int64, portions: Int64, returnedGrams: Int64, returnedPortions: Int64, afterExpiry: Bool, at: Int64, declaredFreshnessScore: Int64? = nil
    ) {
        self.claim = claim
        self.grams = grams
        self.portions = portions
        self.returnedGrams = returnedGrams
        self.returnedPortions = returnedPortions
        self.afterExpiry = afterExpiry
        self.at = at
        self.declaredFreshnessScore = declaredFreshnessScore
    }
}

/// A delivery, which completes the rescue: written as `delivery.confirmed` then `rescue.completed`.
public struct Completion: Hashable, Sendable {
    public var claim: String
    public var offer: String
    public var provider: String
    public var claimant: String
    public var category: String
    public var gramsRescued: Int64
    public var portionsServed: Int64
    public var meals: Int64
    public var lifecycleGramsCO2e: Int64
    public var downstreamGramsCO2e: Int64
    public var at: Int64
    public init(
        claim: String, offer: String, provider: String, claimant: String, category: String, gramsRescued: Int64, portionsServed: Int64, meals: Int64, lifecycleGramsCO2e: Int64, downstreamGramsCO2e: Int64, at: Int64
    ) {
        self.claim = claim
        self.offer = offer
        self.provider = provider
        self.claimant = claimant
        self.category = category
        self.gramsRescued = gramsRescued
        self.portionsServed = portionsServed
        self.meals = meals
        self.lifecycleGramsCO2e = lifecycleGramsCO2e
        self.downstreamGramsCO2e = downstreamGramsCO2e
        self.at = at
    }
}

/// A provider's surplus as posted.
public struct OfferPost: Hashable, Sendable {
    public var id: String
    public var provider: String
    public var category: String
    public var grams: Int64
    public var portions: Int64
    public var latitude: Int64
    public var longitude: Int64
    public var temperature: OfferBook.Temperature
    public var expiresAt: Int64
    public var priceRupiah: Int64
    public var now: Int64
    /// The donor's declared cost of the goods (see `Offer.costRupiah`).
    public var costRupiah: Int64?
    /// A device-signed freshness scan of the food, attested with the offer (FORMAT §7.14).
    public var scan: DeviceBook.Scan?

    public init(
        id: String, provider: String, category: String, grams: Int64, portions: Int64, latitude: Int64, longitude: Int64,
        temperature: OfferBook.Temperature, expiresAt: Int64, priceRupiah: Int64, now: Int64, costRupiah: Int64? = nil, scan: DeviceBook.Scan? = nil
    ) {
        self.scan = scan
        self.id = id
        self.provider = provider
        self.category = category
        self.grams = grams
        self.portions = portions
        self.latitude = latitude
        self.longitude = longitude
        self.temperature = temperature
        self.expiresAt = expiresAt
        self.priceRupiah = priceRupiah
        self.now = now
        self.costRupiah = costRupiah
    }
}

public enum OfferCommand: Hashable, Sendable {
    case post(OfferPost)
    /// `seenVersion` is the offer version the claimant saw; a stale one is refused.
    /// `auctionPriceRupiah`: a lot sold by auction, at the auction's price instead of the offer's.
    case claim(
        id: String, offer: String, claimant: String, seenVersion: Int64, portions: Int64, pickupCodeDigest: String, now: Int64,
        auctionPriceRupiah: Int64? = nil)
    case cancelClaim(id: String, actor: String)
    /// The provider confirms handing over, with the digest of the code the claimant showed.
    case confirmPickup(claim: String, actor: String, pickupCodeDigest: String, grams: Int64, now: Int64)
    /// The claimant confirms delivery; this completes the rescue.
    case confirmDelivery(claim: String, actor: String, portionsServed: Int64, now: Int64)
}

public enum OfferEvent: Hashable, Sendable {
    case posted(OfferBook.Offer)
    case claimPlaced(OfferBook.Claim)
    case claimCancelled(claim: String)
    case pickedUp(Pickup)
    case delivered(Completion)
    /// An unsold auction lot became a free donation (`auction.converted`).
    case donated(offer: String)
}

/// Why the offer book refused a command; names read as sentences and never change meaning.
public enum OfferRejection: String, Error, Sendable {
    case offerAlreadyExists
    case quantityMustBePositive
    case priceMustNotBeNegative
    case costMustNotBeNegative
    case categoryIsUnknown
    case offerAlreadyExpired
    case claimAlreadyExists
    case offerNotFound
    case providerCannotClaimOwnOffer
    case offerHasExpired
    case offerVersionIsStale
    case offerIsFullyClaimed
    case claimExceedsRemaining
    case paidOfferMustBeClaimedWhole
    case claimNotFound
    case claimBelongsToAnotherClaimant
    case claimAlreadyCancelled
    case claimIsAlreadyPickedUp
    case claimWasCancelled
    case actorIsNotTheProvider
    case pickupCodeIsWrong
    case pickupExceedsClaim
    case pickupNotConfirmed
    case deliveryAlreadyConfirmed
    case servedExceedsPickedUp
    case idIsNotPseudonymous
    case quantityIsTooLarge
    case amountIsTooLarge
    case locationIsOutOfRange
    case expiryIsOutOfRange
}

extension OfferRejection: CaseIterable {
    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .offerNotFound, .claimNotFound: .notFound
        case .offerAlreadyExists, .claimAlreadyExists, .offerHasExpired, .offerVersionIsStale, .offerIsFullyClaimed, .claimExceedsRemaining,
            .claimAlreadyCancelled, .claimIsAlreadyPickedUp, .claimWasCancelled, .pickupNotConfirmed, .deliveryAlreadyConfirmed:
            .conflict
        case .providerCannotClaimOwnOffer, .claimBelongsToAnotherClaimant, .actorIsNotTheProvider: .forbidden
        // `offerAlreadyExpired` is a new offer whose own expiry is not in the future: the body is wrong, not the state.
        case .quantityMustBePositive, .priceMustNotBeNegative, .costMustNotBeNegative, .categoryIsUnknown, .offerAlreadyExpired,
            .paidOfferMustBeClaimedWhole, .pickupCodeIsWrong, .pickupExceedsClaim, .servedExceedsPickedUp, .idIsNotPseudonymous,
            .quantityIsTooLarge, .amountIsTooLarge, .locationIsOutOfRange, .expiryIsOutOfRange:
            .invalid
        }
    }
}
