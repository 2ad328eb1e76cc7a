import Ledger
import Rescue

/// What the reports read from the ledger, folded entry by entry in seq order (`apply`): a
/// projection of the ledger like the engines' state, but keeping the seqs every fact rests on, so
/// each line of a report names the entries that prove it. Pure: the caller reads the ledger.
public struct ReportFacts: Sendable {
    /// A completed rescue and the policy set in force when it was written.
    public struct RescueRecord: Sendable {
        public let seq: UInt64
        public let time: Int64
        public let policy: String
        public let completion: Completion
    }

    /// A dispute on a claim, and how it ended (nil while open).
    public struct DisputeRecord: Sendable {
        public let id: String
        public let openedSeq: UInt64
        public var resolvedSeq: UInt64?
        public var outcome: String?
    }

    /// A `scan.attested` entry: the evidence of a line's freshness.
    public struct ScanRecord: Sendable {
        public let seq: UInt64
        public let scan: String
        public let device: String
        public let stage: DeviceBook.Stage
        public let score: Int64
    }

    /// A carbon entry (mint, transfer, retirement or cancellation).
    public struct Movement: Sendable {
        public let seq: UInt64
        public let time: Int64
        public let event: RescueEvent
    }

    /// Entries folded so far (seqs 0 ..< size).
    public private(set) var size: UInt64 = 0
    public private(set) var participants: [String: ParticipantRegistry.Participant] = [:]
    /// The seq of each participant's `participant.registered` (a participant registers once):
    /// what a report cites for a company's NPWP, a site's company, a recipient's details.
    public private(set) var registrationSeqs: [String: UInt64] = [:]
    /// Sites by company.
    public private(set) var sites: [String: [String]] = [:]
    public private(set) var offers: [String: (seq: UInt64, offer: OfferBook.Offer)] = [:]
    public private(set) var claims: [String: (seq: UInt64, claim: OfferBook.Claim)] = [:]
    public private(set) var pickupSeqs: [String: UInt64] = [:]
    public private(set) var deliverySeqs: [String: UInt64] = [:]
    /// In seq order.
    public private(set) var rescues: [RescueRecord] = []
    /// By claim (a claim has at most one dispute).
    public private(set) var disputes: [String: DisputeRecord] = [:]
    /// Escrow refunds by claim (a claim's escrow has its id; a group claim's members' escrows name it).
    public private(set) var refunds: [String: [(seq: UInt64, rupiah: Int64)]] = [:]
    /// In seq order.
    public private(set) var movements: [Movement] = []
    public private(set) var carbon = CarbonRegistry()
    /// Each activated policy set's file hashes, by policy hash.
    public private(set) var policyFiles: [String: [String: String]] = [:]
    /// The seq of the latest activation of each policy set (where `policyFiles` comes from).
    public private(set) var activationSeqs: [String: UInt64] = [:]
    /// The `auction.sold` seq of each claim an auction sold (FORMAT §7.12).
    public private(set) var auctionSaleSeqs: [String: UInt64] = [:]
    /// The `auction.converted` seq of each offer whose unsold lot became a donation.
    public private(set) var conversionSeqs: [String: UInt64] = [:]
    /// The attested scans of each claim and of each offer (FORMAT §7.14), in seq order.
    public private(set) var claimScans: [String: [ScanRecord]] = [:]
    public private(set) var offerScans: [String: [ScanRecord]] = [:]
    /// The `pos.synced` entry each till-posted offer came from, and the hash of the webhook body.
    public private(set) var posSyncOfOffer: [String: (seq: UInt64, bodySha256: String)] = [:]
    /// Each claim's courier deliveries: who carried how much, and the `courier.delivered` seq.
    public private(set) var courierDeliveries: [String: [(seq: UInt64, courier: String, grams: Int64)]] = [:]
    private var claimOfDispute: [String: String] = [:]
    private var claimOfEscrow: [String: String] = [:]

    public init() {}

    /// Folds in entry `seq` (which must be the next one); `event` is nil for entries outside the
    /// rescue domain, `policy` is the entry's policy hash (hex).
    public mutating func apply(seq: UInt64, time: Int64, policy: String, event: RescueEvent?) {
        precondition(seq == size, "report facts are folded in seq order")
        size = seq + 1
        guard let event else { return }
        switch event {
        case .registered(let participant):
            participants[participant.id] = participant
            registrationSeqs[participant.id] = seq
            if participant.role == .site, let company = participant.company { sites[company, default: []].append(participant.id) }
        case .posted(let offer):
            offers[offer.id] = (seq, offer)
        case .claimPlaced(let claim):
            claims[claim.id] = (seq, claim)
        case .pickedUp(let pickup):
            pickupSeqs[pickup.claim] = seq
        case .deliveryConfirmed(let claim, _):
            deliverySeqs[claim] = seq
        case .rescueCompleted(let completion):
            rescues.append(RescueRecord(seq: seq, time: time, policy: policy, completion: completion))
        case .disputeOpened(let dispute):
            disputes[dispute.claim] = DisputeRecord(id: dispute.id, openedSeq: seq)
            claimOfDispute[dispute.id] = dispute.claim
        case .disputeResolved(let id, let resolution):
            guard let claim = claimOfDispute[id] else { break }
            disputes[claim]?.resolvedSeq = seq
            disputes[claim]?.outcome = resolution.outcome.name
        case .escrowRefunded(let escrow, let rupiah, _):
            refunds[claimOfEscrow[escrow] ?? escrow, default: []].append((seq, rupiah))
        case .escrowHeld(let escrow):
            if escrow.id != escrow.claim { claimOfEscrow[escrow.id] = escrow.claim }
        case .carbonMinted(let minted):
            carbon.apply(.minted(minted))
            movements.append(Movement(seq: seq, time: time, event: event))
        case .carbonTransferred(let from, let to, let range):
            carbon.apply(.transferred(from: from, to: to, range: range))
            movements.append(Movement(seq: seq, time: time, event: event))
        case .carbonRetired(let owner, let range, let beneficiary, let reason):
            carbon.apply(.retired(owner: owner, range: range, beneficiary: beneficiary, reason: reason))
            movements.append(Movement(seq: seq, time: time, event: event))
        case .carbonCancelled(let owner, let range, let reason):
            carbon.apply(.cancelled(owner: owner, range: range, reason: reason))
            movements.append(Movement(seq: seq, time: time, event: event))
        case .policyActivated(let policy, let files):
            policyFiles[policy] = files
            activationSeqs[policy] = seq
        case .auctionSold(let sale):
            auctionSaleSeqs[sale.claim] = seq
        case .auctionConverted(_, let offer, _, _, _):
            conversionSeqs[offer] = seq
        case .scanAttested(let scan):
            let record = ScanRecord(seq: seq, scan: scan.id, device: scan.device, stage: scan.stage, score: scan.score)
            switch scan.subject {
            case .offer(let offer): offerScans[offer, default: []].append(record)
            case .claim(let claim): claimScans[claim, default: []].append(record)
            }
        case .courierDelivered(let delivery):
            courierDeliveries[delivery.claim, default: []].append((seq, delivery.courier, delivery.grams))
        case .posSynced(let synced):
            for line in synced.lines { if let offer = line.offer { posSyncOfOffer[offer] = (seq, synced.bodySha256) } }
        case .matchOffered, .matchDeclined, .matchExpired, .claimCancelled, .escrowReleased, .auctionStarted, .auctionCancelled, .groupFormed,
            .groupJoined, .groupLeft, .groupClaimed, .groupExpired, .groupClosed, .deviceRegistered, .deviceRevoked, .posConnected,
            .courierOffered, .courierDeclined, .courierAssigned, .courierPickedUp, .pointsAwarded:
            break
        }
    }

    /// How a claim's food left its provider, and the entry that says so (nil for a plain sale or
    /// donation): `soldAtAuction` (a Flash Ludes sale), `sold` (at the posted price),
    /// `donatedAfterAuction` (the unsold lot of an auction, converted), `donated` (directly).
    public func channel(claim: String, offer: String) -> (name: String, seq: UInt64?) {
        if (claims[claim]?.claim.priceRupiah ?? 0) > 0 {
            return auctionSaleSeqs[claim].map { ("soldAtAuction", $0) } ?? ("sold", nil)
        }
        return conversionSeqs[offer].map { ("donatedAfterAuction", $0) } ?? ("donated", nil)
    }

    /// The providers of `company`: the company itself (it may post) and its sites.
    public func providers(of company: String) -> Set<String> {
        Set([company] + (sites[company] ?? []))
    }
}

