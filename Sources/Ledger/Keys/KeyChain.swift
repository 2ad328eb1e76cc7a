/// The keys a log has signed with, in order, from the one key a verifier trusts at the start
/// (FORMAT §10.7). Each `key.rotated` entry, signed by the key before it, adds the next.
///
/// A pure value: the writer, recovery, `pahlawan verify`, bundles, keys documents, the monitor
/// and the service's cosignature book all follow rotations through it, so the rules are written once.
public struct KeyChain: Equatable, Sendable {
    /// One key and the seqs it signs.
    public struct Link: Equatable, Sendable {
        /// The first entry this key signs (0 for the initial key; the rotation's seq + 1 after).
        public let firstSeq: UInt64
        public let key: VerifierKey
        /// The seq of the `key.rotated` entry that retired this key; nil while it is current.
        public internal(set) var retiredAt: UInt64?
        /// For a key retired as compromised: its checkpoints larger than this are not trusted.
        public internal(set) var untrustedFrom: UInt64?
    }

    public private(set) var links: [Link]

    /// A chain holding only the initial key, which signs from seq 0.
    public init(initial: VerifierKey) {
        links = [Link(firstSeq: 0, key: initial)]
    }

    public var initial: VerifierKey { links[0].key }
    /// The key that signs the next entry and checkpoint.
    public var current: VerifierKey { links[links.count - 1].key }
    /// The checkpoint origin: every key of the chain has this name.
    public var origin: String { initial.name }

    /// The link of the key that signs entry `seq` (and checkpoints of size `seq`).
    public func link(forSeq seq: UInt64) -> Link {
        links.last { $0.firstSeq <= seq }!
    }

    /// The key that signs entry `seq`.
    public func key(forSeq seq: UInt64) -> VerifierKey { link(forSeq: seq).key }

    /// The key a checkpoint of `size` entries must be signed by: the one that signs entry `size`,
    /// after every rotation among the first `size` entries.
    ///
    /// A key later reported compromised could have signed anything for whoever holds it: any
    /// size, any root. Its checkpoints are trusted only when `witnessed` (the caller checks a
    /// quorum of at least one witness, who cosign a single history) and no larger than
    /// `untrustedFrom`.
    /// - Throws: `untrustedKey` otherwise.
    public func checkpointKey(size: UInt64, witnessed: Bool) throws(LedgerError) -> VerifierKey {
        let link = link(forSeq: size)
        if let untrusted = link.untrustedFrom, let retired = link.retiredAt, size > untrusted || !witnessed {
            let why = size > untrusted ? "above untrustedFrom \(untrusted)" : "and no witness quorum vouches for it"
            throw LedgerError(
                .untrustedKey,
                "a checkpoint of \(size) entries is signed by key \(link.key.id), which the rotation at seq \(retired) reports compromised (\(why)): use a checkpoint of more than \(retired) entries")
        }
        return link.key
    }

    /// The key with `id` among the chain's keys.
    public func key(id: KeyID) -> VerifierKey? { links.first { $0.key.id == id }?.key }

    /// Follows the `key.rotated` entry `body` (whose signature the caller checked with `current`).
    /// - Throws: `badKeyRotation` (with the seq) when it breaks a rule of FORMAT §10.7.
    public mutating func rotate(_ body: EntryBody) throws(LedgerError) {
        guard let rotation = try KeyRotation(entry: body) else {
            throw LedgerError(.badKeyRotation, "the entry is not a \(KeyRotation.kind) entry", seq: body.seq)
        }
        try rotate(at: body.seq, signedBy: body.key, rotation)
    }

    /// Follows a rotation at `seq` whose entry names key `signer`.
    public mutating func rotate(at seq: UInt64, signedBy signer: KeyID, _ rotation: KeyRotation) throws(LedgerError) {
        func refuse(_ reason: String) -> LedgerError { LedgerError(.badKeyRotation, reason, seq: seq) }
        let last = links[links.count - 1]
        guard seq >= last.firstSeq, seq < UInt64(JSONValue.integerMagnitudeMax) else {
            throw refuse("a rotation at seq \(seq) comes before the current key's first entry (\(last.firstSeq))")
        }
        guard signer == last.key.id else {
            throw refuse("the rotation is signed by key \(signer), not by the current key \(last.key.id)")
        }
        guard rotation.newKey.name == origin else {
            throw refuse("the new key is named \(rotation.newKey.name), not the log's origin \(origin)")
        }
        guard !links.contains(where: { $0.key.id == rotation.newKey.id || $0.key.publicKey == rotation.newKey.publicKey }) else {
            throw refuse("the new key \(rotation.newKey.id) has signed for this log before; a rotation brings a new key")
        }
        var retired = last
        retired.retiredAt = seq
        if case .compromise(let untrustedFrom) = rotation.reason {
            guard untrustedFrom >= last.firstSeq, untrustedFrom <= seq else {
                throw refuse(
                    "untrustedFrom is \(untrustedFrom), outside the seqs the outgoing key signed (\(last.firstSeq)…\(seq))")
            }
            retired.untrustedFrom = untrustedFrom
        }
        links[links.count - 1] = retired
        links.append(Link(firstSeq: seq + 1, key: rotation.newKey))
    }

    /// Checks a `key.rotated` entry's signature with the current key and follows it.
    public mutating func follow(_ entry: SignedEntry) throws(LedgerError) {
        guard current.isValidSignature(entry.signature, for: SignedEntry.signatureMessage(leafHash: entry.leafHash)) else {
            throw LedgerError(.badSignature, "the key rotation's signature does not verify with key \(current.id)", seq: entry.body.seq)
        }
        try rotate(entry.body)
    }
}
