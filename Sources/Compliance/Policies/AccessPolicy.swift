/// `policies/access.yaml`, validated: the permissions of each role. Deny by default: a role, or a
/// permission, that the file does not list has nothing.
public struct AccessPolicy: Sendable, Equatable {
    private let permissions: [String: Set<String>]

    /// Whether `role` has `permission`.
    public func allows(role: String, _ permission: String) -> Bool { permissions[role]?.contains(permission) ?? false }

    /// Loads `access.yaml`; every role must be a known role and every permission one that
    /// `known` (the service's routes) names. A problem names file, line, key and reason.
    public static func load(path: String, roles: [String], known: Set<String>) throws(PolicyError) -> AccessPolicy {
        guard let bytes = FileBytes.read(path) else { throw PolicyError(file: path, line: nil, key: nil, reason: "cannot read the file") }
        let file = try PolicyFile(path: path, text: String(decoding: bytes, as: UTF8.self))
        try file.expectVersion()
        var permissions: [String: Set<String>] = [:]
        for role in try file.keys("roles") {
            guard roles.contains(role) else { throw file.error("roles.\(role)", "is not a role (\(roles.joined(separator: ", ")))") }
            let listed = try file.strings("roles.\(role)")
            for permission in listed where !known.contains(permission) {
                throw file.error("roles.\(role)", "\(permission) is not a permission of this service (\(known.sorted().joined(separator: ", ")))")
            }
            permissions[role] = Set(listed)
        }
        return AccessPolicy(permissions: permissions)
    }
}
