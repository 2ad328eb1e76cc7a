/// The whole rescue domain: the engines (participants, matching, offers and claims, escrow,
/// disputes, carbon) and the rules that tie them together. Pure, like each engine:
/// `decide` turns a command, its actor and its time into events (or a rejection) and changes
/// nothing; `apply` folds one event in. The live system and a replay of the ledger run the same
/// `apply`, so a replayed world equals the live one.
///
/// Cross-engine rules:
/// - a donation is offered to its best candidates in turn (`match.offered`); while one is being
///   offered, only that recipient may claim it;
/// - a paid claim holds its price in escrow (escrow id = claim id);
/// - cancelling a paid claim, or a dispute that refunds, returns money from escrow; the rest is
///   released to the provider when the dispute is resolved or, without a dispute, when the
///   dispute window after delivery closes;
/// - a paid claim neither picked up nor disputed by the end of the dispute window after the
///   offer's expiry is refunded in full and cancelled (`policy.notPickedUpInTime`); one picked
///   up but never confirmed delivered nor disputed by the end of the window after pickup is
///   released to the provider (the food was handed over and nobody complained);
/// - a dispute resolved on a claim that was never picked up cancels the claim, which puts its
///   portions back on offer (the claimant no-show re-listing);
/// - a completed rescue's CO2e is counted for the provider's company (`carbon.minted`) once its
///   dispute window has closed, unless a dispute refunded it; a dispute still open waits.
public struct RescueWorld: Sendable, Equatable {
    /// A completed rescue, as the carbon count needs it.
    public struct Rescue: Hashable, Sendable {
        /// The seq of its `rescue.completed` entry.
        public var seq: UInt64
        public var completion: Completion
        public var counted: Bool
    }

    /// Candidates named in one `match.offered` entry at most (keeps entries small; escalating
    /// through more would outlast the food anyway).
    public static let candidatesMax = 16
    /// The fairness period of the matching ranking: a calendar day in WIB (UTC+7).
    static let fairnessDayOffsetMicroseconds: Int64 = 7 * 3_600_000_000
    static let dayMicroseconds: Int64 = 86_400_000_000

    public private(set) var participants = ParticipantRegistry()
    public private(set) var search = CandidateSearch()
    public private(set) var offers = OfferBook()
    public private(set) var matches = MatchBook()
    public private(set) var escrows = EscrowBook()
    public private(set) var disputes = DisputeBook()
    public private(set) var carbon = CarbonRegistry()
    public private(set) var auctions = AuctionBook()
    public private(set) var groups = GroupBook()
    public private(set) var devices = DeviceBook()
    public private(set) var pos = PosBook()
    public private(set) var logistics = LogisticsBook()
    /// The escrows of each group claim (one per member; every other paid claim's escrow has the
    /// claim's id), and the group of each group claim.
    public private(set) var memberEscrows: IDTable<[String]> = [:]
    public private(set) var groupOfClaim: IDTable<String> = [:]
    /// The hash (hex) of the policy set last activated.
    public private(set) var activePolicy: String?
    /// Completed rescues by claim id.
    public private(set) var rescues: IDTable<Rescue> = [:]
    /// Pickups by claim id (lateness and freshness are dispute facts).
    public private(set) var pickups: IDTable<Pickup> = [:]
    /// Paid claims not yet delivered or cancelled, with when their dispute window starts: the
    /// offer's expiry until pickup, then the pickup.
    public private(set) var unsettledPaidClaims: IDTable<Int64> = [:]
    /// Deadlines, so a tick touches only what is due: paid claims by the start of their window,
    /// undecided disputes by their decision deadline, undisputed rescues by delivery time, and
    /// rescues whose dispute ended without a refund (waiting for their window) by delivery time.
    private var paidClaimWindows = DeadlineQueue<String>()
    private var disputeDeadlines = DeadlineQueue<String>()
    private var settlements = DeadlineQueue<String>()
    private var countsAfterDispute = DeadlineQueue<String>()
    /// The dispute of each disputed claim (the dispute book's own index).
    public var disputeOfClaim: IDTable<String> { disputes.disputeOfClaim }
    /// The time of the last event applied.
    public private(set) var time: Int64 = 0
    private var claimOfRescue: [UInt64: String] = [:]
    private var fairnessDay: Int64 = 0

    public init() {}

    // MARK: Deciding

    /// The events `command` by `actor` at `now` (µs) causes, or why it is refused.
    public func decide(_ command: RescueCommand, actor: String, now: Int64, policy: RescuePolicy) -> Result<[RescueEvent], RescueRejection> {
        guard now >= time else { return .failure(.timeMustNotGoBackwards) }
        switch command {
        case .register(let participant):
            return participants.decide(participant, categories: policy.offers.categories)
                .map { [.registered($0)] }.mapError { .participant($0) }
        case .post(var post):
            guard let poster = participants.roles[actor] else { return .failure(.actorIsNotRegistered) }
            guard poster == .company || poster == .site else { return .failure(.actorMayNotPostOffers) }
            // Till offers' ids are the POS sync's own (FORMAT §7.15): nobody may take one first.
            guard !post.id.hasPrefix(PosBook.offerIDPrefix) else { return .failure(.pos(.idIsReservedForTills)) }
            post.provider = actor
            post.now = now
            let decided = offers.decide(.post(post), policy: policy.offers)
            guard case .success(.posted(let offer)) = decided else { return decided.map { _ in [] }.mapError { .offer($0) } }
            var events: [RescueEvent] = [.posted(offer)]
            switch offerScan(post.scan, offer: offer, actor: actor, now: now, policy: policy.freshness) {
            case .success(let scan): events += scan.map { [.scanAttested($0)] } ?? []
            case .failure(let rejection): return .failure(.device(rejection))
            }
            return .success(events + (offer.priceRupiah == 0 ? matching(offer, portions: offer.portions, now: now, policy: policy) : []))
        case .declineMatch(let offer):
            if let match = matches.matches[offer], match.offeredTo == actor, now >= match.expiresAt { return .failure(.acceptWindowHasClosed) }
            return matches.decide(.decline(offer: offer, recipient: actor, now: now), acceptWindowMicroseconds: policy.matchAcceptWindowMicroseconds)
                .map { unexpired($0, now: now).map(RescueEvent.init) }.mapError { .match($0) }
        case .claim(let id, let offerID, let seenVersion, let portions, let digest):
            guard let claimant = participants.roles[actor] else { return .failure(.actorIsNotRegistered) }
            guard claimant.mayClaim else { return .failure(.actorMayNotClaim) }
            // While a lot is under auction its price is the curve's, never the posted one.
            if auctions.openAuctionOfOffer[offerID] != nil { return .failure(.auction(.offerIsUnderAuction)) }
            let decided = offers.decide(
                .claim(id: id, offer: offerID, claimant: actor, seenVersion: seenVersion, portions: portions, pickupCodeDigest: digest, now: now),
                policy: policy.offers)
            guard case .success(.claimPlaced(let claim)) = decided else { return decided.map { _ in [] }.mapError { .offer($0) } }
            if let match = matches.matches[offerID], let offeredTo = match.offeredTo {
                // The window is half-open like every other: from its end the match belongs to
                // the time-out (and the next candidate), even before a tick has written it.
                guard offeredTo == actor else { return .failure(.offerIsReservedForAnotherRecipient) }
                guard now < match.expiresAt else { return .failure(.acceptWindowHasClosed) }
            }
            var events = [RescueEvent.claimPlaced(claim)]
            if claim.priceRupiah > 0, let provider = offers.offers[offerID]?.provider {
                switch escrows.decide(.hold(id: id, claim: id, buyer: actor, provider: provider, rupiah: claim.priceRupiah)) {
                case .success(let held): events.append(RescueEvent(held))
                case .failure(let rejection): return .failure(.escrow(rejection))
                }
            }
            return .success(events)
        case .cancelClaim(let id):
            // An open dispute settles the claim's money; cancelling under it would move the
            // escrow twice.
            if disputeOfClaim[id] != nil, offers.claims[id]?.claimant == actor, offers.claims[id]?.status == .placed {
                return .failure(.claimIsDisputed)
            }
            return offers.decide(.cancelClaim(id: id, actor: actor), policy: policy.offers).mapError { .offer($0) }.map { _ in
                [.claimCancelled(claim: id)] + escrowSettlement(claim: id, refund: Int64.max, rule: "claim.cancelledBeforePickup")
            }
        case .confirmPickup(let claim, let digest, let grams, let freshness):
            if let freshness, !InputDomain.freshnessScore.contains(freshness) { return .failure(.freshnessScoreIsOutOfRange) }
            let decided = offers.decide(.confirmPickup(claim: claim, actor: actor, pickupCodeDigest: digest, grams: grams, now: now), policy: policy.offers)
            guard case .success(.pickedUp(var pickup)) = decided else { return decided.map { _ in [] }.mapError { .offer($0) } }
            if disputeOfClaim[claim] != nil { return .failure(.claimIsDisputed) }
            if let refused = pickupScanRefusal(claim: claim, policy: policy.freshness) { return .failure(.device(refused)) }
            pickup.declaredFreshnessScore = freshness
            var events = [RescueEvent.pickedUp(pickup)]
            // A provider is paid for what was taken: the share of the price for the grams left
            // behind goes back to the buyer at once (the provider's share rounded down).
            // A group claim: each member's escrow keeps its own share for the grams taken.
            for id in escrowIDs(ofClaim: claim) {
                guard let escrow = escrows.escrows[id], !escrow.isClosed, let taken = offers.claims[claim], pickup.grams < taken.grams else { continue }
                guard let kept = escrow.heldRupiah.multiplied(by: pickup.grams, dividedBy: taken.grams) else { return .failure(.offer(.amountIsTooLarge)) }
                let refund = escrow.openRupiah - kept
                if refund > 0 {
                    switch escrows.decide(.refund(id: id, rupiah: refund, rule: "pickup.partial")) {
                    case .success(let event): events.append(RescueEvent(event))
                    case .failure(let rejection): return .failure(.escrow(rejection))
                    }
                }
            }
            return .success(events)
        case .confirmDelivery(let claim, let served):
            let decided = offers.decide(.confirmDelivery(claim: claim, actor: actor, portionsServed: served, now: now), policy: policy.offers)
            guard case .success(.delivered(let completion)) = decided else { return decided.map { _ in [] }.mapError { .offer($0) } }
            return .success([.deliveryConfirmed(claim: claim, portionsServed: served), .rescueCompleted(completion)])
        case .openDispute(let id, let claimID, let reason, let evidence):
            guard let facts = facts(of: claimID) else { return .failure(.disputeClaimNotFound) }
            let decided = disputes.decide(.open(id: id, facts: facts, actor: actor, reason: reason, evidence: evidence, now: now), policy: policy.disputes)
            return decided.mapError { .dispute($0) }.flatMap { withSettlement(of: $0, claim: claimID, now: now, policy: policy) }
        case .decideDispute(let id, let outcome):
            let claim = disputes.disputes[id]?.claim ?? ""
            // Relisting puts food back on offer: only food nobody took can go back.
            if outcome == .noRefundRelist, disputes.disputes[id]?.resolution == nil, offers.claims[claim]?.status != .placed {
                return .failure(.dispute(.relistNeedsAClaimNotPickedUp))
            }
            return disputes.decide(.decide(id: id, outcome: outcome, now: now), policy: policy.disputes).mapError { .dispute($0) }
                .flatMap { withSettlement(of: $0, claim: claim, now: now, policy: policy) }
        case .transferCarbon(let to, let range):
            guard let recipient = participants.participants[to] else { return .failure(.recipientIsNotRegistered) }
            guard recipient.role == .company || recipient.role == .buyer else { return .failure(.recipientMayNotHoldCarbon) }
            return carbon.decide(.transfer(from: actor, to: to, range: range), policy: policy.carbon).map { [RescueEvent($0)] }.mapError { .carbon($0) }
        case .retireCarbon(let range, let beneficiary, let reason):
            // The public register republishes the beneficiary forever: it must name someone
            // known, a participant or a person the vault holds (never free text in id form).
            if InputDomain.isID(beneficiary), participants.participants[beneficiary] == nil, !InputDomain.isVaultSubjectID(beneficiary) {
                return .failure(.beneficiaryIsNotKnown)
            }
            return carbon.decide(.retire(owner: actor, range: range, beneficiary: beneficiary, reason: reason), policy: policy.carbon)
                .map { [RescueEvent($0)] }.mapError { .carbon($0) }
        case .cancelCarbon(let range, let reason):
            return carbon.decide(.cancel(owner: actor, range: range, reason: reason), policy: policy.carbon)
                .map { [RescueEvent($0)] }.mapError { .carbon($0) }
        case .startAuction(let start):
            guard let offer = offers.offers[start.offer] else { return .failure(.offer(.offerNotFound)) }
            return auctions.decideStart(start, offer: offer, actor: actor, now: now, policy: policy.auctions)
                .map { [.auctionStarted($0)] }.mapError { .auction($0) }
        case .bid(let auctionID, let claimID, let seen, let portions, let digest):
            return bid(auctionID, claim: claimID, seenPriceRupiah: seen, portions: portions, digest: digest, actor: actor, now: now, policy: policy)
        case .cancelAuction(let id):
            return auctions.decideCancel(id, actor: actor, now: now).mapError { .auction($0) }.map { auction in
                [.auctionCancelled(auction: id, offer: auction.offer, portions: offers.offers[auction.offer]?.remainingPortions ?? 0)]
            }
        case .formGroup(let form):
            guard let coordinator = participants.roles[actor] else { return .failure(.actorIsNotRegistered) }
            guard coordinator == .group else { return .failure(.actorMayNotCoordinateGroups) }
            return groups.decideForm(form, coordinator: actor, offer: form.offer.flatMap { offers.offers[$0] }, categories: policy.offers.categories, now: now, policy: policy.groups)
                .map { [.groupFormed($0)] }.mapError { .group($0) }
        case .joinGroup(let group, let portions):
            guard let member = participants.roles[actor] else { return .failure(.actorIsNotRegistered) }
            guard member == .buyer else { return .failure(.actorMayNotJoinGroups) }
            // A group for an offer can never claim more than the offer has left.
            if let forming = groups.groups[group], let offer = forming.offer.flatMap({ offers.offers[$0] }), forming.status == .forming,
                forming.portions + max(0, min(portions, InputDomain.portions.upperBound)) > offer.remainingPortions
            {
                return .failure(.group(.groupExceedsWhatRemains))
            }
            return groups.decideJoin(group: group, member: actor, portions: portions, now: now, policy: policy.groups).map { [.groupJoined(group: group, $0)] }.mapError { .group($0) }
        case .leaveGroup(let group):
            return groups.decideLeave(group: group, member: actor).map { [.groupLeft(group: group, member: actor, portions: $0.portions, reason: .left)] }
                .mapError { .group($0) }
        case .groupNoShow(let group, let member):
            // Only food that was handed over can be left uncollected.
            if let claim = groups.groups[group]?.claim, let status = offers.claims[claim]?.status, status != .pickedUp && status != .delivered,
                groups.groups[group]?.coordinator == actor
            {
                return .failure(.group(.foodWasNotHandedOver))
            }
            return groups.decideNoShow(group: group, member: member, actor: actor)
                .map { [.groupLeft(group: group, member: member, portions: $0.portions, reason: .noShow)] }.mapError { .group($0) }
        case .claimGroup(let groupID, let claimID, let offerID, let digest):
            return claimGroup(groupID, claim: claimID, offer: offerID, digest: digest, actor: actor, now: now, policy: policy)
        case .registerDevice(let device):
            let holder = participants.participants[device.holder]
            return devices.decideRegister(device, actor: actor, holderRole: holder?.role, holderCompany: holder?.company)
                .map { [.deviceRegistered($0)] }.mapError { .device($0) }
        case .revokeDevice(let id, let reason, let asOperator):
            let holder = devices.devices[id].flatMap { participants.participants[$0.holder] }
            return devices.decideRevoke(id, actor: actor, holderCompany: holder?.company, asOperator: asOperator)
                .map { [.deviceRevoked(device: $0.id, reason: reason)] }.mapError { .device($0) }
        case .attestScan(let scan):
            return attest(scan, actor: actor, now: now, policy: policy.freshness).map { [.scanAttested($0)] }.mapError { .device($0) }
        case .connectPos(let connection):
            return pos.decideConnect(connection, siteRole: participants.participants[connection.site]?.role, policy: policy.pos)
                .map { [.posConnected($0)] }.mapError { .pos($0) }
        case .syncPos(let report):
            return syncPos(report, actor: actor, now: now, policy: policy)
        case .requestCourier(let claim):
            guard offers.claims[claim] != nil else { return .failure(.offer(.claimNotFound)) }
            return requestCourier(claim, actor: actor, now: now, policy: policy.logistics).mapError { .logistics($0) }
        case .respondToCourierOffer(let claim, let accept):
            return respondToCourierOffer(claim, accept: accept, actor: actor, now: now, policy: policy.logistics).mapError { .logistics($0) }
        case .bookProviderCourier(let claim, let booking):
            guard offers.claims[claim] != nil else { return .failure(.offer(.claimNotFound)) }
            return bookProviderCourier(claim, booking: booking, actor: actor, policy: policy.logistics).mapError { .logistics($0) }
        case .courierPickup(let claim, let digest):
            guard let dispatch = logistics.dispatches[claim], let leg = dispatch.legs.first(where: { $0.courier == actor && !$0.delivered }) else {
                return .failure(.logistics(.noLegForThisCourier))
            }
            guard !leg.pickedUp else { return .failure(.logistics(.legAlreadyPickedUp)) }
            guard let placed = offers.claims[claim], placed.status == .placed else { return .failure(.logistics(.claimIsNotAwaitingPickup)) }
            guard placed.pickupCodeDigest == digest else { return .failure(.logistics(.pickupCodeIsWrong)) }
            // The courier takes the food only as the provider may hand it over (FORMAT §7.14).
            if let refused = pickupScanRefusal(claim: claim, policy: policy.freshness) { return .failure(.device(refused)) }
            return .success([.courierPickedUp(claim: claim, courier: actor, grams: leg.grams)])
        case .courierDeliver(let claim):
            guard let dispatch = logistics.dispatches[claim], let leg = dispatch.legs.first(where: { $0.courier == actor && !$0.delivered }) else {
                return .failure(.logistics(.noLegForThisCourier))
            }
            guard leg.pickedUp else { return .failure(.logistics(.legNotPickedUp)) }
            // Points are for food the provider confirmed handing over, and never for more of it
            // than was handed over (what other legs delivered already counts first).
            guard let handedOver = pickups[claim], let status = offers.claims[claim]?.status, status == .pickedUp || status == .delivered else {
                return .failure(.logistics(.foodWasNotHandedOver))
            }
            let carried = dispatch.legs.filter(\.delivered).reduce(Int64(0)) { $0 + $1.grams }
            let grams = min(leg.grams, max(0, handedOver.grams - carried))
            guard grams > 0 else { return .failure(.logistics(.foodWasNotHandedOver)) }
            let delivery = LogisticsBook.Delivery(
                claim: claim, courier: actor, grams: grams,
                distanceMetres: CandidateSearch.distanceMetres(dispatch.pickupLatitude, dispatch.pickupLongitude, dispatch.dropLatitude, dispatch.dropLongitude),
                coldChain: dispatch.needsColdChain, minutesBeforeExpiry: max(0, (dispatch.expiresAt - now) / 60_000_000))
            // The provider's couriers are paid by the provider, not in points.
            return .success([.courierDelivered(delivery)] + (leg.external ? [] : [.pointsAwarded(LogisticsBook.award(delivery, policy: policy.logistics))]))
        case .tick:
            return tick(now: now, policy: policy)
        }
    }

    /// A till's report: `pos.synced` naming what each line became, then each mapped line's offer
    /// (and its auction, or a donation's first match), all by the site (FORMAT §7.15).
    private func syncPos(_ report: PosBook.Report, actor: String, now: Int64, policy: RescuePolicy) -> Result<[RescueEvent], RescueRejection> {
        guard let connection = pos.connections[report.connection] else { return .failure(.pos(.posConnectionNotFound)) }
        guard actor == connection.site else { return .failure(.pos(.actorIsNotTheConnectionsSite)) }
        guard pos.syncedSeq(connection: connection.id, vendorEvent: report.vendorEventSha256) == nil else { return .failure(.pos(.posEventAlreadySynced)) }
        guard let mapping = policy.pos.mappings[connection.mapping] else { return .failure(.pos(.posMappingIsUnknown)) }
        guard let site = participants.participants[connection.site], let latitude = site.latitude, let longitude = site.longitude else {
            return .failure(.pos(.posSiteIsNotASite))
        }
        // Ids from the event's keyed stem (Core's): the same event always names the same offers,
        // two tills' events never collide, and nobody can predict one.
        let stem = report.offerStem
        let mapped: [PosBook.MappedLine]
        switch pos.map(report, mapping: mapping, requireScan: policy.freshness.requireAtOffer, offerID: { "pos-\(stem)-\(CitySimulator.letters(Int64($0)))" }) {
        case .success(let lines): mapped = lines
        case .failure(let rejection): return .failure(.pos(rejection))
        }
        var events: [RescueEvent] = [.posSynced(PosBook.Synced(
            connection: connection.id, vendorEvent: report.vendorEventSha256, bodySha256: report.bodySha256, lines: mapped))]
        for (index, line) in mapped.enumerated() {
            guard let id = line.offer, let category = line.category, let grams = line.grams, let price = line.priceRupiah else { continue }
            let post = OfferPost(
                id: id, provider: connection.site, category: category, grams: grams, portions: line.quantity, latitude: latitude, longitude: longitude,
                temperature: mapping.temperature, expiresAt: now.adding(mapping.expiryMicroseconds) ?? .max, priceRupiah: price, now: now)
            let decided = offers.decide(.post(post), policy: policy.offers)
            guard case .success(.posted(let offer)) = decided else { return decided.map { _ in [] }.mapError { .offer($0) } }
            events.append(.posted(offer))
            switch mapping.outcome {
            case .donation:
                events += matching(offer, portions: offer.portions, now: now, policy: policy)
            case .fixedPrice:
                // Discounted to nothing, it is a donation like any other: people first.
                if offer.priceRupiah == 0 { events += matching(offer, portions: offer.portions, now: now, policy: policy) }
            case .auction:
                let start = AuctionBook.Start(
                    id: "auc-\(stem)-\(CitySimulator.letters(Int64(index)))", offer: offer.id, curve: mapping.curve,
                    startRupiah: price.multiplied(by: mapping.startPercent, dividedBy: 100) ?? 0,
                    floorRupiah: price.multiplied(by: mapping.floorPercent, dividedBy: 100) ?? 0,
                    durationMicroseconds: min(mapping.durationMicroseconds, offer.expiresAt - now))
                switch auctions.decideStart(start, offer: offer, actor: connection.site, now: now, policy: policy.auctions) {
                case .success(let auction): events.append(.auctionStarted(auction))
                case .failure(let rejection): return .failure(.auction(rejection))
                }
            }
        }
        return .success(events)
    }

    /// What a claim's dispatch starts from: the food's place, cold need and expiry, the
    /// claimant's place, and the claim's grams.
    private func dispatchFacts(_ claimID: String) -> Result<LogisticsBook.Dispatch, LogisticsRejection> {
        guard let claim = offers.claims[claimID], let offer = offers.offers[claim.offer] else { return .failure(.claimIsNotAwaitingPickup) }
        guard let claimant = participants.participants[claim.claimant], let latitude = claimant.latitude, let longitude = claimant.longitude else {
            return .failure(.recipientHasNoLocation)
        }
        return .success(LogisticsBook.Dispatch(
            claim: claimID, pickupLatitude: offer.latitude, pickupLongitude: offer.longitude, dropLatitude: latitude, dropLongitude: longitude,
            needsColdChain: offer.temperature == .chilled || offer.temperature == .frozen, expiresAt: offer.expiresAt, unplacedGrams: claim.grams))
    }

    /// The claimant's request: the claim's first (or, asked again, its next) courier offer.
    private func requestCourier(_ claimID: String, actor: String, now: Int64, policy: LogisticsPolicy) -> Result<[RescueEvent], LogisticsRejection> {
        guard let claim = offers.claims[claimID], claim.status == .placed else { return .failure(.claimIsNotAwaitingPickup) }
        guard claim.claimant == actor else { return .failure(.actorIsNotTheClaimant) }
        var dispatch: LogisticsBook.Dispatch
        if let existing = logistics.dispatches[claimID] {
            guard existing.unplacedGrams > 0, existing.offeredTo == nil || existing.offerExpiresAt <= now else { return .failure(.claimIsAlreadyDispatched) }
            // Couriers who declined or let an offer lapse are not asked again (FORMAT §7.16).
            dispatch = existing
        } else {
            switch dispatchFacts(claimID) {
            case .success(let facts): dispatch = facts
            case .failure(let rejection): return .failure(rejection)
            }
        }
        guard let next = logistics.nextOffer(dispatch, now: now, policy: policy) else { return .failure(.noCourierAvailable) }
        return .success([.courierOffered(claim: claimID, courier: next.courier, grams: next.grams, expiresAt: next.expiresAt)])
    }

    private func respondToCourierOffer(
        _ claimID: String, accept: Bool, actor: String, now: Int64, policy: LogisticsPolicy
    ) -> Result<[RescueEvent], LogisticsRejection> {
        guard var dispatch = logistics.dispatches[claimID], dispatch.offeredTo == actor else { return .failure(.noOfferForThisCourier) }
        guard now < dispatch.offerExpiresAt else { return .failure(.courierOfferHasExpired) }
        var events: [RescueEvent]
        if accept {
            // Food already handed over (to the claimant in person) needs no courier any more.
            guard offers.claims[claimID]?.status == .placed else { return .failure(.claimIsNotAwaitingPickup) }
            guard let courier = logistics.couriers[actor], courier.legs.count < policy.batchMax else { return .failure(.courierIsFull) }
            let grams = min(dispatch.offeredGrams, dispatch.unplacedGrams, courier.vehicleGrams - courier.carryingGrams)
            guard grams > 0 else { return .failure(.courierIsFull) }
            events = [.courierAssigned(claim: claimID, courier: actor, grams: grams, bookingSha256: nil)]
            dispatch.unplacedGrams -= grams
            dispatch.legs.append(LogisticsBook.Leg(courier: actor, grams: grams))
        } else {
            events = [.courierDeclined(claim: claimID, courier: actor, reason: .declined)]
            dispatch.declined.insert(actor)
        }
        // What the vehicle could not take, or what the courier declined, goes to the next one.
        if let next = logistics.nextOffer(dispatch, now: now, policy: policy) {
            events.append(.courierOffered(claim: claimID, courier: next.courier, grams: next.grams, expiresAt: next.expiresAt))
        }
        return .success(events)
    }

    private func bookProviderCourier(_ claimID: String, booking: String, actor: String, policy: LogisticsPolicy) -> Result<[RescueEvent], LogisticsRejection> {
        guard let claim = offers.claims[claimID], claim.status == .placed else { return .failure(.claimIsNotAwaitingPickup) }
        guard claim.claimant == actor else { return .failure(.actorIsNotTheClaimant) }
        guard participants.participants[policy.providerCourier]?.role == .courier else { return .failure(.providerCourierIsNotRegistered) }
        let unplaced: Int64
        if let existing = logistics.dispatches[claimID] {
            guard existing.unplacedGrams > 0, existing.offeredTo == nil else { return .failure(.claimIsAlreadyDispatched) }
            unplaced = existing.unplacedGrams
        } else {
            switch dispatchFacts(claimID) {
            case .success(let facts): unplaced = facts.unplacedGrams
            case .failure(let rejection): return .failure(rejection)
            }
        }
        return .success([.courierAssigned(claim: claimID, courier: policy.providerCourier, grams: unplaced, bookingSha256: booking)])
    }

    /// Why a claim's food may not be handed over yet, for a category that needs a passing
    /// attested scan at pickup (the provider's handover and a courier's pickup alike); nil if it may.
    private func pickupScanRefusal(claim: String, policy: FreshnessPolicy) -> DeviceRejection? {
        guard let category = offers.claims[claim].flatMap({ offers.offers[$0.offer] })?.category, policy.requireAtPickup.contains(category) else { return nil }
        guard let lowest = devices.lowestPickupScore[claim] else { return .attestedScanIsRequired }
        return lowest >= policy.passScore ? nil : .attestedScoreIsTooLow
    }

    /// Whether `holder` is `provider` or the provider site's company.
    private func holds(_ holder: String, for provider: String) -> Bool {
        holder == provider || participants.participants[provider]?.company == holder
    }

    /// A scan of an offer or a claim, its stage decided by the subject's state now (FORMAT §7.14).
    private func attest(_ scan: DeviceBook.Scan, actor: String, now: Int64, policy: FreshnessPolicy) -> Result<DeviceBook.Scan, DeviceRejection> {
        var staged = scan
        let holder = devices.devices[scan.device]?.holder ?? ""
        var mayScan: Bool
        switch scan.subject {
        case .offer(let id):
            guard let offer = offers.offers[id] else { return .failure(.scanSubjectNotFound) }
            guard now < offer.expiresAt else { return .failure(.offerIsNotOpenForScans) }
            staged.stage = .offer
            mayScan = holds(holder, for: offer.provider)
        case .claim(let id):
            guard let claim = offers.claims[id], let offer = offers.offers[claim.offer] else { return .failure(.scanSubjectNotFound) }
            switch claim.status {
            case .placed: staged.stage = .pickup
            case .pickedUp: staged.stage = .delivery
            default: return .failure(.claimIsNotOpenForScans)
            }
            // The provider's devices, or those of a courier carrying the claim (a leg not delivered).
            mayScan = holds(holder, for: offer.provider) || logistics.dispatches[id]?.legs.contains { $0.courier == holder && !$0.delivered } == true
        }
        return devices.decideAttest(staged, actor: actor, holderCompany: participants.participants[holder]?.company, mayScan: mayScan, now: now, policy: policy)
    }

    /// The scan posted with an offer, and whether the offer's category requires one.
    private func offerScan(
        _ scan: DeviceBook.Scan?, offer: OfferBook.Offer, actor: String, now: Int64, policy: FreshnessPolicy
    ) -> Result<DeviceBook.Scan?, DeviceRejection> {
        guard let scan else { return policy.requireAtOffer.contains(offer.category) ? .failure(.attestedScanIsRequired) : .success(nil) }
        guard scan.subject == .offer(offer.id) else { return .failure(.deviceMayNotScanThis) }
        var staged = scan
        staged.stage = .offer
        let holder = devices.devices[scan.device]?.holder ?? ""
        let decided = devices.decideAttest(
            staged, actor: actor, holderCompany: participants.participants[holder]?.company, mayScan: holds(holder, for: actor), now: now, policy: policy)
        if case .success(let attested) = decided, policy.requireAtOffer.contains(offer.category), attested.score < policy.passScore {
            return .failure(.attestedScoreIsTooLow)
        }
        return decided.map { $0 }
    }

    /// A group's one claim: `group.claimed`, `claim.placed` by the coordinator for the members'
    /// portions at the group's price, then one escrow per member holding its share (FORMAT §7.13).
    private func claimGroup(
        _ groupID: String, claim claimID: String, offer offerID: String?, digest: String, actor: String, now: Int64, policy: RescuePolicy
    ) -> Result<[RescueEvent], RescueRejection> {
        guard let group = groups.groups[groupID] else { return .failure(.group(.groupNotFound)) }
        guard let offer = (offerID ?? group.offer).flatMap({ offers.offers[$0] }) else { return .failure(.offer(.offerNotFound)) }
        if auctions.openAuctionOfOffer[offer.id] != nil { return .failure(.auction(.offerIsUnderAuction)) }
        if let match = matches.matches[offer.id], let offeredTo = match.offeredTo, offeredTo != actor, now < match.expiresAt {
            return .failure(.offerIsReservedForAnotherRecipient)
        }
        let plan: GroupBook.ClaimPlan
        switch groups.decideClaim(group: groupID, claim: claimID, offer: offer, actor: actor, now: now) {
        case .success(let decided): plan = decided
        case .failure(let rejection): return .failure(.group(rejection))
        }
        let decided = offers.decide(
            .claim(
                id: claimID, offer: offer.id, claimant: actor, seenVersion: offer.version, portions: plan.portions, pickupCodeDigest: digest, now: now,
                auctionPriceRupiah: plan.priceRupiah),
            policy: policy.offers)
        guard case .success(.claimPlaced(let claim)) = decided else { return decided.map { _ in [] }.mapError { .offer($0) } }
        var events: [RescueEvent] = [.groupClaimed(plan), .claimPlaced(claim)]
        for share in plan.shares where share.rupiah > 0 {
            let id = GroupBook.ClaimPlan.escrowID(claim: claimID, member: share.member)
            switch escrows.decide(.hold(id: id, claim: claimID, buyer: share.member, provider: offer.provider, rupiah: share.rupiah)) {
            case .success(let held): events.append(RescueEvent(held))
            case .failure(let rejection): return .failure(.escrow(rejection))
            }
        }
        return .success(events)
    }

    /// The escrows holding a claim's money: its own, or each member's of a group claim.
    public func escrowIDs(ofClaim claim: String) -> [String] {
        memberEscrows[claim] ?? (escrows.escrows[claim] == nil ? [] : [claim])
    }

    /// What a claim's escrows still hold in all.
    public func openRupiah(ofClaim claim: String) -> Int64 {
        escrowIDs(ofClaim: claim).reduce(0) { $0 + (escrows.escrows[$1]?.openRupiah ?? 0) }
    }

    /// A donation's first match offer: to its best candidates for `portions` (none when nobody fits).
    private func matching(_ offer: OfferBook.Offer, portions: Int64, now: Int64, policy: RescuePolicy) -> [RescueEvent] {
        // Providers are never recipients, so the provider cannot be among the candidates.
        let candidates = search.candidates(
            latitude: offer.latitude, longitude: offer.longitude, category: offer.category, portions: portions, limit: Self.candidatesMax
        ).map(\.recipient)
        guard case .success(let started) = matches.decide(
            .start(offer: offer.id, candidates: Array(candidates), now: now), acceptWindowMicroseconds: policy.matchAcceptWindowMicroseconds)
        else { return [] }
        return started.map(RescueEvent.init)
    }

    /// A bid: the engine's price at `now` against what the bidder saw; the first accepted bid
    /// becomes a paid claim at that price with its escrow (FORMAT §7.12).
    private func bid(
        _ auctionID: String, claim claimID: String, seenPriceRupiah: Int64, portions: Int64?, digest: String, actor: String, now: Int64,
        policy: RescuePolicy
    ) -> Result<[RescueEvent], RescueRejection> {
        guard let bidder = participants.roles[actor] else { return .failure(.actorIsNotRegistered) }
        // Providers (companies, sites) never claim, so no provider can buy its own lot.
        guard bidder.mayClaim else { return .failure(.actorMayNotClaim) }
        guard let auction = auctions.auctions[auctionID], let offer = offers.offers[auction.offer] else {
            return .failure(.auction(.auctionNotFound))
        }
        let refused = { (rejection: AuctionRejection) in RescueRejection.auctionBid(rejection, currentPriceRupiah: auction.lotPrice(at: now)) }
        let terms: AuctionBook.Terms
        switch auctions.decideBid(
            auction: auctionID, seenPriceRupiah: seenPriceRupiah, portions: portions, remainingPortions: offer.remainingPortions, now: now,
            policy: policy.auctions)
        {
        case .success(let accepted): terms = accepted
        case .failure(let rejection): return .failure(refused(rejection))
        }
        let decided = offers.decide(
            .claim(
                id: claimID, offer: offer.id, claimant: actor, seenVersion: offer.version, portions: terms.portions, pickupCodeDigest: digest, now: now,
                auctionPriceRupiah: terms.priceRupiah),
            policy: policy.offers)
        guard case .success(.claimPlaced(let claim)) = decided else { return decided.map { _ in [] }.mapError { .offer($0) } }
        let sale = AuctionBook.Sale(
            auction: auctionID, offer: offer.id, claim: claimID, buyer: actor, portions: claim.portions, grams: claim.grams,
            lotPriceRupiah: terms.lotPriceRupiah, priceRupiah: terms.priceRupiah, elapsedMicroseconds: terms.elapsedMicroseconds,
            rule: "priceCurve.\(auction.curve.shapeName)")
        switch escrows.decide(.hold(id: claimID, claim: claimID, buyer: actor, provider: offer.provider, rupiah: claim.priceRupiah)) {
        case .success(let held): return .success([.auctionSold(sale), .claimPlaced(claim), RescueEvent(held)])
        case .failure(let rejection): return .failure(.escrow(rejection))
        }
    }

    /// What a dispute about `claim` rests on, from the claim's history.
    private func facts(of claimID: String) -> ClaimFacts? {
        guard let claim = offers.claims[claimID], let offer = offers.offers[claim.offer] else { return nil }
        return ClaimFacts(
            claim: claimID, claimant: claim.claimant, provider: offer.provider, heldRupiah: openRupiah(ofClaim: claimID),
            status: claim.status, offerExpiresAt: offer.expiresAt, claimedAt: claim.placedAt, pickedUpAt: pickups[claimID]?.at, deliveredAt: rescues[claimID]?.completion.at,
            pickupAfterExpiry: pickups[claimID]?.afterExpiry ?? false, attestedFreshnessScore: devices.lowestPickupScore[claimID])
    }

    /// Escalation stops with the food: a candidate is never offered an offer past its expiry
    /// (the match just ends, open to nobody, since nobody can claim expired food).
    private func unexpired(_ events: [MatchEvent], now: Int64) -> [MatchEvent] {
        events.filter { event in
            guard case .offered(let offer, _, _, _) = event, let expiresAt = offers.offers[offer]?.expiresAt else { return true }
            return now < expiresAt
        }
    }

    /// Dispute events followed by what a resolution among them settles: escrow, the claim, carbon.
    private func withSettlement(
        of decided: [DisputeEvent], claim: String, now: Int64, policy: RescuePolicy
    ) -> Result<[RescueEvent], RescueRejection> {
        var events = decided.map(RescueEvent.init)
        var counts = [RescueCount]()
        for case .resolved(_, let resolution) in decided {
            events += resolutionEvents(claim: claim, resolution, now: now, policy: policy, counts: &counts)
        }
        return carbon.decideCounts(counts, policy: policy.carbon).mapError { .carbon($0) }.map { events + $0.map(RescueEvent.init) }
    }

    private func resolutionEvents(
        claim: String, _ resolution: DisputeBook.Resolution, now: Int64, policy: RescuePolicy, counts: inout [RescueCount]
    ) -> [RescueEvent] {
        var events = escrowSettlement(claim: claim, refund: resolution.refundRupiah, rule: resolution.rule)
        if offers.claims[claim]?.status == .placed {
            // The group closes after everything that settles its claim, the cancellation included.
            let closing = events.filter { if case .groupClosed = $0 { true } else { false } }
            events.removeAll { if case .groupClosed = $0 { true } else { false } }
            events += [.claimCancelled(claim: claim)] + closing
        }
        if resolution.outcome.keepsRescueCounted, let rescue = rescues[claim], !rescue.counted,
            !policy.disputes.isWithinWindow(openedAt: rescue.completion.at, now: now)
        {
            counts.append(count(rescue, policy: policy))
        }
        return events
    }

    /// Refunds up to `refund` of what the claim's escrow still holds and releases the rest.
    /// Through the escrow book's own decisions, so its rules (never more than is held, a refund
    /// names its rule, a closed escrow never moves) hold for every settlement too.
    private func escrowSettlement(claim: String, refund: Int64, rule: String) -> [RescueEvent] {
        let open = escrowIDs(ofClaim: claim).compactMap { escrows.escrows[$0] }.filter { !$0.isClosed }
        var events = [RescueEvent]()
        let total = open.reduce(0) { $0 + $1.openRupiah }
        let refunded = min(refund, total)
        // A group claim's refund is split over its members' escrows by what each still holds,
        // largest remainder first (FORMAT §7.13); a single escrow takes all of it.
        let parts = total == 0 ? open.map { _ in Int64(0) } : LargestRemainder.split(refunded, by: open.map(\.openRupiah)) ?? []
        for (escrow, part) in zip(open, parts) {
            // Decided against the escrow as it stands: the refund and the release together are
            // exactly what is open, so each alone is within it.
            if part > 0 { events += settled(escrows.decide(.refund(id: escrow.id, rupiah: part, rule: rule))) }
            if escrow.openRupiah > part { events += settled(escrows.decide(.release(id: escrow.id, rupiah: escrow.openRupiah - part))) }
        }
        // Settling a group's claim closes the group: every member's hold has now moved once.
        if let group = groupOfClaim[claim], groups.groups[group]?.status == .claimed { events.append(.groupClosed(group: group)) }
        return events
    }

    /// A settlement's escrow event. The amounts come from the escrow itself, so a refusal here is
    /// a programming error: tests stop on it, and a release build writes nothing for it.
    private func settled(_ decided: Result<EscrowEvent, EscrowRejection>) -> [RescueEvent] {
        switch decided {
        case .success(let event): return [RescueEvent(event)]
        case .failure(let rejection):
            assertionFailure("a settlement the escrow book refuses: \(rejection)")
            return []
        }
    }

    private func count(_ rescue: Rescue, policy: RescuePolicy) -> RescueCount {
        let completion = rescue.completion
        let company = participants.participants[completion.provider]?.company ?? completion.provider
        let grams = policy.carbon.basis == .lifecycle ? completion.lifecycleGramsCO2e : completion.downstreamGramsCO2e
        return RescueCount(company: company, rescue: rescue.seq, gramsCO2e: grams, vintage: Self.year(ofMicroseconds: completion.at))
    }

    private func tick(now: Int64, policy: RescuePolicy) -> Result<[RescueEvent], RescueRejection> {
        var events = [RescueEvent]()
        // A group that has not claimed by its deadline expires; nothing was held (FORMAT §7.13).
        for group in groups.due(by: now) { events.append(.groupExpired(group: group.id, rule: "policy.groupDeadlineMissed")) }
        // An unsold lot becomes a donation and is matched, people first (FORMAT §7.12).
        for auction in auctions.ended(by: now) {
            guard let offer = offers.offers[auction.offer] else { continue }
            events.append(.auctionConverted(
                auction: auction.id, offer: offer.id, portions: offer.remainingPortions, grams: offer.remainingGrams, rule: auction.endRule))
            if offer.remainingPortions > 0 && now < offer.expiresAt { events += matching(offer, portions: offer.remainingPortions, now: now, policy: policy) }
        }
        if case .success(let matched) = matches.decide(.tick(now: now), acceptWindowMicroseconds: policy.matchAcceptWindowMicroseconds) {
            events += unexpired(matched, now: now).map(RescueEvent.init)
        }
        // A courier who let its offer lapse is passed over; the next one is offered (FORMAT §7.16).
        for var dispatch in logistics.timedOut(by: now) {
            guard let courier = dispatch.offeredTo else { continue }
            events.append(.courierDeclined(claim: dispatch.claim, courier: courier, reason: .timedOut))
            dispatch.declined.insert(courier)
            guard offers.claims[dispatch.claim]?.status == .placed, let next = logistics.nextOffer(dispatch, now: now, policy: policy.logistics) else { continue }
            events.append(.courierOffered(claim: dispatch.claim, courier: next.courier, grams: next.grams, expiresAt: next.expiresAt))
        }
        var counts = [RescueCount]()
        for item in disputeDeadlines.due(by: now) where disputes.disputes[item.key]?.resolution == nil {
            guard case .success(let decided) = disputes.decide(.expire(id: item.key, now: now), policy: policy.disputes),
                case .resolved(let id, var resolution)? = decided.first, let claim = disputes.disputes[item.key]?.claim
            else { continue }
            // A policy default of relisting cannot put back food somebody took.
            if resolution.outcome == .noRefundRelist, offers.claims[claim]?.status != .placed { resolution.outcome = .noRefund }
            events.append(.disputeResolved(dispute: id, resolution))
            events += resolutionEvents(claim: claim, resolution, now: now, policy: policy, counts: &counts)
        }
        let window = policy.disputes.windowMicroseconds
        for item in paidClaimWindows.due(by: now.adding(-window) ?? .min)
        where unsettledPaidClaims[item.key] == item.deadline && disputeOfClaim[item.key] == nil {
            if offers.claims[item.key]?.status == .placed {
                events += escrowSettlement(claim: item.key, refund: Int64.max, rule: "policy.notPickedUpInTime")
                events.append(.claimCancelled(claim: item.key))
            } else {
                events += escrowSettlement(claim: item.key, refund: 0, rule: "")
            }
        }
        for item in settlements.due(by: now.adding(-window) ?? .min) {
            let rescue = rescues[item.key]!
            // A disputed rescue is settled by its dispute's resolution instead.
            guard !rescue.counted, disputeOfClaim[item.key] == nil else { continue }
            events += escrowSettlement(claim: item.key, refund: 0, rule: "")
            counts.append(count(rescue, policy: policy))
        }
        for item in countsAfterDispute.due(by: now.adding(-window) ?? .min) where !rescues[item.key]!.counted {
            counts.append(count(rescues[item.key]!, policy: policy))
        }
        return carbon.decideCounts(counts, policy: policy.carbon).mapError { .carbon($0) }.map { events + $0.map(RescueEvent.init) }
    }

    // MARK: Applying

    /// Folds in one event, written at `seq` with time `time` (µs).
    public mutating func apply(_ event: RescueEvent, seq: UInt64, time: Int64) {
        self.time = max(self.time, time)
        switch event {
        case .registered(let participant):
            participants.apply(participant)
            search.index(participant)
            logistics.registerCourier(participant)
        case .posted(let offer):
            offers.apply(.posted(offer))
        case .matchOffered(let offer, let recipient, let candidates, let expiresAt):
            matches.apply(.offered(offer: offer, recipient: recipient, candidates: candidates, expiresAt: expiresAt))
        case .matchDeclined(let offer, let recipient):
            matches.apply(.declined(offer: offer, recipient: recipient))
        case .matchExpired(let offer, let recipient):
            matches.apply(.expired(offer: offer, recipient: recipient))
        case .claimPlaced(let claim):
            offers.apply(.claimPlaced(claim))
            matches.claimPlaced(offer: claim.offer, claimant: claim.claimant)
            let day = (time + Self.fairnessDayOffsetMicroseconds) / Self.dayMicroseconds
            if day != fairnessDay {
                search.resetGrants()
                fairnessDay = day
            }
            search.recordGrant(to: claim.claimant)
            if claim.priceRupiah > 0 {
                let expiresAt = offers.offers[claim.offer]!.expiresAt
                unsettledPaidClaims[claim.id] = expiresAt
                paidClaimWindows.insert(claim.id, deadline: expiresAt)
            }
        case .claimCancelled(let claim):
            offers.apply(.claimCancelled(claim: claim))
            logistics.closed(claim: claim, keepPickedUp: false)
            unsettledPaidClaims[claim] = nil
            dropSettledPaidClaims()
        case .escrowHeld(let escrow):
            escrows.apply(.held(escrow))
            if escrow.id != escrow.claim { memberEscrows[escrow.claim, default: []].append(escrow.id) }
        case .escrowReleased(let escrow, let rupiah):
            escrows.apply(.released(escrow: escrow, rupiah: rupiah))
            escrowMoved(escrow)
        case .escrowRefunded(let escrow, let rupiah, let rule):
            escrows.apply(.refunded(escrow: escrow, rupiah: rupiah, rule: rule))
            escrowMoved(escrow)
        case .pickedUp(let pickup):
            offers.apply(.pickedUp(pickup))
            // Handed over: legs no courier picked up are dead, and nothing more is offered.
            logistics.closed(claim: pickup.claim, keepPickedUp: true)
            pickups[pickup.claim] = pickup
            if unsettledPaidClaims[pickup.claim] != nil {
                unsettledPaidClaims[pickup.claim] = time
                paidClaimWindows.insert(pickup.claim, deadline: time)
                dropSettledPaidClaims()
            }
        case .deliveryConfirmed:
            break  // the claim becomes delivered with the `rescue.completed` that always follows
        case .rescueCompleted(let completion):
            offers.apply(.delivered(completion))
            rescues[completion.claim] = Rescue(seq: seq, completion: completion, counted: false)
            claimOfRescue[seq] = completion.claim
            settlements.insert(completion.claim, deadline: completion.at)
            // Disputed and decided for the provider before delivery: counted when the window
            // after delivery closes, like any other rescue.
            if let dispute = disputeOfClaim[completion.claim], disputes.disputes[dispute]?.resolution?.outcome.keepsRescueCounted == true {
                countsAfterDispute.insert(completion.claim, deadline: completion.at)
            }
            unsettledPaidClaims[completion.claim] = nil
            dropSettledPaidClaims()
        case .disputeOpened(let dispute):
            disputes.apply(.opened(dispute))
            disputeDeadlines.insert(dispute.id, deadline: dispute.decideBy)
            dropSettledRescues()
            dropSettledPaidClaims()
        case .disputeResolved(let id, let resolution):
            disputes.apply(.resolved(dispute: id, resolution))
            disputeDeadlines.dropFront { disputes.disputes[$0.key]?.resolution != nil }
            let claim = disputes.disputes[id]!.claim
            if resolution.outcome.keepsRescueCounted, let rescue = rescues[claim], !rescue.counted {
                countsAfterDispute.insert(claim, deadline: rescue.completion.at)
            }
        case .carbonMinted(let minted):
            carbon.apply(.minted(minted))
            if let claim = claimOfRescue[minted.rescue] { rescues[claim]!.counted = true }
            dropSettledRescues()
        case .carbonTransferred(let from, let to, let range):
            carbon.apply(.transferred(from: from, to: to, range: range))
        case .carbonRetired(let owner, let range, let beneficiary, let reason):
            carbon.apply(.retired(owner: owner, range: range, beneficiary: beneficiary, reason: reason))
        case .carbonCancelled(let owner, let range, let reason):
            carbon.apply(.cancelled(owner: owner, range: range, reason: reason))
        case .policyActivated(let policy, _):
            activePolicy = policy
        case .auctionStarted(var auction):
            auction.startedAt = time
            auctions.apply(.started(auction))
        case .auctionSold(let sale):
            auctions.apply(.sold(sale))
        case .auctionConverted(let auction, let offer, _, _, _):
            auctions.apply(.converted(auction: auction))
            offers.apply(.donated(offer: offer))
        case .auctionCancelled(let auction, _, _):
            auctions.apply(.cancelled(auction: auction))
        case .groupFormed(let group):
            groups.apply(.formed(group))
        case .groupJoined(let group, let member):
            groups.apply(.joined(group: group, member))
        case .groupLeft(let group, let member, _, let reason):
            groups.apply(.left(group: group, member: member, reason: reason))
        case .groupClaimed(let plan):
            groups.apply(.claimed(plan))
            groupOfClaim[plan.claim] = plan.group
        case .groupExpired(let group, _):
            groups.apply(.expired(group: group))
        case .groupClosed(let group):
            groups.apply(.closed(group: group))
        case .deviceRegistered(let device):
            devices.applyRegistered(device)
        case .deviceRevoked(let device, _):
            devices.applyRevoked(device, at: time)
        case .scanAttested(let scan):
            devices.applyAttested(scan)
        case .posConnected(let connection):
            pos.applyConnected(connection)
        case .posSynced(let synced):
            pos.applySynced(synced, seq: seq)
        case .courierOffered(let claim, let courier, let grams, let expiresAt):
            if logistics.dispatches[claim] == nil, case .success(let facts) = dispatchFacts(claim) { logistics.started(facts) }
            logistics.offered(claim: claim, courier: courier, grams: grams, expiresAt: expiresAt)
        case .courierDeclined(let claim, let courier, _):
            logistics.declined(claim: claim, courier: courier)
        case .courierAssigned(let claim, let courier, let grams, let booking):
            if logistics.dispatches[claim] == nil, case .success(let facts) = dispatchFacts(claim) { logistics.started(facts) }
            logistics.assigned(claim: claim, courier: courier, grams: grams, external: booking != nil)
        case .courierPickedUp(let claim, let courier, _):
            logistics.pickedUp(claim: claim, courier: courier)
        case .courierDelivered(let delivery):
            logistics.delivered(delivery, time: time)
        case .pointsAwarded(let award):
            logistics.awarded(award)
        }
    }

    /// A claim is settled once every escrow holding its money has closed.
    private mutating func escrowMoved(_ id: String) {
        let claim = escrows.escrows[id]!.claim
        if escrowIDs(ofClaim: claim).allSatisfy({ escrows.escrows[$0]!.isClosed }) { unsettledPaidClaims[claim] = nil }
        dropSettledPaidClaims()
    }

    /// Forgets counted rescues (and, in the undisputed queue, disputed ones) at the queues' fronts.
    private mutating func dropSettledRescues() {
        let disputed = disputes.disputeOfClaim
        settlements.dropFront { rescues[$0.key]!.counted || disputed[$0.key] != nil }
        countsAfterDispute.dropFront { rescues[$0.key]!.counted }
    }

    /// Forgets paid-claim deadlines that no longer apply (settled, moved by a pickup, or disputed).
    private mutating func dropSettledPaidClaims() {
        let disputed = disputes.disputeOfClaim
        paidClaimWindows.dropFront { unsettledPaidClaims[$0.key] != $0.deadline || disputed[$0.key] != nil }
    }

    // MARK: Reading

    /// Every broken invariant across the engines, described; empty when the state is sound.
    public func invariantViolations() -> [String] {
        var violations = offers.invariantViolations() + escrows.invariantViolations() + carbon.invariantViolations() + auctions.invariantViolations()
        var heldOfClaim: [String: Int64] = [:]
        for (id, escrow) in escrows.escrows {
            guard let claim = offers.claims[escrow.claim] else {
                violations.append("escrow \(id) has no claim")
                continue
            }
            heldOfClaim[escrow.claim, default: 0] += escrow.heldRupiah
            if claim.status == .cancelled && !escrow.isClosed { violations.append("escrow \(id) is open for a cancelled claim") }
            if escrow.releasedRupiah > 0 && claim.status == .cancelled && disputeOfClaim[escrow.claim] == nil {
                violations.append("escrow \(id) released money for a cancelled claim nobody disputed")
            }
        }
        // A claim's escrows (one, or one per group member) hold exactly its price.
        for (claim, held) in heldOfClaim where held != offers.claims[claim]!.priceRupiah {
            violations.append("the escrows of claim \(claim) hold \(held), its price is \(offers.claims[claim]!.priceRupiah)")
        }
        for (claim, rescue) in rescues where rescue.counted {
            if let dispute = disputeOfClaim[claim], disputes.disputes[dispute]?.resolution?.outcome.keepsRescueCounted != true {
                violations.append("rescue \(rescue.seq) was counted although its dispute refunded or is open")
            }
        }
        return violations
    }

    /// The calendar year (UTC) of a time in µs since the epoch: the vintage of a rescue's tokens.
    public static func year(ofMicroseconds time: Int64) -> Int {
        // Howard Hinnant's civil_from_days.
        let days = (time >= 0 ? time : time - dayMicroseconds + 1) / dayMicroseconds + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        return Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
    }
}
