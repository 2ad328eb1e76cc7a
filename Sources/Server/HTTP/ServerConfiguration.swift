import HTTPEdge
import Hummingbird
import Logging

extension Service {
    /// A connection must deliver a complete request head within this many seconds of opening or
    /// of its previous response, and a request's body may pause no longer; otherwise it is
    /// closed. Without it, idle and slow-header (slowloris) connections stay open forever and
    /// a few thousand of them exhaust the server's descriptors and memory.
    public static let requestHeadSecondsMax: Int64 = 10

    /// The HTTP/1.1 application every `serve` runs (and the tests' live servers) over `router`.
    /// Hummingbird's idle timer is reset only by decoded HTTP parts (a whole head, a body chunk)
    /// and by finished responses, never by single header bytes, so as an idle timeout it is also
    /// the deadline for a complete request head. A request being answered is never cut by it.
    /// Bytes that are not HTTP/1.1 are answered problem+json (`MalformedHTTPAnswer`); each
    /// request is timed from its arrival (`ArrivalStamp`).
    public static func application(
        router: Router<ServiceContext>, configuration: ApplicationConfiguration = .init(), logger: Logger? = nil,
        requestHeadSeconds: Int64 = requestHeadSecondsMax
    ) -> Application<RouterResponder<ServiceContext>> {
        Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [MalformedHTTPAnswer(typeBase: Problem.typeBase), ArrivalStamp()], idleTimeout: .seconds(requestHeadSeconds))),
            configuration: configuration, logger: logger)
    }
}
