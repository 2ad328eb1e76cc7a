import Compliance
import Hummingbird
import NIOCore

/// The policy files the service itself reads (the engines read theirs through `PolicySet`):
/// `access.yaml`, `masking.yaml` and `limits.yaml`.
public struct ServiceSettings: Sendable {
    public var access: AccessPolicy
    public var masking: MaskingPolicy
    public var limits: LimitsPolicy

    public init(access: AccessPolicy, masking: MaskingPolicy, limits: LimitsPolicy) {
        self.access = access
        self.masking = masking
        self.limits = limits
    }

    /// Loads and checks the three files from the policy directory; `access.yaml` may grant only
    /// the service's permissions (`Permission`) to its roles.
    /// - Throws: `PolicyError` naming the file, line, key and reason of the first problem.
    public static func load(policies directory: String) throws(PolicyError) -> ServiceSettings {
        let roles = Role.allCases.map(\.rawValue)
        return ServiceSettings(
            access: try AccessPolicy.load(path: directory + "/access.yaml", roles: roles, known: Set(Permission.allCases.map(\.rawValue))),
            masking: try MaskingPolicy.load(path: directory + "/masking.yaml"),
            limits: try LimitsPolicy.load(path: directory + "/limits.yaml", roles: roles))
    }
}
