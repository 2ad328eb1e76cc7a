/// The chain rule of FORMAT §1, written once: the next entry's `seq` is the previous one's plus 1,
/// its `prev` is the previous leaf hash (64 zeros for seq 0), its `time` is not earlier than the
/// previous entry's, and its `key` is the ledger's key id.
///
/// The writer, recovery after a checkpoint and both verifier passes all drive this one value, so
/// the rule cannot drift between the code that writes entries and the code that checks them. It is
/// a plain struct that allocates nothing: it sits on the append and verify hot paths, and builds a
/// reason string only once a rule is broken. Public so that a monitor following the log from
/// outside (the Witness target) checks the very same rule.
public struct ChainCursor: Equatable, Sendable {
    /// The fields of an entry that the chain rule reads.
    public struct Link: Equatable, Sendable {
        public var seq: UInt64
        public var prev: Hash
        public var time: Int64
        /// The key id the body names; nil when it could not be read.
        public var key: KeyID?
    }

    /// The rules of the chain, in the order they are checked; each has its own error code.
    enum Rule: Equatable, Sendable {
        case nextSeq, previousLeaf, timeNotEarlier, ledgerKey

        var code: LedgerError.Code {
            switch self {
            case .nextSeq: .wrongSeq
            case .previousLeaf: .wrongPrev
            case .timeNotEarlier: .timeGoesBackwards
            case .ledgerKey: .wrongKey
            }
        }
    }

    /// The seq the next entry must have (the number of entries passed so far).
    public private(set) var nextSeq: UInt64
    /// The leaf hash the next entry's `prev` must equal.
    public private(set) var lastLeaf: Hash
    /// The next entry's time must not be earlier than this (microseconds since the Unix epoch).
    public private(set) var lastTime: Int64
    /// The key id every entry must name, or nil where keys are not checked (a verifier that
    /// does not check signatures does not read them either). It changes only at a key rotation.
    public private(set) var key: KeyID?

    /// A cursor after `nextSeq` entries, the last of which had leaf hash `lastLeaf` and `lastTime`.
    public init(nextSeq: UInt64, lastLeaf: Hash, lastTime: Int64, key: KeyID?) {
        self.nextSeq = nextSeq
        self.lastLeaf = lastLeaf
        self.lastTime = lastTime
        self.key = key
    }

    /// A cursor at the start of an empty ledger: seq 0 follows 64 zeros.
    public init(key: KeyID?) {
        self.init(nextSeq: 0, lastLeaf: .zero, lastTime: 0, key: key)
    }

    /// The first rule `link` breaks, or nil when it may come next. Allocates nothing.
    func brokenRule(_ link: Link) -> Rule? {
        if link.seq != nextSeq { return .nextSeq }
        if link.prev != lastLeaf { return .previousLeaf }
        if link.time < lastTime { return .timeNotEarlier }
        if let key, link.key != key { return .ledgerKey }
        return nil
    }

    /// Throws the error of the first rule `link` breaks, naming the seq that was due.
    public func check(_ link: Link) throws(LedgerError) {
        guard let rule = brokenRule(link) else { return }
        throw LedgerError(rule.code, reason(rule, link), seq: nextSeq)
    }

    /// Checks `link` and moves past it: the entry whose body has leaf hash `leaf` is now the last.
    public mutating func advance(over link: Link, leaf: Hash) throws(LedgerError) {
        try check(link)
        // Cannot overflow: a seq has at most 16 decimal digits (entry bodies keep integers below 2^53).
        nextSeq += 1
        lastLeaf = leaf
        lastTime = link.time
    }

    /// After a `key.rotated` entry (which the caller checked and passed): entries now name `next`.
    public mutating func rotateKey(to next: KeyID) {
        if key != nil { key = next }
    }

    private func reason(_ rule: Rule, _ link: Link) -> String {
        switch rule {
        case .nextSeq: "the body says seq \(link.seq) but \(nextSeq) comes next"
        case .previousLeaf: "prev does not equal the previous entry's leaf hash"
        case .timeNotEarlier: "time \(link.time) is earlier than the previous entry's \(lastTime)"
        case .ledgerKey: "the body names key \(link.key.map(\.hex) ?? "?"), not the ledger's \(key.map(\.hex) ?? "?")"
        }
    }
}

extension ChainCursor.Link {
    /// The link a stored body's tail and key describe.
    init(_ tail: BodyLayout.Tail, key: KeyID?) {
        self.init(seq: tail.seq, prev: tail.prev, time: tail.time, key: key)
    }

    /// The link a decoded body describes.
    public init(_ body: EntryBody) {
        self.init(seq: body.seq, prev: body.prev, time: body.time, key: body.key)
    }
}
