/// What a `key.rotated` entry says (FORMAT §10.7): the key that signs every entry and checkpoint
/// after it, and why the outgoing key was retired. The entry itself is signed by the outgoing key.
public struct KeyRotation: Equatable, Sendable {
    /// The entry kind; only `Ledger.rotateKey` writes it.
    public static let kind = "key.rotated"

    public enum Reason: Equatable, Sendable {
        /// A planned change: everything the outgoing key signed stays trusted.
        case scheduled
        /// The outgoing key leaked: its signatures on checkpoints larger than `untrustedFrom`
        /// prove nothing by themselves (the entries from that seq on are vouched for by the
        /// incoming key's checkpoints, which cover them).
        case compromise(untrustedFrom: UInt64)
    }

    public var newKey: VerifierKey
    public var reason: Reason

    public init(newKey: VerifierKey, reason: Reason) {
        self.newKey = newKey
        self.reason = reason
    }

    /// The entry payload: `{"newKey": <verifier key text>, "reason": "scheduled"|"compromise",
    /// "untrustedFrom": <seq, compromise only>}`.
    public var payload: [String: JSONValue] {
        switch reason {
        case .scheduled:
            ["newKey": .string(newKey.text), "reason": "scheduled"]
        case .compromise(let seq):
            ["newKey": .string(newKey.text), "reason": "compromise", "untrustedFrom": .integer(Int64(seq))]
        }
    }

    /// Reads a payload strictly: exactly the members above, an Ed25519 verifier key, a known reason.
    public init(payload: [String: JSONValue]) throws(LedgerError) {
        func refuse(_ reason: String) -> LedgerError { LedgerError(.badKeyRotation, reason) }
        guard let text = payload["newKey"]?.stringValue else { throw refuse("a key rotation names its newKey (verifier key text)") }
        do {
            newKey = try VerifierKey(text: text, type: .ed25519)
        } catch {
            throw refuse("newKey is not an Ed25519 verifier key: \(error.reason)")
        }
        // Exactly the key's text: two bodies must not name one key in two spellings.
        guard newKey.text == text else { throw refuse("newKey is not exactly verifier key text (no surrounding space)") }
        switch payload["reason"]?.stringValue {
        case "scheduled":
            guard payload.count == 2 else { throw refuse("a scheduled rotation has exactly newKey and reason") }
            reason = .scheduled
        case "compromise":
            guard payload.count == 3, let seq = payload["untrustedFrom"]?.integerValue, seq >= 0 else {
                throw refuse("a compromise rotation has exactly newKey, reason and untrustedFrom (a seq)")
            }
            reason = .compromise(untrustedFrom: UInt64(seq))
        default:
            throw refuse("reason is \"scheduled\" or \"compromise\"")
        }
    }

    /// The rotation an entry states, when it is a `key.rotated` entry.
    public init?(entry body: EntryBody) throws(LedgerError) {
        guard body.kind == Self.kind else { return nil }
        do {
            try self.init(payload: body.payload)
        } catch {
            throw LedgerError(.badKeyRotation, error.reason, seq: body.seq)
        }
    }
}
