import Hummingbird
import NIOCore

/// The request context of every route.
public struct ServiceContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer (rate limits of public routes key on it, never on X-Forwarded-For).
    public let remoteAddress: SocketAddress?
    /// The W3C trace id of this request (from `traceparent`, or new).
    public var traceID = ""
    /// Bodies above this are refused with 413 before they are decoded (`limits.yaml`).
    public var bodyBytesMax = 64 * 1024
    /// When the request arrived (`DispatchTime` uptime ns): its head decoded, before it waited
    /// for a handler (`ArrivalStamp`; where that handler is absent, when the trace began).
    public var arrivedAt: UInt64 = 0
    /// The verified caller: set by `AuthenticationMiddleware` on protected routes, nil on public ones.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { bodyBytesMax }

    /// The verified caller of a protected route.
    /// - Throws: the 401 `missingToken` problem when no token was verified for this request.
    public func requirePrincipal() throws(Problem) -> Principal {
        guard let principal else { throw Problem.missingToken }
        return principal
    }
}
