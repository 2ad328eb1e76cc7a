/// What the caller supplies for a new entry; the ledger fills in `seq`, `prev` and `key`, and
/// `time` when the draft leaves it nil (then the ledger's clock stamps it as it is written).
public struct EntryDraft: Sendable, Equatable {
    /// Microseconds since the Unix epoch; must not be earlier than the previous entry's.
    public var time: Int64?
    public var kind: String
    public var actor: String
    public var payload: [String: JSONValue]
    public var policy: Hash

    public init(time: Int64? = nil, kind: String, actor: String, payload: [String: JSONValue], policy: Hash = .zero) {
        self.time = time
        self.kind = kind
        self.actor = actor
        self.payload = payload
        self.policy = policy
    }
}

/// An entry as stored: its exact body bytes, their leaf hash, and the Ed25519 signature beside them.
public struct SignedEntry: Sendable, Equatable {
    /// The domain-separation prefix of the entry signature message.
    public static let signatureContext = Array("pahlawan-entry/v1".utf8) + [0x00]

    public let body: EntryBody
    public let bodyBytes: [UInt8]
    public let leafHash: Hash
    public let signature: [UInt8]

    public init(body: EntryBody, bodyBytes: [UInt8], leafHash: Hash, signature: [UInt8]) {
        self.body = body
        self.bodyBytes = bodyBytes
        self.leafHash = leafHash
        self.signature = signature
    }

    public var seq: UInt64 { body.seq }

    /// `pahlawan-entry/v1` ‖ 0x00 ‖ leaf hash: the bytes the entry signature covers.
    public static func signatureMessage(leafHash: Hash) -> [UInt8] {
        signatureContext + leafHash.bytes
    }

    public func hasValidSignature(by key: VerifierKey) -> Bool {
        body.key == key.id && key.isValidSignature(signature, for: Self.signatureMessage(leafHash: leafHash))
    }
}
