import Hummingbird

/// The request context of every route: who is calling, once the bearer token is verified.
public struct ServiceContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Bodies above this are refused with 413 before they are decoded.
    public var maxUploadSize: Int { 64 * 1024 }
}
