/// Escrow for paid claims, two-phase like TigerBeetle's pending transfers: money is *held* when
/// a paid claim is placed, then either *released* to the provider or *refunded* to the buyer,
/// in parts if need be, never more than is still held, and every escrow closes exactly once.
/// Amounts are integer rupiah. Pure: `decide` / `apply`.
public struct EscrowBook: Sendable, Equatable {
    public struct Escrow: Hashable, Sendable {
        public var id: String
        public var claim: String
        public var buyer: String
        public var provider: String
        public var heldRupiah: Int64
        public var releasedRupiah: Int64 = 0
        public var refundedRupiah: Int64 = 0

        /// What is still held: neither released nor refunded.
        public var openRupiah: Int64 { heldRupiah - releasedRupiah - refundedRupiah }
        public var isClosed: Bool { openRupiah == 0 }
        public init(
            id: String, claim: String, buyer: String, provider: String, heldRupiah: Int64, releasedRupiah: Int64 = 0, refundedRupiah: Int64 = 0
        ) {
            self.id = id
            self.claim = claim
            self.buyer = buyer
            self.provider = provider
            self.heldRupiah = heldRupiah
            self.releasedRupiah = releasedRupiah
            self.refundedRupiah = refundedRupiah
        }
    }

    public private(set) var escrows: IDTable<Escrow> = [:]

    public init() {}

    public func decide(_ command: EscrowCommand) -> Result<EscrowEvent, EscrowRejection> {
        switch command {
        case .hold(let id, let claim, let buyer, let provider, let rupiah):
            guard escrows[id] == nil else { return .failure(.escrowAlreadyExists) }
            guard rupiah > 0 else { return .failure(.amountMustBePositive) }
            guard buyer != provider else { return .failure(.buyerIsTheProvider) }
            return .success(.held(Escrow(id: id, claim: claim, buyer: buyer, provider: provider, heldRupiah: rupiah)))
        case .release(let id, let rupiah):
            return check(id, rupiah).map { _ in .released(escrow: id, rupiah: rupiah) }
        case .refund(let id, let rupiah, let rule):
            guard !rule.isEmpty else { return .failure(.refundNamesNoRule) }
            return check(id, rupiah, refund: true).map { _ in .refunded(escrow: id, rupiah: rupiah, rule: rule) }
        }
    }

    private func check(_ id: String, _ rupiah: Int64, refund: Bool = false) -> Result<Void, EscrowRejection> {
        guard let escrow = escrows[id] else { return .failure(.escrowNotFound) }
        guard rupiah > 0 else { return .failure(.amountMustBePositive) }
        guard !escrow.isClosed else { return .failure(.escrowAlreadyClosed) }
        guard rupiah <= escrow.openRupiah else { return .failure(refund ? .refundExceedsHeld : .releaseExceedsHeld) }
        return .success(())
    }

    public mutating func apply(_ event: EscrowEvent) {
        switch event {
        case .held(let escrow): escrows[escrow.id] = escrow
        case .released(let id, let rupiah): escrows[id]!.releasedRupiah += rupiah
        case .refunded(let id, let rupiah, _): escrows[id]!.refundedRupiah += rupiah
        }
    }

    /// Every broken invariant, described; empty when the state is sound.
    public func invariantViolations() -> [String] {
        escrows.values.compactMap { escrow in
            escrow.releasedRupiah < 0 || escrow.refundedRupiah < 0 || escrow.openRupiah < 0
                ? "\(escrow.id): released \(escrow.releasedRupiah) + refunded \(escrow.refundedRupiah) exceed held \(escrow.heldRupiah)" : nil
        }
    }
}

public enum EscrowCommand: Hashable, Sendable {
    case hold(id: String, claim: String, buyer: String, provider: String, rupiah: Int64)
    /// To the provider, after delivery and the dispute window.
    case release(id: String, rupiah: Int64)
    /// To the buyer; `rule` names the dispute rule or decision that granted it.
    case refund(id: String, rupiah: Int64, rule: String)
}

public enum EscrowEvent: Hashable, Sendable {
    case held(EscrowBook.Escrow)
    case released(escrow: String, rupiah: Int64)
    case refunded(escrow: String, rupiah: Int64, rule: String)

}

/// Why the escrow book refused a command; names read as sentences and never change meaning.
public enum EscrowRejection: String, Error, Sendable {
    case escrowAlreadyExists
    case escrowNotFound
    case amountMustBePositive
    case buyerIsTheProvider
    case escrowAlreadyClosed
    case releaseExceedsHeld
    case refundExceedsHeld
    case refundNamesNoRule
}

extension EscrowRejection: CaseIterable {
    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .escrowNotFound: .notFound
        case .escrowAlreadyExists, .escrowAlreadyClosed: .conflict
        case .buyerIsTheProvider: .forbidden
        case .amountMustBePositive, .releaseExceedsHeld, .refundExceedsHeld, .refundNamesNoRule: .invalid
        }
    }
}
