import Ledger

/// Applies `masking.yaml` to personal data on its way out (API responses, exports, logs).
/// Personal records are JSON objects keyed by the policy's fields; an address is an object
/// (`street`, `kelurahan`, `kecamatan`, `kota`, `province`, `postalCode`), everything else text.
public struct Masker: Sendable {
    public let policy: MaskingPolicy
    private let pseudonymKeys: [String: [UInt8]]

    /// `secret` (kept beside the service, never in the ledger) derives each role's pseudonym key.
    public init(policy: MaskingPolicy, secret: [UInt8]) {
        self.policy = policy
        var keys: [String: [UInt8]] = [:]
        for role in MaskingPolicy.roles { keys[role] = Sodium.hmacSHA256(key: secret, message: Array("pseudonym:\(role)".utf8)) }
        pseudonymKeys = keys
    }

    /// The key `role`'s pseudonyms are made with, for the mirror's role views, which compute the
    /// same pseudonyms in SQL (`Mirror.installRoleViews`).
    public func pseudonymKey(role: String) -> [UInt8]? { pseudonymKeys[role] }

    /// A record as `role` may see it: every field through its treatment; fields the policy does
    /// not know are redacted (deny by default).
    public func mask(record: [String: JSONValue], role: String) -> [String: JSONValue] {
        var masked: [String: JSONValue] = [:]
        for (field, value) in record { masked[field] = mask(field: field, value: value, role: role) }
        return masked
    }

    /// One value as `role` may see it.
    public func mask(field: String, value: JSONValue, role: String) -> JSONValue {
        let treatment = MaskingPolicy.fields.contains(field) ? policy.treatment(field: field, role: role) : .redact
        switch treatment {
        case .keep:
            return value
        case .redact:
            return Self.redacted
        case .pseudonym:
            guard let key = pseudonymKeys[role] else { return Self.redacted }
            let tag = Sodium.hmacSHA256(key: key, message: Array(field.utf8) + [0] + CanonicalJSON.encode(value))
            return .string("psn_" + Hex.encode(tag.prefix(8)))
        case .generalise:
            return Self.generalise(value)
        case .mask:
            if field == "address" { return Self.generalise(value) }
            guard let text = value.stringValue else { return Self.redacted }
            switch field {
            case "phone": return .string(PIIFormats.maskPhone(text) ?? "[redacted]")
            case "email": return .string(PIIFormats.maskEmail(text) ?? "[redacted]")
            case "nik": return .string(PIIFormats.maskNIK(text) ?? "[redacted]")
            case "npwp": return .string(PIIFormats.maskNPWP(text) ?? "[redacted]")
            case "name": return .string(PIIFormats.maskName(text))
            default: return Self.redacted
            }
        }
    }

    /// An address reduced to kecamatan, kota and province; anything else redacted.
    static func generalise(_ value: JSONValue) -> JSONValue {
        guard let address = value.objectValue else { return redacted }
        return .object(address.filter { ["kecamatan", "kota", "province"].contains($0.key) })
    }

    /// Free text as `role` may see it: NIKs, Indonesian phone numbers and e-mail addresses in it
    /// are masked, unless the policy lets the role read free text as written.
    public func maskFreeText(_ text: String, role: String) -> String {
        policy.freeTextUnmaskedRoles.contains(role) ? text : PIIFormats.maskFreeText(text)
    }

    static let redacted: JSONValue = "[redacted]"
}
