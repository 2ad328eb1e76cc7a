/// An independent model of what the rules promise, built only from the events written (never
/// from the engines' state), and compared with the engines after every step:
/// - no claim takes more than is left of its offer;
/// - an escrow never pays out more than it held, and closes exactly once;
/// - a rescue's CO2e is counted once, only after its dispute window, and never when refunded;
/// - every serial is issued once and contiguously, has one owner at a time, and a retired or
///   cancelled serial never moves again;
/// - every company's balance equals minted + received − sent − retired − cancelled.
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
    }

    struct ClaimFacts: Sendable {
        var offer: String
        var portions: Int64
        var grams: Int64
        var live = true
    }

    struct EscrowFacts: Sendable {
        var held: Int64
        var paidOut: Int64 = 0
        var closings = 0
    }

    private let disputeWindow: Int64
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

    public init(policy: RescuePolicy) { disputeWindow = policy.disputes.windowMicroseconds }

    /// A model that starts from `world` as it stands (a simulation continuing an existing
    /// ledger): what is already there is taken as given, and only later events are checked.
    public init(policy: RescuePolicy, startingFrom world: RescueWorld) {
        self.init(policy: policy)
        for offer in world.offers.offers.values {
            offers[offer.id] = OfferFacts(
                portions: offer.portions, grams: offer.grams, claimedPortions: offer.portions - offer.remainingPortions,
                claimedGrams: offer.grams - offer.remainingGrams)
        }
        for claim in world.offers.claims.values {
            claims[claim.id] = ClaimFacts(offer: claim.offer, portions: claim.portions, grams: claim.grams, live: !claim.isCancelled)
        }
        for escrow in world.escrows.escrows.values {
            escrows[escrow.id] = EscrowFacts(held: escrow.heldRupiah, paidOut: escrow.releasedRupiah + escrow.refundedRupiah, closings: escrow.isClosed ? 1 : 0)
        }
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
        accounts = world.carbon.accounts
        counted = world.carbon.countedRescues
        for rescue in world.rescues.values { completions[rescue.seq] = (rescue.completion.claim, rescue.completion.at) }
        for dispute in world.disputes.disputes.values {
            disputeClaims[dispute.id] = dispute.claim
            if let outcome = dispute.resolution?.outcome, outcome != .noRefund && outcome != .noRefundRelist { refundedClaims.insert(dispute.claim) }
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
        case .posted(let offer):
            offers[offer.id] = OfferFacts(portions: offer.portions, grams: offer.grams)
            touchedOffers.insert(offer.id)
        case .claimPlaced(let claim):
            guard var offer = offers[claim.offer] else { return ["claim \(claim.id) names an offer never posted"] }
            offer.claimedPortions += claim.portions
            offer.claimedGrams += claim.grams
            if offer.claimedPortions > offer.portions || offer.claimedGrams > offer.grams {
                violations.append("claim \(claim.id) takes offer \(claim.offer) beyond what was offered")
            }
            offers[claim.offer] = offer
            claims[claim.id] = ClaimFacts(offer: claim.offer, portions: claim.portions, grams: claim.grams)
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
            claims[pickup.claim] = claim
            touchedOffers.insert(claim.offer)
        case .rescueCompleted(let completion):
            completions[seq] = (completion.claim, time)
        case .escrowHeld(let escrow):
            if escrows[escrow.id] != nil { violations.append("escrow \(escrow.id) held twice") }
            escrows[escrow.id] = EscrowFacts(held: escrow.heldRupiah)
            touchedEscrows.insert(escrow.id)
        case .escrowReleased(let id, let rupiah), .escrowRefunded(let id, let rupiah, _):
            guard var escrow = escrows[id] else { return ["escrow \(id) moved before it was held"] }
            if escrow.closings > 0 { violations.append("escrow \(id) moved after it closed") }
            if rupiah <= 0 { violations.append("escrow \(id) moved \(rupiah)") }
            escrow.paidOut += rupiah
            if escrow.paidOut > escrow.held { violations.append("escrow \(id) paid out \(escrow.paidOut) of \(escrow.held) held") }
            if escrow.paidOut == escrow.held { escrow.closings += 1 }
            escrows[id] = escrow
            touchedEscrows.insert(id)
        case .disputeOpened(let dispute):
            disputeClaims[dispute.id] = dispute.claim
        case .disputeResolved(let id, let resolution):
            guard let claim = disputeClaims[id] else { return ["dispute \(id) resolved before it was opened"] }
            if resolution.outcome != .noRefund && resolution.outcome != .noRefundRelist { refundedClaims.insert(claim) }
            if let counted = completions.first(where: { $0.value.claim == claim && counted.contains($0.key) }) {
                if resolution.outcome != .noRefund { violations.append("rescue \(counted.key) was refunded after its tokens were minted") }
            }
        case .carbonMinted(let minted):
            if !counted.insert(minted.rescue).inserted { violations.append("rescue \(minted.rescue) counted twice") }
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
        case .registered, .matchOffered, .matchDeclined, .matchExpired, .deliveryConfirmed, .policyActivated:
            break
        }
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
