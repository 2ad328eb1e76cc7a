/// One domain event, written as exactly one ledger entry of the kind `kind`. The world's state
/// is the fold of these events (`RescueWorld.apply`), live and when replaying the ledger.
public indirect enum RescueEvent: Hashable, Sendable {
    case registered(ParticipantRegistry.Participant)
    case posted(OfferBook.Offer)
    /// `candidates` (the ranked list) on the first offer only; an escalation names the next one.
    case matchOffered(offer: String, recipient: String, candidates: [String]?, expiresAt: Int64)
    case matchDeclined(offer: String, recipient: String)
    case matchExpired(offer: String, recipient: String)
    case claimPlaced(OfferBook.Claim)
    case claimCancelled(claim: String)
    case escrowHeld(EscrowBook.Escrow)
    case escrowReleased(escrow: String, rupiah: Int64)
    case escrowRefunded(escrow: String, rupiah: Int64, rule: String)
    case pickedUp(Pickup)
    case deliveryConfirmed(claim: String, portionsServed: Int64)
    case rescueCompleted(Completion)
    case disputeOpened(DisputeBook.Dispute)
    case disputeResolved(dispute: String, DisputeBook.Resolution)
    case carbonMinted(Minted)
    case carbonTransferred(from: String, to: String, range: SerialRange)
    case carbonRetired(owner: String, range: SerialRange, beneficiary: String, reason: String)
    case carbonCancelled(owner: String, range: SerialRange, reason: String)
    /// A policy set came into force; `policy` is its hash (hex), `files` each file's SHA-256.
    case policyActivated(policy: String, files: [String: String])
    case auctionStarted(AuctionBook.Auction)
    case auctionSold(AuctionBook.Sale)
    /// The unsold rest of a lot became a free donation, by `rule`.
    case auctionConverted(auction: String, offer: String, portions: Int64, grams: Int64, rule: AuctionBook.EndRule)
    /// The provider withdrew the lot; `portions` unsold go back on sale at the posted price.
    case auctionCancelled(auction: String, offer: String, portions: Int64)
    case groupFormed(GroupBook.Group)
    case groupJoined(group: String, GroupBook.Member)
    /// `reason`: `left` (before the claim) or `noShow` (a member who did not collect; nothing refunded).
    case groupLeft(group: String, member: String, portions: Int64, reason: GroupBook.LeaveReason)
    case groupClaimed(GroupBook.ClaimPlan)
    case groupExpired(group: String, rule: String)
    /// Every member's hold of the group's claim has closed (or, for a donation, the claim settled).
    case groupClosed(group: String)
    case deviceRegistered(DeviceBook.Device)
    case deviceRevoked(device: String, reason: DeviceBook.RevocationReason)
    /// A device-signed freshness scan, its signature checked (FORMAT §7.14).
    case scanAttested(DeviceBook.Scan)
    case posConnected(PosBook.Connection)
    /// A till's report, as synced: what each line became (FORMAT §7.15).
    case posSynced(PosBook.Synced)
    case courierOffered(claim: String, courier: String, grams: Int64, expiresAt: Int64)
    case courierDeclined(claim: String, courier: String, reason: LogisticsBook.DeclineReason)
    /// `bookingSha256`: a logistics provider's booking, by the digest of its reference.
    case courierAssigned(claim: String, courier: String, grams: Int64, bookingSha256: String?)
    case courierPickedUp(claim: String, courier: String, grams: Int64)
    case courierDelivered(LogisticsBook.Delivery)
    case pointsAwarded(LogisticsBook.Award)

    /// The ledger entry kind.
    public var kind: EntryKind {
        switch self {
        case .registered: .participantRegistered
        case .posted: .surplusPosted
        case .matchOffered: .matchOffered
        case .matchDeclined: .matchDeclined
        case .matchExpired: .matchExpired
        case .claimPlaced: .claimPlaced
        case .claimCancelled: .claimCancelled
        case .escrowHeld: .escrowHeld
        case .escrowReleased: .escrowReleased
        case .escrowRefunded: .escrowRefunded
        case .pickedUp: .pickupConfirmed
        case .deliveryConfirmed: .deliveryConfirmed
        case .rescueCompleted: .rescueCompleted
        case .disputeOpened: .disputeOpened
        case .disputeResolved: .disputeResolved
        case .carbonMinted: .carbonMinted
        case .carbonTransferred: .carbonTransferred
        case .carbonRetired: .carbonRetired
        case .carbonCancelled: .carbonCancelled
        case .policyActivated: .policyActivated
        case .auctionStarted: .auctionStarted
        case .auctionSold: .auctionSold
        case .auctionConverted: .auctionConverted
        case .auctionCancelled: .auctionCancelled
        case .groupFormed: .groupFormed
        case .groupJoined: .groupJoined
        case .groupLeft: .groupLeft
        case .groupClaimed: .groupClaimed
        case .groupExpired: .groupExpired
        case .groupClosed: .groupClosed
        case .deviceRegistered: .deviceRegistered
        case .deviceRevoked: .deviceRevoked
        case .scanAttested: .scanAttested
        case .posConnected: .posConnected
        case .posSynced: .posSynced
        case .courierOffered: .courierOffered
        case .courierDeclined: .courierDeclined
        case .courierAssigned: .courierAssigned
        case .courierPickedUp: .courierPickup
        case .courierDelivered: .courierDelivered
        case .pointsAwarded: .pointsAwarded
        }
    }

    /// Entries nobody's command asked for, written as `system` whichever command caused them
    /// (FORMAT §7.9): a mint follows from a window closing, not from the decision that closed it.
    public var isWrittenBySystem: Bool {
        switch self {
        case .carbonMinted, .auctionConverted, .pointsAwarded: true
        default: false
        }
    }

    /// The carbon serial ranges this event issues or moves (a mint's range and buffer share);
    /// empty for every other kind.
    public var serialRanges: [SerialRange] {
        switch self {
        case .carbonMinted(let minted): [minted.range, minted.buffer].compactMap { $0 }
        case .carbonTransferred(_, _, let range), .carbonRetired(_, let range, _, _), .carbonCancelled(_, let range, _): [range]
        default: []
        }
    }

    init(_ event: MatchEvent) {
        switch event {
        case .offered(let offer, let recipient, let candidates, let expiresAt):
            self = .matchOffered(offer: offer, recipient: recipient, candidates: candidates, expiresAt: expiresAt)
        case .declined(let offer, let recipient): self = .matchDeclined(offer: offer, recipient: recipient)
        case .expired(let offer, let recipient): self = .matchExpired(offer: offer, recipient: recipient)
        }
    }

    init(_ event: CarbonEvent) {
        switch event {
        case .minted(let minted): self = .carbonMinted(minted)
        case .transferred(let from, let to, let range): self = .carbonTransferred(from: from, to: to, range: range)
        case .retired(let owner, let range, let beneficiary, let reason):
            self = .carbonRetired(owner: owner, range: range, beneficiary: beneficiary, reason: reason)
        case .cancelled(let owner, let range, let reason): self = .carbonCancelled(owner: owner, range: range, reason: reason)
        }
    }

    init(_ event: DisputeEvent) {
        switch event {
        case .opened(let dispute): self = .disputeOpened(dispute)
        case .resolved(let id, let resolution): self = .disputeResolved(dispute: id, resolution)
        }
    }

    init(_ event: EscrowEvent) {
        switch event {
        case .held(let escrow): self = .escrowHeld(escrow)
        case .released(let id, let rupiah): self = .escrowReleased(escrow: id, rupiah: rupiah)
        case .refunded(let id, let rupiah, let rule): self = .escrowRefunded(escrow: id, rupiah: rupiah, rule: rule)
        }
    }
}

/// What a participant asks of the rescue system. The time and the acting identity come with
/// the command (`RescueWorld.decide`), never from a clock or a request body.
public enum RescueCommand: Hashable, Sendable {
    case register(ParticipantRegistry.Participant)
    /// `post.now` is ignored: the command's time is the posting time.
    case post(OfferPost)
    case declineMatch(offer: String)
    case claim(id: String, offer: String, seenVersion: Int64, portions: Int64, pickupCodeDigest: String)
    case cancelClaim(claim: String)
    /// `declaredFreshnessScore` is what the provider says; it is recorded and decides nothing.
    case confirmPickup(claim: String, pickupCodeDigest: String, grams: Int64, declaredFreshnessScore: Int64?)
    case confirmDelivery(claim: String, portionsServed: Int64)
    case openDispute(id: String, claim: String, reason: DisputeBook.Reason, evidence: [String])
    /// An operator's decision on a dispute the automatic rules left open.
    case decideDispute(id: String, outcome: DisputeBook.Outcome)
    case transferCarbon(to: String, range: SerialRange)
    case retireCarbon(range: SerialRange, beneficiary: String, reason: String)
    case cancelCarbon(range: SerialRange, reason: String)
    /// A provider puts what remains of its paid offer up for a Flash Ludes auction.
    case startAuction(AuctionBook.Start)
    /// A bid for `portions` of the lot (nil: all that remains) by a bidder shown
    /// `seenPriceRupiah` for the whole lot; accepted, it becomes claim `claim`.
    case bid(auction: String, claim: String, seenPriceRupiah: Int64, portions: Int64?, pickupCodeDigest: String)
    case cancelAuction(id: String)
    /// A community recipient (role `group`) forms an RT/RW group (FORMAT §7.13).
    case formGroup(GroupBook.Form)
    case joinGroup(group: String, portions: Int64)
    case leaveGroup(group: String)
    /// The coordinator claims for the group: `offer` names the offer of a category group.
    case claimGroup(group: String, claim: String, offer: String?, pickupCodeDigest: String)
    /// The coordinator records a member who did not collect at the drop point.
    case groupNoShow(group: String, member: String)
    /// A participant registers a scanning device (its own, or one of its sites').
    case registerDevice(DeviceBook.Device)
    /// `asOperator`: the caller holds `devices.revoke` and may revoke any device.
    case revokeDevice(device: String, reason: DeviceBook.RevocationReason, asOperator: Bool)
    /// A scan whose signature Core has checked against the device's registered key
    /// (`ScanDocument.verify`); the world applies the rules that depend on state.
    case attestScan(DeviceBook.Scan)
    /// An operator connects a site's till (FORMAT §7.15).
    case connectPos(PosBook.Connection)
    /// A till's report whose webhook signature Core has checked, by the connection's site.
    case syncPos(PosBook.Report)
    /// The claimant asks for a courier (FORMAT §7.16).
    case requestCourier(claim: String)
    /// The offered courier accepts or declines.
    case respondToCourierOffer(claim: String, accept: Bool)
    /// The logistics provider booked the claim (Core called it through its circuit breaker).
    case bookProviderCourier(claim: String, bookingSha256: String)
    case courierPickup(claim: String, pickupCodeDigest: String)
    case courierDeliver(claim: String)
    /// Time passes: match time-outs, dispute deadlines, escrow releases and carbon counts that
    /// are due by the command's time.
    case tick
}

/// Why a command was refused; nothing was written. `name` is stable (it becomes the problem
/// `type` of the HTTP API) and reads as a sentence.
public enum RescueRejection: Error, Hashable, Sendable, CustomStringConvertible {
    case participant(ParticipantRejection)
    case offer(OfferRejection)
    case match(MatchRejection)
    case escrow(EscrowRejection)
    case dispute(DisputeRejection)
    case carbon(CarbonRejection)
    case auction(AuctionRejection)
    /// A refused bid, with the lot's price at the engine's time so the bidder can bid again.
    case auctionBid(AuctionRejection, currentPriceRupiah: Int64)
    case group(GroupRejection)
    case device(DeviceRejection)
    case pos(PosRejection)
    case logistics(LogisticsRejection)
    case actorMayNotCoordinateGroups
    case actorMayNotJoinGroups
    case actorIsNotRegistered
    case actorMayNotPostOffers
    case actorMayNotClaim
    case offerIsReservedForAnotherRecipient
    case freshnessScoreIsOutOfRange
    case recipientIsNotRegistered
    case recipientMayNotHoldCarbon
    case disputeClaimNotFound
    case timeMustNotGoBackwards
    case acceptWindowHasClosed
    case claimIsDisputed
    case beneficiaryIsNotKnown

    public var name: String {
        switch self {
        case .participant(let rejection): rejection.rawValue
        case .offer(let rejection): rejection.rawValue
        case .match(let rejection): rejection.rawValue
        case .escrow(let rejection): rejection.rawValue
        case .dispute(let rejection): rejection.rawValue
        case .carbon(let rejection): rejection.rawValue
        case .auction(let rejection), .auctionBid(let rejection, _): rejection.rawValue
        case .group(let rejection): rejection.rawValue
        case .device(let rejection): rejection.rawValue
        case .pos(let rejection): rejection.rawValue
        case .logistics(let rejection): rejection.rawValue
        case .actorMayNotCoordinateGroups: "actorMayNotCoordinateGroups"
        case .actorMayNotJoinGroups: "actorMayNotJoinGroups"
        case .actorIsNotRegistered: "actorIsNotRegistered"
        case .actorMayNotPostOffers: "actorMayNotPostOffers"
        case .actorMayNotClaim: "actorMayNotClaim"
        case .offerIsReservedForAnotherRecipient: "offerIsReservedForAnotherRecipient"
        case .freshnessScoreIsOutOfRange: "freshnessScoreIsOutOfRange"
        case .recipientIsNotRegistered: "recipientIsNotRegistered"
        case .recipientMayNotHoldCarbon: "recipientMayNotHoldCarbon"
        case .disputeClaimNotFound: "disputeClaimNotFound"
        case .timeMustNotGoBackwards: "timeMustNotGoBackwards"
        case .acceptWindowHasClosed: "acceptWindowHasClosed"
        case .claimIsDisputed: "claimIsDisputed"
        case .beneficiaryIsNotKnown: "beneficiaryIsNotKnown"
        }
    }

    public var description: String { name }
}

/// Every policy the world needs, from `policies/*.yaml`.
public struct RescuePolicy: Hashable, Sendable {
    public var offers: OfferPolicy
    public var disputes: DisputePolicy
    public var carbon: CarbonPolicy
    /// How long the candidate being offered a donation has to claim it before the next one.
    public var matchAcceptWindowMicroseconds: Int64
    /// Flash Ludes auctions (`policies/auction.yaml`); `.none` where a caller runs none.
    public var auctions: AuctionPolicy
    /// RT/RW group buys (`policies/groups.yaml`).
    public var groups: GroupPolicy
    /// Device-attested freshness scans (`policies/freshness.yaml`).
    public var freshness: FreshnessPolicy
    /// POS sync mappings (`policies/pos.yaml`).
    public var pos: PosPolicy
    /// Couriers and points (`policies/logistics.yaml`).
    public var logistics: LogisticsPolicy

    public init(
        offers: OfferPolicy, disputes: DisputePolicy, carbon: CarbonPolicy, matchAcceptWindowMicroseconds: Int64 = 300_000_000,
        auctions: AuctionPolicy = .none, groups: GroupPolicy = .standard, freshness: FreshnessPolicy = .standard,
        pos: PosPolicy = .none, logistics: LogisticsPolicy = .standard
    ) {
        self.logistics = logistics
        self.pos = pos
        self.groups = groups
        self.freshness = freshness
        self.offers = offers
        self.disputes = disputes
        self.carbon = carbon
        self.matchAcceptWindowMicroseconds = matchAcceptWindowMicroseconds
        self.auctions = auctions
    }
}
