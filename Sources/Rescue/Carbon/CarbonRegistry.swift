/// The carbon registry as a pure state machine: `decide` turns a command into the event it
/// causes or a rejection (and changes nothing); `apply` folds an event into the state, the same
/// way live and when replaying the ledger. Quantities are integers (grams CO2e, whole tokens).
public struct CarbonRegistry: Sendable, Equatable {
    /// The account that receives each mint's buffer share.
    public static let bufferAccount = "buffer"

    /// Who holds a serial range, or what ended it.
    public enum Status: Hashable, Sendable {
        case held(by: String)
        case retired
        case cancelled
    }

    public struct Holding: Hashable, Sendable {
        public var range: SerialRange
        public var status: Status

        public init(range: SerialRange, status: Status) {
            self.range = range
            self.status = status
        }
    }

    /// Per-company running totals, in tokens.
    public struct Account: Hashable, Sendable {
        public var minted: Int64 = 0
        public var received: Int64 = 0
        public var sent: Int64 = 0
        public var retired: Int64 = 0
        public var cancelled: Int64 = 0
        /// What the totals say the company holds.
        public var expectedBalance: Int64 { minted + received - sent - retired - cancelled }
    }

    /// Every issued serial, in order, in disjoint holdings.
    private(set) var holdingList = HoldingList()
    /// Every holding in serial order (a copy: O(holdings)).
    public var holdings: [Holding] { holdingList.all }
    public var holdingCount: Int { holdingList.count }
    /// The last serial issued per vintage.
    public private(set) var issued: [Int: Int64] = [:]
    /// Grams CO2e counted but not yet minted, per company, and the rescues they come from.
    public private(set) var carriedGrams: IDTable<Int64> = [:]
    public private(set) var carriedRescues: IDTable<[UInt64]> = [:]
    /// Rescues (by the seq of their `rescue.completed` entry) whose CO2e has been counted.
    public private(set) var countedRescues: Set<UInt64> = []
    public private(set) var accounts: IDTable<Account> = [:]
    /// Tokens ever minted from each company's rescues, its own and the buffer's share together:
    /// the buffer's share is taken from this running total, so small mints contribute too.
    public private(set) var mintedFromRescues: IDTable<Int64> = [:]

    public init() {}

    // MARK: Deciding

    public func decide(_ command: CarbonCommand, policy: CarbonPolicy) -> Result<CarbonEvent, CarbonRejection> {
        switch command {
        case .countRescue(let company, let rescue, let grams, let vintage):
            return decideCounts([RescueCount(company: company, rescue: rescue, gramsCO2e: grams, vintage: vintage)], policy: policy)
                .map { $0[0] }
        case .transfer(let from, let to, let range):
            guard from != to else { return .failure(.transferToSelf) }
            return holdingCheck(range, actor: from).map { _ in .transferred(from: from, to: to, range: range) }
        case .retire(let owner, let range, let beneficiary, let reason):
            guard !beneficiary.isEmpty else { return .failure(.beneficiaryMissing) }
            // The public retirement register republishes both fields forever: the beneficiary
            // is an id (a participant, or a person's vault subject), the reason a code.
            guard InputDomain.isID(beneficiary) else { return .failure(.beneficiaryIsNotAnID) }
            guard !reason.isEmpty else { return .failure(.reasonMissing) }
            guard RetirementReason(rawValue: reason) != nil else { return .failure(.reasonIsNotACode) }
            return holdingCheck(range, actor: owner).map { _ in .retired(owner: owner, range: range, beneficiary: beneficiary, reason: reason) }
        case .cancel(let owner, let range, let reason):
            guard !reason.isEmpty else { return .failure(.reasonMissing) }
            guard CancellationReason(rawValue: reason) != nil else { return .failure(.reasonIsNotACode) }
            return holdingCheck(range, actor: owner).map { _ in .cancelled(owner: owner, range: range, reason: reason) }
        }
    }

    /// Counts several rescues in order, as if each mint were applied before the next is decided
    /// (one company's carry-over and one vintage's serials run on from one count to the next).
    public func decideCounts(_ counts: [RescueCount], policy: CarbonPolicy) -> Result<[CarbonEvent], CarbonRejection> {
        var carried: [String: (grams: Int64, rescues: [UInt64])] = [:]
        var issuedNow: [Int: Int64] = [:]
        var mintedNow: [String: Int64] = [:]
        var countedNow = Set<UInt64>()
        var events = [CarbonEvent]()
        events.reserveCapacity(counts.count)
        for count in counts {
            let company = count.company
            guard count.gramsCO2e >= 0 else { return .failure(.gramsMustNotBeNegative) }
            guard !countedRescues.contains(count.rescue), countedNow.insert(count.rescue).inserted else { return .failure(.rescueAlreadyCounted) }
            guard company != Self.bufferAccount else { return .failure(.bufferCannotEarnTokens) }
            let before = carried[company] ?? (carriedGrams[company] ?? 0, carriedRescues[company] ?? [])
            let total = before.grams + count.gramsCO2e
            let tokens = total / policy.tokenGrams
            let mintedBefore = mintedNow[company] ?? mintedFromRescues[company] ?? 0
            let buffer = (mintedBefore + tokens) * policy.bufferPercent / 100 - mintedBefore * policy.bufferPercent / 100
            let next = (issuedNow[count.vintage] ?? issued[count.vintage] ?? 0) + 1
            let bufferStart = next + tokens - buffer
            let minted = Minted(
                company: company, vintage: count.vintage, range: SerialRange(vintage: count.vintage, first: next, last: bufferStart - 1),
                buffer: SerialRange(vintage: count.vintage, first: bufferStart, last: next + tokens - 1), rescue: count.rescue,
                basedOn: tokens > 0 ? before.rescues + [count.rescue] : [], gramsCO2e: count.gramsCO2e,
                carriedGrams: total - tokens * policy.tokenGrams, basis: policy.basis)
            carried[company] = (minted.carriedGrams, Self.carriedRescues(after: minted, before: before.rescues))
            issuedNow[count.vintage] = next + tokens - 1
            mintedNow[company] = mintedBefore + tokens
            events.append(.minted(minted))
        }
        return .success(events)
    }

    /// The rescues a company's remainder rests on after a mint. A remainder after a mint that
    /// issued tokens is always part of the rescue just counted (it is smaller than that rescue's
    /// grams), so it is the only one carried on.
    private static func carriedRescues(after minted: Minted, before: [UInt64]) -> [UInt64] {
        if minted.basedOn.isEmpty { return before + [minted.rescue] }
        return minted.carriedGrams > 0 ? [minted.rescue] : []
    }

    /// The range must lie inside one holding, and that holding must be the actor's.
    private func holdingCheck(_ range: SerialRange, actor: String) -> Result<HoldingList.Position, CarbonRejection> {
        guard let position = holdingList.position(containing: range) else { return .failure(.rangeNotIssuedAsOneHolding) }
        switch holdingList[position].status {
        case .retired: return .failure(.serialAlreadyRetired)
        case .cancelled: return .failure(.serialAlreadyCancelled)
        case .held(let owner) where owner != actor: return .failure(.rangeNotHeldByActor)
        case .held: return .success(position)
        }
    }

    // MARK: Applying

    /// Folds an event in. Events come from `decide` or from the ledger, so they are valid;
    /// a violated precondition here is a programmer error.
    public mutating func apply(_ event: CarbonEvent) {
        switch event {
        case .minted(let minted):
            countedRescues.insert(minted.rescue)
            carriedGrams[minted.company] = minted.carriedGrams
            carriedRescues[minted.company] = Self.carriedRescues(after: minted, before: carriedRescues[minted.company] ?? [])
            mintedFromRescues[minted.company, default: 0] += (minted.range?.count ?? 0) + (minted.buffer?.count ?? 0)
            for (range, owner) in [(minted.range, minted.company), (minted.buffer, Self.bufferAccount)] {
                guard let range else { continue }
                precondition(range.first == (issued[range.vintage] ?? 0) + 1, "serials are issued contiguously")
                issued[range.vintage] = range.last
                holdingList.insert(Holding(range: range, status: .held(by: owner)))
                accounts[owner, default: Account()].minted += range.count
            }
        case .transferred(let from, let to, let range):
            split(range, to: .held(by: to))
            accounts[from, default: Account()].sent += range.count
            accounts[to, default: Account()].received += range.count
        case .retired(let owner, let range, _, _):
            split(range, to: .retired)
            accounts[owner, default: Account()].retired += range.count
        case .cancelled(let owner, let range, _):
            split(range, to: .cancelled)
            accounts[owner, default: Account()].cancelled += range.count
        }
    }

    /// Gives `range` the new status, splitting the holding around it.
    private mutating func split(_ range: SerialRange, to status: Status) {
        guard let position = holdingList.position(containing: range) else { preconditionFailure("applied a range that is not one holding") }
        let holding = holdingList[position]
        var pieces = [Holding]()
        if let before = SerialRange(vintage: range.vintage, first: holding.range.first, last: range.first - 1) {
            pieces.append(Holding(range: before, status: holding.status))
        }
        pieces.append(Holding(range: range, status: status))
        if let after = SerialRange(vintage: range.vintage, first: range.last + 1, last: holding.range.last) {
            pieces.append(Holding(range: after, status: holding.status))
        }
        holdingList.replace(position, with: pieces)
    }

    // MARK: Reading

    /// Tokens `company` holds now, counted from the holdings.
    public func balance(of company: String) -> Int64 {
        holdings.reduce(0) { total, holding in holding.status == .held(by: company) ? total + holding.range.count : total }
    }

    /// Every broken invariant, described; empty when the state is sound.
    public func invariantViolations() -> [String] {
        var violations = [String]()
        var owners = Set(accounts.keys)
        for holding in holdings { if case .held(let owner) = holding.status { owners.insert(owner) } }
        for owner in owners.sorted() {
            let account = accounts[owner] ?? Account()
            if balance(of: owner) != account.expectedBalance {
                violations.append("\(owner) holds \(balance(of: owner)) but its totals say \(account.expectedBalance)")
            }
        }
        var expectedNext: [Int: Int64] = [:]
        for holding in holdings {
            let next = expectedNext[holding.range.vintage] ?? 1
            if holding.range.first != next { violations.append("serials of \(holding.range.vintage) jump to \(holding.range) after \(next - 1)") }
            expectedNext[holding.range.vintage] = holding.range.last + 1
        }
        for (vintage, last) in issued where expectedNext[vintage] != last + 1 {
            violations.append("vintage \(vintage) issued up to \(last) but holdings end at \((expectedNext[vintage] ?? 1) - 1)")
        }
        return violations
    }
}

/// What the carbon policy (`policies/carbon.yaml`) says the registry needs.
public struct CarbonPolicy: Hashable, Sendable {
    public enum Basis: String, Sendable { case lifecycle, downstream }

    /// Grams CO2e per token.
    public var tokenGrams: Int64
    /// The share of each mint, in whole percent, that goes to the buffer account.
    public var bufferPercent: Int64
    public var basis: Basis

    public init(tokenGrams: Int64 = 10_000, bufferPercent: Int64 = 10, basis: Basis = .downstream) {
        precondition(tokenGrams > 0 && (0...100).contains(bufferPercent))
        self.tokenGrams = tokenGrams
        self.bufferPercent = bufferPercent
        self.basis = basis
    }
}

/// One rescue's CO2e to count for its company.
public struct RescueCount: Hashable, Sendable {
    public var company: String
    /// The seq of the rescue's `rescue.completed` entry.
    public var rescue: UInt64
    public var gramsCO2e: Int64
    public var vintage: Int

    public init(company: String, rescue: UInt64, gramsCO2e: Int64, vintage: Int) {
        self.company = company
        self.rescue = rescue
        self.gramsCO2e = gramsCO2e
        self.vintage = vintage
    }
}

public enum CarbonCommand: Hashable, Sendable {
    /// A rescue whose dispute window closed without a refund adds its CO2e to its company
    /// (a zero-gram rescue is counted too, so every settled rescue leaves a `carbon.minted`).
    case countRescue(company: String, rescue: UInt64, gramsCO2e: Int64, vintage: Int)
    case transfer(from: String, to: String, range: SerialRange)
    case retire(owner: String, range: SerialRange, beneficiary: String, reason: String)
    case cancel(owner: String, range: SerialRange, reason: String)
}

/// A `carbon.minted` event: the tokens one counted rescue completes (possibly none).
public struct Minted: Hashable, Sendable {
    public var company: String
    public var vintage: Int
    public var range: SerialRange?
    public var buffer: SerialRange?
    /// The rescue counted by this event.
    public var rescue: UInt64
    /// The rescues the minted tokens rest on (earlier carried ones and this one); empty when none were minted.
    public var basedOn: [UInt64]
    /// This rescue's CO2e.
    public var gramsCO2e: Int64
    public var carriedGrams: Int64
    public var basis: CarbonPolicy.Basis
    public init(
        company: String, vintage: Int, range: SerialRange?, buffer: SerialRange?, rescue: UInt64, basedOn: [UInt64], gramsCO2e: Int64, carriedGrams: Int64, basis: CarbonPolicy.Basis
    ) {
        self.company = company
        self.vintage = vintage
        self.range = range
        self.buffer = buffer
        self.rescue = rescue
        self.basedOn = basedOn
        self.gramsCO2e = gramsCO2e
        self.carriedGrams = carriedGrams
        self.basis = basis
    }
}

public enum CarbonEvent: Hashable, Sendable {
    case minted(Minted)
    case transferred(from: String, to: String, range: SerialRange)
    case retired(owner: String, range: SerialRange, beneficiary: String, reason: String)
    case cancelled(owner: String, range: SerialRange, reason: String)

}

/// Why the registry refused a command; names read as sentences and never change meaning.
public enum CarbonRejection: String, Error, Sendable {
    case gramsMustNotBeNegative
    case rescueAlreadyCounted
    case bufferCannotEarnTokens
    case transferToSelf
    case beneficiaryMissing
    case reasonMissing
    /// The range is not inside a single issued holding (never issued, or spans two holdings).
    case rangeNotIssuedAsOneHolding
    case rangeNotHeldByActor
    case serialAlreadyRetired
    case serialAlreadyCancelled
    case beneficiaryIsNotAnID
    case reasonIsNotACode
}

extension CarbonRejection: CaseIterable {
    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .rescueAlreadyCounted, .serialAlreadyRetired, .serialAlreadyCancelled: .conflict
        case .rangeNotHeldByActor: .forbidden
        case .gramsMustNotBeNegative, .bufferCannotEarnTokens, .transferToSelf, .beneficiaryMissing, .reasonMissing, .rangeNotIssuedAsOneHolding,
            .beneficiaryIsNotAnID, .reasonIsNotACode:
            .invalid
        }
    }
}

/// Why tokens are retired (`carbon.retired`'s `reason`): a code, never free text, because the
/// public retirement register republishes it forever.
public enum RetirementReason: String, Hashable, Sendable, CaseIterable {
    /// Offsetting the holder's own emissions.
    case voluntaryOffset
    /// A published CSR or sustainability commitment.
    case csrCommitment
    /// A product or service sold as carbon-neutral.
    case productClaim
    /// An event's emissions.
    case eventOffset
    /// A regulatory obligation.
    case regulatoryCompliance
    /// On behalf of the beneficiary (a participant or a vault subject).
    case onBehalfOfBeneficiary
}

/// Why tokens are cancelled (`carbon.cancelled`'s `reason`).
public enum CancellationReason: String, Hashable, Sendable, CaseIterable {
    /// The rescue behind them was reversed after issuance.
    case reversal
    /// They were issued in error.
    case issuanceError
    /// The holder withdraws them without claiming them.
    case holderRequest
}
