/// An independent model of what the rules promise, built only from the events written (never
/// from the engines' state), and compared with the engines after every step:
/// - no claim takes more than is left of its offer;
/// - an escrow never pays out more than it held, and closes exactly once;
/// - a rescue's CO2e is counted once, only after its dispute window, and never when refunded;
/// - every serial is issued once and contiguously, has one owner at a time, and a retired or
///   cancelled serial never moves again;
/// - every company's balance equals minted + received − sent − retired − cancelled;
/// - who was paid what: a provider never receives more than its offer's price, nor more than
///   the share of the price for the grams picked up, nor anything for food nobody took unless a
///   dispute was decided for it; every rupiah held moves once;
/// - disputes fit their reason: a claimant no-show only after the offer's expiry and before any
///   pickup, a provider no-show only before a pickup, a quality dispute only after one; a
///   dispute sees what the escrow still holds, and a resolution refunds no more than that;
/// - every mint's company, CO2e, tokens, buffer share and carry-over, recomputed from the
///   rescues' own figures and the carbon policy;
/// - every auction price recomputed from the curve in its `auction.started` event by formulas
///   written here (128-bit integers, not the engine's `PriceCurve`): a sale only while the
///   auction is open and above its floor, never more of a lot than it held, the claim and its
///   escrow at exactly the sale price, and a conversion only once the auction has ended;
/// - every group claim's price is the offer's for its portions (rounded down), its members'
///   shares (recomputed here) sum to it and each is its quota rounded down or up, each member's
///   escrow holds exactly its share, and a group closes only when every member's hold has.
public struct ReferenceModel: Sendable {
    enum SerialState: Hashable, Sendable {
        case held(String)
        case retired
        case cancelled
    }

    struct OfferFacts: Sendable {
        var portions: Int64
        var grams: Int64
        var claimedPortions: Int64 = 0
        var claimedGrams: Int64 = 0
        var provider = ""
        var priceRupiah: Int64 = 0
        var expiresAt: Int64 = .max
        /// Rupiah released to the provider over every claim on the offer.
        var paidToProvider: Int64 = 0
    }

    struct ClaimFacts: Sendable {
        var offer: String
        var portions: Int64
        var grams: Int64
        var live = true
        /// Grams claimed (before a pickup changes `grams`) and picked up.
        var claimedGrams: Int64 = 0
        var pickedUpGrams: Int64?
        var delivered = false
        /// A dispute on the claim was decided for the provider.
        var decidedForProvider = false
    }

    /// A completed rescue's own figures, for recomputing its mint.
    struct CompletionFacts: Sendable {
        var claim: String
        var at: Int64
        var provider: String
        var gramsCO2e: Int64
    }

    struct EscrowFacts: Sendable {
        var held: Int64
        var paidOut: Int64 = 0
        /// The part of `paidOut` released to the provider.
        var released: Int64 = 0
        var closings = 0
    }

    /// An auction as its `auction.started` event states it.
    struct AuctionFacts: Sendable {
        var offer: String
        var shape: PriceCurve.Shape
        var start: Int64
        var floor: Int64
        var duration: Int64
        var startedAt: Int64
        var endsAt: Int64
        var portions: Int64
        var sold: Int64 = 0
        var open = true
    }

    private var auctions: [String: AuctionFacts] = [:]
    /// Each group's members and portions, its deadline, and the shares of its claim by escrow.
    private var groupMembers: [String: [(member: String, portions: Int64)]] = [:]
    private var groupDeadlines: [String: Int64] = [:]
    private var groupClaims: [String: String] = [:]
    private var memberShares: [String: Int64] = [:]
    /// The price a sale fixed for the claim that follows it.
    private var salePrices: [String: Int64] = [:]
    private let disputeWindow: Int64
    private let freshnessThreshold: Int64
    /// Each device's holder and revocation time, every scan id attested, and the lowest score
    /// attested of each claim before it was handed over (FORMAT §7.14).
    private var deviceHolders: [String: String] = [:]
    private var deviceRevokedAt: [String: Int64] = [:]
    private var scanIDs: Set<String> = []
    private var lowestPickupScans: [String: Int64] = [:]
    /// POS (FORMAT §7.15): each connection's mapping, the vendor events synced, and the offer
    /// each mapped line must have produced (grams, portions, price), recomputed from the line.
    private let posPolicy: PosPolicy
    private var posMappings: [String: String] = [:]
    private var posEvents: Set<String> = []
    private var posOffers: [String: (grams: Int64, portions: Int64, priceRupiah: Int64)] = [:]
    /// Couriers (FORMAT §7.16): grams assigned per claim, each leg's stage by claim and courier,
    /// and the last delivery (whose points must follow it), recomputed here with 128-bit integers.
    private let logisticsPolicy: LogisticsPolicy
    private var assignedGrams: [String: Int64] = [:]
    private var legStages: [String: Int] = [:]
    private var lastDelivery: LogisticsBook.Delivery?
    private let carbonPolicy: CarbonPolicy
    private var companyOfSite: [String: String] = [:]
    private var completionFacts: [UInt64: CompletionFacts] = [:]
    private var carriedGrams: [String: Int64] = [:]
    private var mintedFromRescues: [String: Int64] = [:]
    /// Escrow id → claim id, and what each dispute was about.
    private var escrowClaims: [String: String] = [:]
    private var disputeReasons: [String: DisputeBook.Reason] = [:]
    private var offers: [String: OfferFacts] = [:]
    private var claims: [String: ClaimFacts] = [:]
    private var escrows: [String: EscrowFacts] = [:]
    private var serials: [SerialKey: SerialState] = [:]
    private var lastSerial: [Int: Int64] = [:]
    private var accounts: [String: CarbonRegistry.Account] = [:]
    private var completions: [UInt64: (claim: String, at: Int64)] = [:]
    private var counted: Set<UInt64> = []
    private var refundedClaims: Set<String> = []
    private var disputeClaims: [String: String] = [:]
    private var touchedOffers: Set<String> = []
    private var touchedEscrows: Set<String> = []
    private var touchedOwners: Set<String> = []
    /// Events observed so far.
    public private(set) var events = 0

    struct SerialKey: Hashable, Sendable {
        let vintage: Int
        let serial: Int64
    }

    public init(policy: RescuePolicy) {
        disputeWindow = policy.disputes.windowMicroseconds
        freshnessThreshold = policy.disputes.freshnessThreshold
        posPolicy = policy.pos
        logisticsPolicy = policy.logistics
        carbonPolicy = policy.carbon
    }

    /// A model that starts from `world` as it stands (a simulation continuing an existing
    /// ledger): what is already there is taken as given, and only later events are checked.
    public init(policy: RescuePolicy, startingFrom world: RescueWorld) {
        self.init(policy: policy)
        for offer in world.offers.offers.values {
            offers[offer.id] = OfferFacts(
                portions: offer.portions, grams: offer.grams, claimedPortions: offer.portions - offer.remainingPortions,
                claimedGrams: offer.grams - offer.remainingGrams, provider: offer.provider, priceRupiah: offer.priceRupiah, expiresAt: offer.expiresAt)
        }
        for claim in world.offers.claims.values {
            claims[claim.id] = ClaimFacts(
                offer: claim.offer, portions: claim.portions, grams: claim.grams, live: !claim.isCancelled, claimedGrams: claim.grams,
                pickedUpGrams: world.pickups[claim.id]?.grams, delivered: claim.status == .delivered)
        }
        for escrow in world.escrows.escrows.values {
            escrows[escrow.id] = EscrowFacts(held: escrow.heldRupiah, paidOut: escrow.releasedRupiah + escrow.refundedRupiah, closings: escrow.isClosed ? 1 : 0)
            escrowClaims[escrow.id] = escrow.claim
            if let offer = world.offers.claims[escrow.claim]?.offer { offers[offer]?.paidToProvider += escrow.releasedRupiah }
        }
        for group in world.groups.groups.values {
            groupMembers[group.id] = group.members.map { ($0.id, $0.portions) }
            groupDeadlines[group.id] = group.deadline
            groupClaims[group.id] = group.claim
        }
        for device in world.devices.devices.values {
            deviceHolders[device.id] = device.holder
            deviceRevokedAt[device.id] = device.revokedAt
        }
        scanIDs = Set(world.devices.attested)
        lowestPickupScans = world.devices.lowestPickupScore.dictionary
        for participant in world.participants.participants.values where participant.role == .site {
            companyOfSite[participant.id] = participant.company
        }
        carriedGrams = world.carbon.carriedGrams.dictionary
        mintedFromRescues = world.carbon.mintedFromRescues.dictionary
        for holding in world.carbon.holdings {
            let state: SerialState =
                switch holding.status {
                case .held(let owner): .held(owner)
                case .retired: .retired
                case .cancelled: .cancelled
                }
            for serial in holding.range.first...holding.range.last { serials[SerialKey(vintage: holding.range.vintage, serial: serial)] = state }
        }
        lastSerial = world.carbon.issued.mapValues { $0 }
        accounts = world.carbon.accounts.dictionary
        counted = world.carbon.countedRescues
        for rescue in world.rescues.values { completions[rescue.seq] = (rescue.completion.claim, rescue.completion.at) }
        for dispute in world.disputes.disputes.values {
            disputeClaims[dispute.id] = dispute.claim
            disputeReasons[dispute.id] = dispute.reason
            if let outcome = dispute.resolution?.outcome {
                if !outcome.keepsRescueCounted { refundedClaims.insert(dispute.claim) } else { claims[dispute.claim]?.decidedForProvider = true }
            }
        }
    }

    /// Checks one step's events (with their seqs and time) and then the entities they touched
    /// against `world`; returns every violation found.
    public mutating func observe(_ written: [RescueEvent], firstSeq: UInt64, time: Int64, world: RescueWorld) -> [String] {
        var violations = [String]()
        for (offset, event) in written.enumerated() {
            violations += observe(event, seq: firstSeq + UInt64(offset), time: time)
            events += 1
        }
        violations += compareTouched(with: world)
        return violations
    }

    private mutating func observe(_ event: RescueEvent, seq: UInt64, time: Int64) -> [String] {
        var violations = [String]()
        switch event {
        case .registered(let participant):
            if participant.role == .site { companyOfSite[participant.id] = participant.company }
        case .posted(let offer):
            if let expected = posOffers.removeValue(forKey: offer.id),
                expected != (offer.grams, offer.portions, offer.priceRupiah)
            {
                violations.append("offer \(offer.id) posted as \(offer.grams) g, \(offer.portions) portions, \(offer.priceRupiah) rupiah; its till line says \(expected)")
            }
            offers[offer.id] = OfferFacts(
                portions: offer.portions, grams: offer.grams, provider: offer.provider, priceRupiah: offer.priceRupiah, expiresAt: offer.expiresAt)
            touchedOffers.insert(offer.id)
        case .claimPlaced(let claim):
            guard var offer = offers[claim.offer] else { return ["claim \(claim.id) names an offer never posted"] }
            offer.claimedPortions += claim.portions
            offer.claimedGrams += claim.grams
            if offer.claimedPortions > offer.portions || offer.claimedGrams > offer.grams {
                violations.append("claim \(claim.id) takes offer \(claim.offer) beyond what was offered")
            }
            offers[claim.offer] = offer
            claims[claim.id] = ClaimFacts(offer: claim.offer, portions: claim.portions, grams: claim.grams, claimedGrams: claim.grams)
            let price = salePrices.removeValue(forKey: claim.id) ?? offer.priceRupiah
            if claim.priceRupiah != price { violations.append("claim \(claim.id) priced \(claim.priceRupiah), its offer or sale \(price)") }
            touchedOffers.insert(claim.offer)
        case .claimCancelled(let id):
            guard var claim = claims[id], claim.live else { return ["claim \(id) cancelled twice or never placed"] }
            claim.live = false
            claims[id] = claim
            offers[claim.offer]!.claimedPortions -= claim.portions
            offers[claim.offer]!.claimedGrams -= claim.grams
            touchedOffers.insert(claim.offer)
        case .pickedUp(let pickup):
            guard var claim = claims[pickup.claim] else { return ["pickup of unknown claim \(pickup.claim)"] }
            if pickup.grams > claim.grams { violations.append("pickup of \(pickup.claim) took more than was claimed") }
            offers[claim.offer]!.claimedPortions -= claim.portions - pickup.portions
            offers[claim.offer]!.claimedGrams -= claim.grams - pickup.grams
            claim.portions = pickup.portions
            claim.grams = pickup.grams
            claim.pickedUpGrams = pickup.grams
            claims[pickup.claim] = claim
            touchedOffers.insert(claim.offer)
        case .rescueCompleted(let completion):
            completions[seq] = (completion.claim, time)
            claims[completion.claim]?.delivered = true
            // A rescue counts exactly the grams that were picked up; its CO2e on the policy's
            // basis is what its mint must count.
            if let claim = claims[completion.claim], completion.gramsRescued != claim.pickedUpGrams {
                violations.append("rescue \(seq) counts \(completion.gramsRescued) g, \(claim.pickedUpGrams ?? 0) g were picked up")
            }
            completionFacts[seq] = CompletionFacts(
                claim: completion.claim, at: time, provider: completion.provider,
                gramsCO2e: carbonPolicy.basis == .lifecycle ? completion.lifecycleGramsCO2e : completion.downstreamGramsCO2e)
        case .escrowHeld(let escrow):
            if escrows[escrow.id] != nil { violations.append("escrow \(escrow.id) held twice") }
            if escrow.id != escrow.claim, memberShares[escrow.id] != escrow.heldRupiah {
                violations.append("member escrow \(escrow.id) holds \(escrow.heldRupiah), the member's share is \(memberShares[escrow.id] ?? 0)")
            }
            escrows[escrow.id] = EscrowFacts(held: escrow.heldRupiah)
            escrowClaims[escrow.id] = escrow.claim
            touchedEscrows.insert(escrow.id)
        case .escrowReleased(let id, let rupiah), .escrowRefunded(let id, let rupiah, _):
            guard var escrow = escrows[id] else { return ["escrow \(id) moved before it was held"] }
            if escrow.closings > 0 { violations.append("escrow \(id) moved after it closed") }
            if rupiah <= 0 { violations.append("escrow \(id) moved \(rupiah)") }
            escrow.paidOut += rupiah
            if escrow.paidOut > escrow.held { violations.append("escrow \(id) paid out \(escrow.paidOut) of \(escrow.held) held") }
            if case .escrowReleased = event, let claimID = escrowClaims[id], let claim = claims[claimID], var offer = offers[claim.offer] {
                escrow.released += rupiah
                violations += payment(rupiah, escrow: id, releasedSoFar: escrow.released, held: escrow.held, claim: claim, offer: &offer)
                offers[claim.offer] = offer
            }
            if escrow.paidOut == escrow.held { escrow.closings += 1 }
            escrows[id] = escrow
            touchedEscrows.insert(id)
        case .disputeOpened(let dispute):
            disputeClaims[dispute.id] = dispute.claim
            disputeReasons[dispute.id] = dispute.reason
            violations += fits(dispute, time: time)
        case .disputeResolved(let id, let resolution):
            guard let claim = disputeClaims[id] else { return ["dispute \(id) resolved before it was opened"] }
            if !resolution.outcome.keepsRescueCounted { refundedClaims.insert(claim) } else { claims[claim]?.decidedForProvider = true }
            // Only a score a device signed before the food was handed over decides (FORMAT §7.14).
            if resolution.rule == "auto.freshnessBelowThreshold", (lowestPickupScans[claim] ?? .max) >= freshnessThreshold {
                violations.append("dispute \(id) refunded for freshness without an attested score below \(freshnessThreshold)")
            }
            let stillHeld = stillHeld(ofClaim: claim)
            if resolution.refundRupiah > stillHeld { violations.append("dispute \(id) states a refund of \(resolution.refundRupiah), only \(stillHeld) is held") }
            if resolution.outcome == .noRefundRelist, claims[claim]?.pickedUpGrams != nil { violations.append("dispute \(id) relists food that was picked up") }
            if let counted = completions.first(where: { $0.value.claim == claim && counted.contains($0.key) }) {
                if resolution.outcome != .noRefund { violations.append("rescue \(counted.key) was refunded after its tokens were minted") }
            }
        case .carbonMinted(let minted):
            if !counted.insert(minted.rescue).inserted { violations.append("rescue \(minted.rescue) counted twice") }
            violations += recompute(minted)
            if let completion = completions[minted.rescue] {
                if time < completion.at + disputeWindow { violations.append("rescue \(minted.rescue) counted before its dispute window closed") }
                if refundedClaims.contains(completion.claim) { violations.append("rescue \(minted.rescue) counted although refunded") }
            } else {
                violations.append("mint for \(minted.rescue), which is not a completed rescue")
            }
            for (range, owner) in [(minted.range, minted.company), (minted.buffer, CarbonRegistry.bufferAccount)] {
                guard let range else { continue }
                if range.first != (lastSerial[range.vintage] ?? 0) + 1 { violations.append("serials of \(range.vintage) skip or repeat at \(range)") }
                lastSerial[range.vintage] = range.last
                for serial in range.first...range.last {
                    if serials.updateValue(.held(owner), forKey: SerialKey(vintage: range.vintage, serial: serial)) != nil {
                        violations.append("serial \(range.vintage)-\(serial) issued twice")
                    }
                }
                accounts[owner, default: .init()].minted += range.count
                touchedOwners.insert(owner)
            }
        case .carbonTransferred(let from, let to, let range):
            violations += move(range, from: from, to: .held(to))
            accounts[from, default: .init()].sent += range.count
            accounts[to, default: .init()].received += range.count
            touchedOwners.formUnion([from, to])
        case .carbonRetired(let owner, let range, _, _):
            violations += move(range, from: owner, to: .retired)
            accounts[owner, default: .init()].retired += range.count
            touchedOwners.insert(owner)
        case .carbonCancelled(let owner, let range, _):
            violations += move(range, from: owner, to: .cancelled)
            accounts[owner, default: .init()].cancelled += range.count
            touchedOwners.insert(owner)
        case .auctionStarted(let auction):
            guard let offer = offers[auction.offer] else { return ["auction \(auction.id) on an offer never posted"] }
            if auctions[auction.id] != nil { violations.append("auction \(auction.id) started twice") }
            if auctions.values.contains(where: { $0.offer == auction.offer && $0.open }) { violations.append("offer \(auction.offer) under two auctions") }
            if auction.curve.startRupiah > offer.priceRupiah || auction.curve.floorRupiah >= auction.curve.startRupiah {
                violations.append("auction \(auction.id) from \(auction.curve.startRupiah) to \(auction.curve.floorRupiah) on an offer priced \(offer.priceRupiah)")
            }
            if auction.endsAt > offer.expiresAt || time + auction.curve.durationMicroseconds > offer.expiresAt {
                violations.append("auction \(auction.id) outlasts its food")
            }
            if auction.portions != offer.portions - offer.claimedPortions { violations.append("auction \(auction.id) lot is not what remained") }
            auctions[auction.id] = AuctionFacts(
                offer: auction.offer, shape: auction.curve.shape, start: auction.curve.startRupiah, floor: auction.curve.floorRupiah,
                duration: auction.curve.durationMicroseconds, startedAt: time, endsAt: auction.endsAt, portions: auction.portions)
        case .auctionSold(let sale):
            guard var auction = auctions[sale.auction] else { return ["sale in auction \(sale.auction), never started"] }
            if !auction.open { violations.append("auction \(sale.auction) sold after it closed (a second winner)") }
            if time >= auction.endsAt { violations.append("auction \(sale.auction) sold at or after its end") }
            if sale.elapsedMicroseconds != time - auction.startedAt { violations.append("sale in \(sale.auction) states \(sale.elapsedMicroseconds) µs elapsed") }
            let lotPrice = Self.price(auction, elapsed: time - auction.startedAt)
            if sale.lotPriceRupiah != lotPrice { violations.append("auction \(sale.auction) sold at \(sale.lotPriceRupiah), the curve says \(lotPrice)") }
            if lotPrice <= auction.floor { violations.append("auction \(sale.auction) sold at its floor") }
            let share = (Int128(lotPrice) * Int128(sale.portions) + Int128(auction.portions) - 1) / Int128(auction.portions)
            if Int128(sale.priceRupiah) != share { violations.append("sale in \(sale.auction) charges \(sale.priceRupiah) for \(sale.portions) of \(auction.portions) portions, not \(share)") }
            auction.sold += sale.portions
            if auction.sold > auction.portions { violations.append("auction \(sale.auction) sold \(auction.sold) of \(auction.portions) portions") }
            if auction.sold >= auction.portions { auction.open = false }
            auctions[sale.auction] = auction
            salePrices[sale.claim] = sale.priceRupiah
        case .auctionConverted(let id, let offer, _, _, _):
            guard let auction = auctions[id], auction.open else { return ["auction \(id) converted but not open"] }
            if time < auction.endsAt { violations.append("auction \(id) converted before its end") }
            auctions[id]!.open = false
            offers[offer]?.priceRupiah = 0
        case .auctionCancelled(let id, _, _):
            guard auctions[id]?.open == true else { return ["auction \(id) cancelled but not open"] }
            auctions[id]!.open = false
        case .groupFormed(let group):
            groupMembers[group.id] = []
            groupDeadlines[group.id] = group.deadline
        case .groupJoined(let group, let member):
            groupMembers[group, default: []].append((member.id, member.portions))
        case .groupLeft(let group, let member, _, let reason):
            if reason == .left {
                if groupClaims[group] != nil { violations.append("member \(member) left group \(group) after its claim") }
                groupMembers[group]?.removeAll { $0.member == member }
            }
        case .groupClaimed(let plan):
            violations += checkGroupClaim(plan, time: time)
        case .groupExpired(let group, _):
            if time < groupDeadlines[group] ?? .max { violations.append("group \(group) expired before its deadline") }
            if groupClaims[group] != nil { violations.append("group \(group) expired after claiming") }
        case .groupClosed(let group):
            guard let claim = groupClaims[group] else { return ["group \(group) closed without a claim"] }
            for (id, facts) in escrows where escrowClaims[id] == claim && facts.closings != 1 {
                violations.append("group \(group) closed while escrow \(id) has closed \(facts.closings) times")
            }
        case .deviceRegistered(let device):
            if deviceHolders.updateValue(device.holder, forKey: device.id) != nil { violations.append("device \(device.id) registered twice") }
        case .deviceRevoked(let device, _):
            if deviceRevokedAt.updateValue(time, forKey: device) != nil { violations.append("device \(device) revoked twice") }
        case .scanAttested(let scan):
            violations += checkScan(scan, time: time)
        case .courierOffered, .courierDeclined:
            break
        case .courierAssigned(let claim, let courier, let grams, _):
            assignedGrams[claim, default: 0] += grams
            if let claimed = claims[claim]?.grams, assignedGrams[claim]! > claimed {
                violations.append("claim \(claim) of \(claimed) g has \(assignedGrams[claim]!) g assigned to couriers")
            }
            if legStages.updateValue(1, forKey: claim + "/" + courier).map({ $0 < 3 }) == true { violations.append("courier \(courier) given a second leg of \(claim)") }
        case .courierPickedUp(let claim, let courier, _):
            if legStages[claim + "/" + courier] != 1 { violations.append("courier \(courier) picked up \(claim) without an open leg") }
            legStages[claim + "/" + courier] = 2
        case .courierDelivered(let delivery):
            if legStages[delivery.claim + "/" + delivery.courier] != 2 { violations.append("courier \(delivery.courier) delivered \(delivery.claim) before picking it up") }
            legStages[delivery.claim + "/" + delivery.courier] = 3
            lastDelivery = delivery
        case .pointsAwarded(let award):
            violations += checkPoints(award)
        case .posConnected(let connection):
            posMappings[connection.id] = connection.mapping
        case .posSynced(let synced):
            violations += checkSync(synced)
        case .matchOffered, .matchDeclined, .matchExpired, .deliveryConfirmed, .policyActivated:
            break
        }
        return violations
    }

    /// Points: only right after the delivery they reward, never to the logistics provider, and
    /// recomputed from the delivery's own figures.
    private mutating func checkPoints(_ award: LogisticsBook.Award) -> [String] {
        guard let delivery = lastDelivery, delivery.claim == award.claim, delivery.courier == award.courier else {
            return ["points for \(award.courier) on \(award.claim) without its delivery"]
        }
        lastDelivery = nil
        let policy = logisticsPolicy
        if award.courier == policy.providerCourier { return ["points awarded to the logistics provider"] }
        let kg = Int128(policy.perKg) * Int128(delivery.grams) / 1_000
        let km = Int128(policy.perKm) * Int128(delivery.distanceMetres) / 1_000
        let cold = delivery.coldChain ? Int128(policy.coldChainBonus) : 0
        let near = delivery.minutesBeforeExpiry < policy.nearExpiryMinutes ? Int128(policy.nearExpiryBonus) : 0
        guard Int128(award.kgPoints) == kg, Int128(award.kmPoints) == km, Int128(award.coldChainPoints) == cold, Int128(award.nearExpiryPoints) == near else {
            return ["points for \(award.courier) on \(award.claim): \(award), the policy gives \(kg) + \(km) + \(cold) + \(near)"]
        }
        return []
    }

    /// A till's report: synced once per vendor event; each mapped line's grams and price
    /// recomputed from the quantity and unit figures it records, by its mapping's outcome.
    private mutating func checkSync(_ synced: PosBook.Synced) -> [String] {
        var violations = [String]()
        if !posEvents.insert(synced.connection + "/" + synced.vendorEvent).inserted { violations.append("vendor event \(synced.vendorEvent) synced twice") }
        guard let name = posMappings[synced.connection], let mapping = posPolicy.mappings[name] else {
            return violations + ["sync on connection \(synced.connection), never connected"]
        }
        for line in synced.lines {
            guard let offer = line.offer else {
                if line.skipped == .belowMinimum && line.quantity >= mapping.minPortions { violations.append("line \(line.sku) skipped although above the minimum") }
                continue
            }
            let full = Int128(line.quantity) * Int128(line.priceRupiahEach)
            let price: Int128 =
                switch mapping.outcome {
                case .donation: 0
                case .fixedPrice: full * Int128(100 - mapping.discountPercent) / 100
                case .auction: full
                }
            let grams = Int128(line.quantity) * Int128(line.gramsEach)
            if Int128(line.grams ?? -1) != grams || Int128(line.priceRupiah ?? -1) != price {
                violations.append("line \(line.sku) of \(synced.vendorEvent) maps to \(line.grams ?? -1) g at \(line.priceRupiah ?? -1), not \(grams) g at \(price)")
            }
            if line.quantity < mapping.minPortions { violations.append("line \(line.sku) below the minimum became offer \(offer)") }
            posOffers[offer] = (Int64(grams), line.quantity, Int64(price))
        }
        return violations
    }

    /// A scan: from a registered device not revoked, never seen before, within 0…100, of a claim
    /// at stage `pickup` only before its pickup.
    private mutating func checkScan(_ scan: DeviceBook.Scan, time: Int64) -> [String] {
        var violations = [String]()
        if deviceHolders[scan.device] == nil { violations.append("scan \(scan.id) by device \(scan.device), never registered") }
        if let revokedAt = deviceRevokedAt[scan.device], time >= revokedAt { violations.append("scan \(scan.id) attested after device \(scan.device) was revoked") }
        if !scanIDs.insert(scan.id).inserted { violations.append("scan \(scan.id) attested twice") }
        if !(0...100).contains(scan.score) { violations.append("scan \(scan.id) scores \(scan.score)") }
        if case .claim(let claim) = scan.subject, scan.stage == .pickup {
            if claims[claim]?.pickedUpGrams != nil { violations.append("scan \(scan.id) at stage pickup after claim \(claim) was picked up") }
            lowestPickupScans[claim] = min(lowestPickupScans[claim] ?? .max, scan.score)
        }
        return violations
    }

    /// A group claim: its price and every member's share, recomputed from the offer, the members
    /// who joined and the largest-remainder rule (FORMAT §7.13), with 128-bit integers.
    private mutating func checkGroupClaim(_ plan: GroupBook.ClaimPlan, time: Int64) -> [String] {
        var violations = [String]()
        let members = groupMembers[plan.group] ?? []
        if time >= groupDeadlines[plan.group] ?? .max { violations.append("group \(plan.group) claimed after its deadline") }
        if groupClaims.updateValue(plan.claim, forKey: plan.group) != nil { violations.append("group \(plan.group) claimed twice") }
        guard let offer = offers[plan.offer] else { return violations + ["group \(plan.group) claimed an offer never posted"] }
        let portions = members.reduce(Int64(0)) { $0 + $1.portions }
        let price = Int128(offer.priceRupiah) * Int128(portions) / Int128(offer.portions)
        if plan.portions != portions || Int128(plan.priceRupiah) != price {
            violations.append("group \(plan.group) claims \(plan.portions) portions for \(plan.priceRupiah), its members \(portions) for \(price)")
        }
        if plan.shares.map(\.member) != members.map(\.member) || plan.shares.map(\.portions) != members.map(\.portions) {
            violations.append("group \(plan.group)'s shares are not its members in joining order")
        }
        if plan.shares.reduce(Int64(0), { $0 + $1.rupiah }) != plan.priceRupiah { violations.append("group \(plan.group)'s shares do not sum to its price") }
        // Largest remainder: floors first, then one rupiah each to the largest remainders, earlier first.
        let total = Int128(plan.priceRupiah), weight = Int128(max(1, portions))
        var floors = members.map { total * Int128($0.portions) / weight }
        let order = members.indices.sorted { a, b in
            let (ra, rb) = (total * Int128(members[a].portions) % weight, total * Int128(members[b].portions) % weight)
            return ra != rb ? ra > rb : a < b
        }
        for index in order.prefix(Int(total - floors.reduce(0, +))) { floors[index] += 1 }
        if plan.shares.map({ Int128($0.rupiah) }) != floors { violations.append("group \(plan.group)'s shares \(plan.shares.map(\.rupiah)) are not the largest-remainder split \(floors)") }
        for share in plan.shares where share.rupiah > 0 { memberShares[GroupBook.ClaimPlan.escrowID(claim: plan.claim, member: share.member)] = share.rupiah }
        salePrices[plan.claim] = plan.priceRupiah
        return violations
    }

    /// What a claim's escrows (its own, or its members') still hold.
    private func stillHeld(ofClaim claim: String) -> Int64 {
        escrows.reduce(0) { total, item in escrowClaims[item.key] == claim ? total + item.value.held - item.value.paidOut : total }
    }

    /// The lot price `elapsed` µs into an auction, from FORMAT §7.12's table, in 128-bit integers.
    static func price(_ auction: AuctionFacts, elapsed: Int64) -> Int64 {
        if elapsed <= 0 { return auction.start }
        if elapsed >= auction.duration { return auction.floor }
        let (p0, f, e, t) = (Int128(auction.start), Int128(auction.floor), Int128(elapsed), Int128(auction.duration))
        let d = p0 - f
        let price: Int128
        switch auction.shape {
        case .linear:
            price = p0 - d * e / t
        case .steps(let step, let permille):
            price = max(f, p0 - (e / Int128(step)) * (d * Int128(permille) / 1_000))
        case .exponential(let halfLife):
            let h = Int128(halfLife)
            let k = e / h
            let a = k >= 127 ? 0 : d >> k
            let b = k >= 126 ? 0 : d >> (k + 1)
            price = f + a - (a - b) * (e % h) / h
        }
        return Int64(price)
    }

    /// A release to the provider: never more than the offer's price in all, nor more than the
    /// price's share for the grams picked up, nor anything for food nobody took unless a
    /// dispute was decided for the provider.
    private func payment(_ rupiah: Int64, escrow: String, releasedSoFar: Int64, held: Int64, claim: ClaimFacts, offer: inout OfferFacts) -> [String] {
        var violations = [String]()
        offer.paidToProvider += rupiah
        if offer.paidToProvider > offer.priceRupiah {
            violations.append("offer \(claim.offer) paid its provider \(offer.paidToProvider), its price is \(offer.priceRupiah)")
        }
        if let picked = claim.pickedUpGrams {
            let due = held.multiplied(by: picked, dividedBy: max(1, claim.claimedGrams)) ?? held
            if releasedSoFar > due {
                violations.append("escrow \(escrow) released \(releasedSoFar) for \(picked) of \(claim.claimedGrams) g, at most \(due) is due")
            }
        } else if !claim.decidedForProvider {
            violations.append("escrow \(escrow) released \(rupiah) for food nobody picked up, without a dispute decided for the provider")
        }
        return violations
    }

    /// Whether a dispute fits its reason: who opens it is the engine's check; when, and on
    /// which claim, is recomputed here.
    private func fits(_ dispute: DisputeBook.Dispute, time: Int64) -> [String] {
        guard let claim = claims[dispute.claim], let offer = offers[claim.offer] else { return ["dispute \(dispute.id) on an unknown claim"] }
        var violations = [String]()
        switch dispute.reason {
        case .claimantNoShow:
            if time < offer.expiresAt { violations.append("claimant no-show \(dispute.id) opened before the offer expired") }
            if claim.pickedUpGrams != nil { violations.append("claimant no-show \(dispute.id) on food that was picked up") }
        case .providerNoShow:
            if claim.pickedUpGrams != nil { violations.append("provider no-show \(dispute.id) on food that was picked up") }
        case .spoiled, .notAsDescribed, .safety:
            if claim.pickedUpGrams == nil { violations.append("dispute \(dispute.id) about food nobody picked up") }
        }
        let stillHeld = stillHeld(ofClaim: dispute.claim)
        if dispute.heldRupiah != stillHeld { violations.append("dispute \(dispute.id) says \(dispute.heldRupiah) is held, the escrow holds \(stillHeld)") }
        if !claim.live { violations.append("dispute \(dispute.id) on a cancelled claim") }
        return violations
    }

    /// Recomputes a mint from the carbon policy and the rescue's own figures: the company (a
    /// site's company), the CO2e on the policy's basis, whole tokens from the company's running
    /// remainder, the buffer's share of everything minted from its rescues, the carry-over.
    private mutating func recompute(_ minted: Minted) -> [String] {
        guard let rescue = completionFacts[minted.rescue] else { return [] }
        var violations = [String]()
        let company = companyOfSite[rescue.provider] ?? rescue.provider
        if minted.company != company { violations.append("mint for rescue \(minted.rescue) credits \(minted.company), the provider's company is \(company)") }
        if minted.gramsCO2e != rescue.gramsCO2e { violations.append("mint for rescue \(minted.rescue) counts \(minted.gramsCO2e) g CO2e, the rescue \(rescue.gramsCO2e)") }
        let total = (carriedGrams[company] ?? 0) + rescue.gramsCO2e
        let tokens = total / carbonPolicy.tokenGrams
        let before = mintedFromRescues[company] ?? 0
        let buffer = (before + tokens) * carbonPolicy.bufferPercent / 100 - before * carbonPolicy.bufferPercent / 100
        if (minted.range?.count ?? 0) != tokens - buffer || (minted.buffer?.count ?? 0) != buffer {
            violations.append("mint for rescue \(minted.rescue): \(minted.range?.count ?? 0) + \(minted.buffer?.count ?? 0) buffer tokens, the policy gives \(tokens - buffer) + \(buffer)")
        }
        if minted.carriedGrams != total - tokens * carbonPolicy.tokenGrams {
            violations.append("mint for rescue \(minted.rescue) carries \(minted.carriedGrams) g, the policy \(total - tokens * carbonPolicy.tokenGrams)")
        }
        if minted.vintage != RescueWorld.year(ofMicroseconds: rescue.at) { violations.append("mint for rescue \(minted.rescue) has vintage \(minted.vintage)") }
        carriedGrams[company] = minted.carriedGrams
        mintedFromRescues[company] = before + (minted.range?.count ?? 0) + (minted.buffer?.count ?? 0)
        return violations
    }

    private mutating func move(_ range: SerialRange, from owner: String, to state: SerialState) -> [String] {
        for serial in range.first...range.last {
            let key = SerialKey(vintage: range.vintage, serial: serial)
            guard serials[key] == .held(owner) else { return ["\(range) moved by \(owner), who does not hold serial \(serial) (\(String(describing: serials[key])))"] }
            serials[key] = state
        }
        return []
    }

    private func balance(of owner: String) -> Int64 {
        let account = accounts[owner] ?? .init()
        return account.minted + account.received - account.sent - account.retired - account.cancelled
    }

    private mutating func compareTouched(with world: RescueWorld) -> [String] {
        defer {
            touchedOffers.removeAll(keepingCapacity: true)
            touchedEscrows.removeAll(keepingCapacity: true)
            touchedOwners.removeAll(keepingCapacity: true)
        }
        return compare(offers: touchedOffers, escrows: touchedEscrows, owners: touchedOwners, with: world)
    }

    /// Compares everything the model knows with `world` (run at the end of a simulation).
    public func compareAll(with world: RescueWorld) -> [String] {
        var violations = compare(offers: Set(offers.keys), escrows: Set(escrows.keys), owners: Set(accounts.keys), with: world)
        violations += world.invariantViolations()
        let heldSerials = serials.values.reduce(into: [String: Int64]()) { totals, state in
            if case .held(let owner) = state { totals[owner, default: 0] += 1 }
        }
        for (owner, count) in heldSerials where count != balance(of: owner) {
            violations.append("\(owner) holds \(count) serials but its movements say \(balance(of: owner))")
        }
        return violations
    }

    private func compare(offers offerIDs: Set<String>, escrows escrowIDs: Set<String>, owners: Set<String>, with world: RescueWorld) -> [String] {
        var violations = [String]()
        for id in offerIDs {
            guard let model = offers[id], let offer = world.offers.offers[id] else { continue }
            if offer.remainingPortions != model.portions - model.claimedPortions || offer.remainingGrams != model.grams - model.claimedGrams {
                violations.append("offer \(id): engine says \(offer.remainingPortions) portions / \(offer.remainingGrams) g left, model says \(model.portions - model.claimedPortions) / \(model.grams - model.claimedGrams)")
            }
        }
        for id in escrowIDs {
            guard let model = escrows[id], let escrow = world.escrows.escrows[id] else { continue }
            if escrow.openRupiah != model.held - model.paidOut { violations.append("escrow \(id): engine holds \(escrow.openRupiah), model \(model.held - model.paidOut)") }
        }
        for owner in owners where world.carbon.balance(of: owner) != balance(of: owner) {
            violations.append("\(owner): engine balance \(world.carbon.balance(of: owner)), model \(balance(of: owner))")
        }
        return violations
    }
}
