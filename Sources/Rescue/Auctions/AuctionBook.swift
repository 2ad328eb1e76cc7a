/// Flash Ludes auctions (FORMAT §7.12) as a pure state machine: which lots are under auction,
/// their curves and ends, and what each bid may pay. The offer book keeps the food and the
/// claims; the world ties the two together (a sale is a claim at the auction's price).
public struct AuctionBook: Sendable, Equatable {
    public enum Status: String, Hashable, Sendable {
        case open, sold, converted, cancelled
    }

    /// Why an auction ends when it does.
    public enum EndRule: String, Hashable, Sendable, CaseIterable {
        /// The curve's price reached the floor: nobody bought above it.
        case floorReached = "policy.auctionFloorReached"
        /// `convertMinutesBeforeExpiry` before the food's expiry.
        case nearExpiry = "policy.auctionNearExpiry"
    }

    public struct Auction: Hashable, Sendable {
        public var id: String
        public var offer: String
        public var provider: String
        /// The curve's name in `policies/auction.yaml`.
        public var curveName: String
        public var curve: PriceCurve
        /// The time of the `auction.started` entry: elapsed time is counted from here.
        public var startedAt: Int64
        public var endsAt: Int64
        public var endRule: EndRule
        /// The lot: what remained of the offer at the start.
        public var portions: Int64
        public var grams: Int64
        /// The offer's posted price, which the auction discounts.
        public var offerPriceRupiah: Int64
        public var soldPortions: Int64 = 0
        public var status: Status = .open

        public init(
            id: String, offer: String, provider: String, curveName: String, curve: PriceCurve, startedAt: Int64, endsAt: Int64, endRule: EndRule,
            portions: Int64, grams: Int64, offerPriceRupiah: Int64
        ) {
            self.id = id
            self.offer = offer
            self.provider = provider
            self.curveName = curveName
            self.curve = curve
            self.startedAt = startedAt
            self.endsAt = endsAt
            self.endRule = endRule
            self.portions = portions
            self.grams = grams
            self.offerPriceRupiah = offerPriceRupiah
        }

        /// The whole lot's price at `time` (the start price before the start, the floor after the end).
        public func lotPrice(at time: Int64) -> Int64 {
            let (elapsed, overflow) = time.subtractingReportingOverflow(startedAt)
            return curve.price(elapsedMicroseconds: overflow ? (time < startedAt ? 0 : curve.durationMicroseconds) : elapsed)
        }
    }

    /// An `auction.sold` event: one accepted bid.
    public struct Sale: Hashable, Sendable {
        public var auction: String
        public var offer: String
        public var claim: String
        public var buyer: String
        public var portions: Int64
        public var grams: Int64
        /// The curve's price of the whole lot at the bid.
        public var lotPriceRupiah: Int64
        /// What the buyer pays: the lot price, or its share for a part lot.
        public var priceRupiah: Int64
        public var elapsedMicroseconds: Int64
        /// `priceCurve.<shape>`: the formula of FORMAT §7.12 that computed the price.
        public var rule: String

        public init(
            auction: String, offer: String, claim: String, buyer: String, portions: Int64, grams: Int64, lotPriceRupiah: Int64, priceRupiah: Int64,
            elapsedMicroseconds: Int64, rule: String
        ) {
            self.auction = auction
            self.offer = offer
            self.claim = claim
            self.buyer = buyer
            self.portions = portions
            self.grams = grams
            self.lotPriceRupiah = lotPriceRupiah
            self.priceRupiah = priceRupiah
            self.elapsedMicroseconds = elapsedMicroseconds
            self.rule = rule
        }
    }

    /// What a provider asks for when starting an auction.
    public struct Start: Hashable, Sendable {
        public var id: String
        public var offer: String
        public var curve: String
        public var startRupiah: Int64
        public var floorRupiah: Int64
        public var durationMicroseconds: Int64

        public init(id: String, offer: String, curve: String, startRupiah: Int64, floorRupiah: Int64, durationMicroseconds: Int64) {
            self.id = id
            self.offer = offer
            self.curve = curve
            self.startRupiah = startRupiah
            self.floorRupiah = floorRupiah
            self.durationMicroseconds = durationMicroseconds
        }
    }

    /// An accepted bid's terms, before the world turns it into a claim.
    public struct Terms: Hashable, Sendable {
        public var portions: Int64
        public var lotPriceRupiah: Int64
        public var priceRupiah: Int64
        public var elapsedMicroseconds: Int64
    }

    public private(set) var auctions: IDTable<Auction> = [:]
    /// The open auction of each offer under auction.
    public private(set) var openAuctionOfOffer: IDTable<String> = [:]
    private var ends = DeadlineQueue<String>()

    public init() {}

    // MARK: Deciding

    /// A new auction of what remains of `offer`, by `actor` at `now`.
    public func decideStart(_ start: Start, offer: OfferBook.Offer, actor: String, now: Int64, policy: AuctionPolicy) -> Result<Auction, AuctionRejection> {
        guard auctions[start.id] == nil else { return .failure(.auctionAlreadyExists) }
        guard InputDomain.isID(start.id) else { return .failure(.idIsNotPseudonymous) }
        guard offer.provider == actor else { return .failure(.actorIsNotTheProvider) }
        guard offer.priceRupiah > 0 else { return .failure(.auctionNeedsAPaidOffer) }
        guard openAuctionOfOffer[offer.id] == nil else { return .failure(.offerIsUnderAuction) }
        guard now < offer.expiresAt else { return .failure(.offerHasExpired) }
        guard offer.remainingPortions > 0 else { return .failure(.offerIsFullyClaimed) }
        guard start.floorRupiah >= 0, start.floorRupiah < start.startRupiah, start.startRupiah <= offer.priceRupiah else {
            return .failure(.auctionPriceIsOutOfRange)
        }
        guard policy.curves[start.curve] != nil else { return .failure(.auctionCurveIsUnknown) }
        guard start.durationMicroseconds > 0, start.durationMicroseconds <= policy.durationMicrosecondsMax else {
            return .failure(.auctionDurationIsOutOfRange)
        }
        let curve: PriceCurve
        do {
            curve = try policy.curve(
                named: start.curve, startRupiah: start.startRupiah, floorRupiah: start.floorRupiah, durationMicroseconds: start.durationMicroseconds)
        } catch {
            // The checks above cover every domain the curve checks; a policy with a curve the
            // curve refuses (validated at load, so not expected) is still a refusal, not a trap.
            return .failure(.auctionCurveIsUnknown)
        }
        guard let outlasts = now.adding(start.durationMicroseconds), outlasts <= offer.expiresAt else { return .failure(.auctionOutlastsTheFood) }
        let nearExpiry = offer.expiresAt - policy.convertMicrosecondsBeforeExpiry
        guard nearExpiry > now else { return .failure(.auctionTooCloseToExpiry) }
        let floorAt = now + curve.floorReachedAfterMicroseconds
        return .success(Auction(
            id: start.id, offer: offer.id, provider: actor, curveName: start.curve, curve: curve, startedAt: now,
            endsAt: min(floorAt, nearExpiry), endRule: floorAt <= nearExpiry ? .floorReached : .nearExpiry, portions: offer.remainingPortions,
            grams: offer.remainingGrams, offerPriceRupiah: offer.priceRupiah))
    }

    /// The terms of a bid for `portions` (nil: what remains of the lot) by a bidder who was
    /// shown `seenPriceRupiah` for the whole lot, or why it is refused. `remainingPortions` is
    /// what is left of the offer (all of it is under auction while the auction is open).
    public func decideBid(
        auction id: String, seenPriceRupiah: Int64, portions: Int64?, remainingPortions: Int64, now: Int64, policy: AuctionPolicy
    ) -> Result<Terms, AuctionRejection> {
        guard let auction = auctions[id] else { return .failure(.auctionNotFound) }
        guard auction.status == .open else { return .failure(.auctionIsClosed) }
        guard now < auction.endsAt else { return .failure(.auctionHasEnded) }
        guard InputDomain.rupiah.contains(seenPriceRupiah) else { return .failure(.auctionPriceIsOutOfRange) }
        let wanted = portions ?? remainingPortions
        guard wanted > 0 else { return .failure(.quantityMustBePositive) }
        guard wanted == remainingPortions || policy.partialLots else { return .failure(.auctionLotIsWhole) }
        guard wanted <= remainingPortions else { return .failure(.bidExceedsWhatRemains) }
        let lotPrice = auction.lotPrice(at: now)
        guard lotPrice <= seenPriceRupiah else { return .failure(.priceIsAboveWhatWasSeen) }
        // A part pays its share of the whole lot's price, rounded up (never below the whole).
        let price = wanted == auction.portions ? lotPrice : lotPrice.multiplied(by: wanted, dividedBy: auction.portions, roundingUp: true)
        guard let price else { return .failure(.auctionPriceIsOutOfRange) }
        return .success(Terms(portions: wanted, lotPriceRupiah: lotPrice, priceRupiah: price, elapsedMicroseconds: now - auction.startedAt))
    }

    /// Whether `actor` may cancel auction `id` at `now`. From its end the lot belongs to the
    /// conversion (a donation), even before a tick has written it: a provider cannot withdraw
    /// an unsold lot from being donated by timing a cancellation.
    public func decideCancel(_ id: String, actor: String, now: Int64) -> Result<Auction, AuctionRejection> {
        guard let auction = auctions[id] else { return .failure(.auctionNotFound) }
        guard auction.provider == actor else { return .failure(.actorIsNotTheProvider) }
        guard auction.status == .open else { return .failure(.auctionIsClosed) }
        guard now < auction.endsAt else { return .failure(.auctionHasEnded) }
        return .success(auction)
    }

    /// The open auctions whose end has come by `now`, in order of their ends.
    public func ended(by now: Int64) -> [Auction] {
        ends.due(by: now).compactMap { auctions[$0.key] }.filter { $0.status == .open }
    }

    // MARK: Applying

    public mutating func apply(_ event: AuctionEvent) {
        switch event {
        case .started(let auction):
            auctions[auction.id] = auction
            openAuctionOfOffer[auction.offer] = auction.id
            ends.insert(auction.id, deadline: auction.endsAt)
        case .sold(let sale):
            auctions[sale.auction]!.soldPortions += sale.portions
            if auctions[sale.auction]!.soldPortions >= auctions[sale.auction]!.portions { close(sale.auction, .sold) }
        case .converted(let id):
            close(id, .converted)
        case .cancelled(let id):
            close(id, .cancelled)
        }
    }

    private mutating func close(_ id: String, _ status: Status) {
        auctions[id]!.status = status
        openAuctionOfOffer[auctions[id]!.offer] = nil
        ends.dropFront { auctions[$0.key]?.status != .open }
    }

    /// Every broken invariant, described; empty when the state is sound.
    public func invariantViolations() -> [String] {
        var violations = [String]()
        for auction in auctions.values {
            if auction.soldPortions > auction.portions { violations.append("auction \(auction.id) sold \(auction.soldPortions) of \(auction.portions) portions") }
            if (auction.status == .open) != (openAuctionOfOffer[auction.offer] == auction.id) {
                violations.append("auction \(auction.id) is \(auction.status) but the open index says otherwise")
            }
        }
        return violations
    }
}

public enum AuctionEvent: Hashable, Sendable {
    case started(AuctionBook.Auction)
    case sold(AuctionBook.Sale)
    case converted(auction: String)
    case cancelled(auction: String)
}

/// Why the auction engine refused a command; names read as sentences and never change meaning.
public enum AuctionRejection: String, Error, Sendable, CaseIterable {
    case auctionAlreadyExists
    case auctionNotFound
    case idIsNotPseudonymous
    case actorIsNotTheProvider
    case auctionNeedsAPaidOffer
    case offerIsUnderAuction
    case offerHasExpired
    case offerIsFullyClaimed
    case auctionPriceIsOutOfRange
    case auctionCurveIsUnknown
    case auctionDurationIsOutOfRange
    case auctionOutlastsTheFood
    case auctionTooCloseToExpiry
    case auctionIsClosed
    case auctionHasEnded
    case auctionLotIsWhole
    case bidExceedsWhatRemains
    case quantityMustBePositive
    case priceIsAboveWhatWasSeen

    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .auctionNotFound: .notFound
        case .auctionAlreadyExists, .auctionNeedsAPaidOffer, .offerIsUnderAuction, .offerHasExpired, .offerIsFullyClaimed, .auctionTooCloseToExpiry,
            .auctionIsClosed, .auctionHasEnded, .bidExceedsWhatRemains, .priceIsAboveWhatWasSeen:
            .conflict
        case .actorIsNotTheProvider: .forbidden
        case .idIsNotPseudonymous, .auctionPriceIsOutOfRange, .auctionCurveIsUnknown, .auctionDurationIsOutOfRange, .auctionOutlastsTheFood,
            .auctionLotIsWhole, .quantityMustBePositive:
            .invalid
        }
    }
}
