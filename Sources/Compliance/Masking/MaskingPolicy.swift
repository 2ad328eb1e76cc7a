import Ledger

/// `policies/masking.yaml`, validated: for each kind of personal data and each role, how the
/// value leaves the service.
public struct MaskingPolicy: Sendable, Equatable {
    /// How a value is shown.
    public enum Treatment: String, Sendable, CaseIterable {
        case keep, redact, mask, pseudonym, generalise
    }

    /// The roles of DESIGN.md §6 (`access.yaml` grants them permissions).
    public static let roles = ["operator", "provider", "recipient", "courier", "auditor", "tax_authority", "carbon_trader", "admin"]
    /// The kinds of personal data the vault holds, and `recipient`: who received a donation
    /// (an organisation's or RT/RW group's pseudonymous id, registration and NPWP) in reports.
    public static let fields = ["name", "phone", "email", "address", "nik", "npwp", "recipient"]

    private let treatments: [String: [String: Treatment]]
    private let defaults: [String: Treatment]
    /// Roles that see free text as written (everyone else gets NIKs, phones and e-mails masked).
    public let freeTextUnmaskedRoles: Set<String>

    /// The treatment of `field` for `role`; unknown fields and roles are redacted.
    public func treatment(field: String, role: String) -> Treatment {
        treatments[field]?[role] ?? defaults[field] ?? .redact
    }

    /// Loads and validates `masking.yaml`; a problem names file, line, key and reason.
    public static func load(path: String) throws(PolicyError) -> MaskingPolicy {
        guard let bytes = FileBytes.read(path) else { throw PolicyError(file: path, line: nil, key: nil, reason: "cannot read the file") }
        let file = try PolicyFile(path: path, text: String(decoding: bytes, as: UTF8.self))
        try file.expectVersion()
        var treatments: [String: [String: Treatment]] = [:]
        var defaults: [String: Treatment] = [:]
        let listed = try file.keys("fields")
        for field in listed {
            guard fields.contains(field) else {
                throw file.error("fields.\(field)", "is not a kind of personal data (\(fields.joined(separator: ", ")))")
            }
            for role in try file.keys("fields.\(field)") {
                let key = "fields.\(field).\(role)"
                let name = try file.string(key)
                guard let treatment = Treatment(rawValue: name) else {
                    throw file.error(key, "must be one of \(Treatment.allCases.map(\.rawValue).joined(separator: ", ")), not \(name)")
                }
                if role == "default" {
                    defaults[field] = treatment
                } else {
                    guard roles.contains(role) else { throw file.error(key, "is not a role (\(roles.joined(separator: ", ")))") }
                    treatments[field, default: [:]][role] = treatment
                }
            }
            guard defaults[field] != nil else { throw file.error("fields.\(field).default", "is missing") }
        }
        for field in fields where !listed.contains(field) { throw file.error("fields.\(field)", "is missing") }
        let unmasked = try file.strings("freeTextUnmaskedRoles")
        for role in unmasked where !roles.contains(role) { throw file.error("freeTextUnmaskedRoles", "\(role) is not a role") }
        return MaskingPolicy(treatments: treatments, defaults: defaults, freeTextUnmaskedRoles: Set(unmasked))
    }
}
