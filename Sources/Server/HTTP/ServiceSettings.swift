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

    /// Loads and checks the three files from the policy directory.
    public static func load(policies directory: String) throws(PolicyError) -> ServiceSettings {
        let roles = Role.allCases.map(\.rawValue)
        return ServiceSettings(
            access: try AccessPolicy.load(path: directory + "/access.yaml", roles: roles, known: Service.permissions),
            masking: try MaskingPolicy.load(path: directory + "/masking.yaml"),
            limits: try LimitsPolicy.load(path: directory + "/limits.yaml", roles: roles))
    }
}

/// The request context of every route.
public struct ServiceContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer (rate limits of public routes key on it, never on X-Forwarded-For).
    public let remoteAddress: SocketAddress?
    /// The W3C trace id of this request (from `traceparent`, or new).
    public var traceID = ""
    /// Bodies above this are refused with 413 before they are decoded (`limits.yaml`).
    public var bodyBytesMax = 64 * 1024

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { bodyBytesMax }
}
