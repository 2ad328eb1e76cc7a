import Foundation
import HTTPEdge
import Hummingbird
import Ledger
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
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [MalformedHTTPAnswer(typeBase: Problem.typeBase, answering: answeringMalformedHTTP), ArrivalStamp()],
                    idleTimeout: .seconds(requestHeadSeconds))),
            configuration: configuration, logger: logger)
    }

    /// Like every other answer, the one to bytes that are not HTTP carries a trace id of its own
    /// and a `Date`, and is logged as a request (with no method or path: there was none).
    @Sendable static func answeringMalformedHTTP(_ status: HTTPResponse.Status, _ name: String, _ detail: String) -> HTTPFields {
        let (traceID, parentID) = TraceParent.draw()
        Logger(label: "pahlawan.http").info(
            "request",
            metadata: [
                "trace_id": .stringConvertible(ServiceMadeLogValue(traceID)), "method": "-", "path": "-", "route": "unparsed", "status": "\(status.code)",
                "problem": "\(name)", "detail": "\(detail)",
            ])
        return [.traceID: traceID, .traceparent: "00-\(traceID)-\(parentID)-01", .date: httpDate(Date())]
    }

    /// An IMF-fixdate (RFC 9110 §5.6.7), for the rare answers Hummingbird does not date itself.
    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
