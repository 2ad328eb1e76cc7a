/// The signed content of one ledger entry. Its canonical bytes (RFC 8785) are what is hashed, signed and stored.
public struct EntryBody: Sendable, Equatable {
    /// The body format this code writes and reads (`v`).
    public static let formatVersion: Int64 = 1
    /// The largest body in bytes: 65,535, so that every body fits the 2-byte length prefix
    /// of C2SP tlog-tiles entry bundles.
    public static let byteCountMax = 65_535
    public static let kindByteCountMax = 64
    public static let actorByteCountMax = 64
    /// The exact set of keys a body has.
    public static let keys: Set<String> = ["v", "seq", "time", "kind", "actor", "payload", "policy", "prev", "key"]

    public var seq: UInt64
    /// Microseconds since the Unix epoch, UTC.
    public var time: Int64
    public var kind: String
    /// A pseudonymous id; never a name, phone number or e-mail address.
    public var actor: String
    public var payload: [String: JSONValue]
    /// SHA-256 of the policy set in force, or `Hash.zero` when none.
    public var policy: Hash
    /// The leaf hash of the entry at `seq − 1`, or `Hash.zero` for seq 0.
    public var prev: Hash
    /// The signing key's C2SP key id.
    public var key: KeyID

    public init(
        seq: UInt64, time: Int64, kind: String, actor: String, payload: [String: JSONValue], policy: Hash,
        prev: Hash, key: KeyID
    ) {
        self.seq = seq
        self.time = time
        self.kind = kind
        self.actor = actor
        self.payload = payload
        self.policy = policy
        self.prev = prev
        self.key = key
    }

    /// The body as a JSON object with the contract's keys.
    public var jsonValue: JSONValue {
        .object([
            "v": .integer(Self.formatVersion),
            "seq": .integer(Int64(seq)),
            "time": .integer(time),
            "kind": .string(kind),
            "actor": .string(actor),
            "payload": .object(payload),
            "policy": .string(policy.hex),
            "prev": .string(prev.hex),
            "key": .string(key.hex),
        ])
    }

    /// The RFC 8785 canonical bytes.
    public func canonicalBytes() -> [UInt8] { CanonicalJSON.encode(jsonValue) }

    /// Decodes and checks a stored or submitted body: strict JSON, canonical form, exact keys and types.
    public static func decode(_ bytes: [UInt8]) throws(LedgerError) -> EntryBody { try decode(bytes, checkingForm: true) }

    /// Decodes a body this ledger stored and has already verified (replay): strict JSON, exact
    /// keys and types, but not the canonical form and field shapes again, which cost as much as
    /// the parse and were checked when the entry was written and when the log was verified.
    public static func decodeVerified(_ bytes: [UInt8]) throws(LedgerError) -> EntryBody { try decode(bytes, checkingForm: false) }

    private static func decode(_ bytes: [UInt8], checkingForm: Bool) throws(LedgerError) -> EntryBody {
        guard bytes.count <= byteCountMax else {
            throw LedgerError(.bodyTooLarge, "the body has \(bytes.count) bytes; the limit is \(byteCountMax)")
        }
        let value: JSONValue
        do {
            value = try CanonicalJSON.parse(bytes)
        } catch {
            switch error.reason {
            case .floatNotAllowed: throw LedgerError(.floatNotAllowed, error.description)
            case .nullNotAllowed: throw LedgerError(.nullNotAllowed, error.description)
            default: throw LedgerError(.badEntry, "the body is not acceptable JSON: \(error)")
            }
        }
        guard !checkingForm || canonicalForm(of: value, byteCount: bytes.count) == bytes else {
            throw LedgerError(.bodyNotCanonical, "the body is not in RFC 8785 canonical form (key order, spacing or escapes)")
        }
        guard case .object(let fields) = value else { throw LedgerError(.badEntry, "the body is not a JSON object") }
        let keys = Set(fields.keys)
        guard keys == Self.keys else {
            let missing = Self.keys.subtracting(keys).sorted()
            let extra = keys.subtracting(Self.keys).sorted()
            throw LedgerError(.badEntry, "body keys differ from the contract (missing: \(missing), unexpected: \(extra))")
        }
        guard fields["v"] == .integer(formatVersion) else {
            throw LedgerError(.badEntry, "v must be \(formatVersion)")
        }
        guard let seq = fields["seq"]!.integerValue, seq >= 0 else {
            throw LedgerError(.badEntry, "seq must be a non-negative integer")
        }
        guard let time = fields["time"]!.integerValue, time >= 0 else {
            throw LedgerError(.badEntry, "time must be non-negative integer microseconds", seq: UInt64(seq))
        }
        guard let kind = fields["kind"]!.stringValue, let actor = fields["actor"]!.stringValue,
            case .object(let payload) = fields["payload"]!
        else {
            throw LedgerError(.badEntry, "kind and actor must be strings and payload an object", seq: UInt64(seq))
        }
        guard let policy = fields["policy"]!.stringValue.flatMap(Hash.init(hex:)),
            let prev = fields["prev"]!.stringValue.flatMap(Hash.init(hex:))
        else {
            throw LedgerError(.badEntry, "policy and prev must be 64 lowercase hex digits", seq: UInt64(seq))
        }
        guard let key = fields["key"]!.stringValue.flatMap(KeyID.init(hex:)) else {
            throw LedgerError(.badEntry, "key must be 8 lowercase hex digits", seq: UInt64(seq))
        }
        let body = EntryBody(
            seq: UInt64(seq), time: time, kind: kind, actor: actor, payload: payload, policy: policy, prev: prev, key: key)
        if checkingForm { try body.validateFields() }
        return body
    }

    /// The canonical encoding, written into a buffer sized like the body it is compared with
    /// (one allocation: the monitor and `verify --bodies` run this for every entry).
    private static func canonicalForm(of value: JSONValue, byteCount: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(byteCount)
        CanonicalJSON.write(value, into: &out)
        return out
    }

    /// Field rules beyond JSON types: kind and actor shapes, integer range in the payload.
    public func validateFields() throws(LedgerError) {
        guard time >= 0 else { throw LedgerError(.badEntry, "time must be non-negative", seq: seq) }
        do {
            try Self.validateFields(kind: kind, actor: actor, payload: payload)
        } catch {
            throw LedgerError(error.code, error.reason, seq: seq)
        }
    }

    /// The rules a draft can be checked against before it has a seq.
    static func validateFields(kind: String, actor: String, payload: [String: JSONValue]) throws(LedgerError) {
        guard isValidKind(kind) else {
            throw LedgerError(
                .badEntry, "kind must be dotted lowercase words such as rescue.completed (≤ \(kindByteCountMax) bytes)")
        }
        guard isValidActor(actor) else {
            throw LedgerError(
                .badEntry, "actor must be a pseudonymous id: 1–\(actorByteCountMax) bytes of a-z, 0-9, '.', '_', ':', '-'")
        }
        guard integersInRange(.object(payload)) else {
            throw LedgerError(.badEntry, "a payload integer is outside ±(2^53 − 1)")
        }
    }

    static func isValidKind(_ kind: String) -> Bool {
        let utf8 = Array(kind.utf8)
        guard !utf8.isEmpty, utf8.count <= kindByteCountMax else { return false }
        let words = utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard words.count >= 2 else { return false }
        return words.allSatisfy { word in
            guard let first = word.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
            return word.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            }
        }
    }

    static func isValidActor(_ actor: String) -> Bool {
        let utf8 = actor.utf8
        guard !utf8.isEmpty, utf8.count <= actorByteCountMax else { return false }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "-")
        }
    }

    static func integersInRange(_ value: JSONValue) -> Bool {
        switch value {
        case .integer(let number): abs(number) <= JSONValue.integerMagnitudeMax
        case .string, .bool: true
        case .array(let elements): elements.allSatisfy(integersInRange)
        case .object(let members): members.values.allSatisfy(integersInRange)
        }
    }
}
