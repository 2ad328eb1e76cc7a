import HTTPTypes
import Ledger
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Turns Hummingbird's bare `400` (no body) for bytes that are not HTTP/1.1 into a problem+json
/// `malformedHTTP` naming what the parser refused, or `431 headersTooLarge` for a head over the
/// decoder's limits, so a client's every error reads the same way. It sits behind the HTTP
/// codec: it sees the parser's error on its way in, then rewrites the one answer Hummingbird
/// writes for it (always after the answers owed to earlier requests, then the connection closes).
public final class MalformedHTTPAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// The problem `type` is this + `malformedHTTP` or `headersTooLarge`.
    let typeBase: String
    /// What the parser refused, until its answer has been rewritten.
    private var refusal: HTTPParserError?
    private var pendingBody: [UInt8]?

    /// One per connection; `typeBase` is the server's problem type prefix.
    public init(typeBase: String) { self.typeBase = typeBase }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError { refusal = error }
        context.fireErrorCaught(error)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where refusal != nil && head.status == .badRequest && head.headerFields[.contentLength] == "0":
            let problem = Self.problem(for: refusal!, typeBase: typeBase)
            refusal = nil
            var fields = HTTPFields()
            fields[.contentType] = "application/problem+json"
            fields[.contentLength] = String(problem.body.count)
            fields[.connection] = "close"
            pendingBody = problem.body
            context.write(wrapOutboundOut(.head(HTTPResponse(status: problem.status, headerFields: fields))), promise: promise)
        case .end(let trailers) where pendingBody != nil:
            var buffer = context.channel.allocator.buffer(capacity: pendingBody!.count)
            buffer.writeBytes(pendingBody!)
            pendingBody = nil
            context.write(wrapOutboundOut(.body(buffer)), promise: nil)
            context.write(wrapOutboundOut(.end(trailers)), promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    /// The status and canonical problem+json body for a parser refusal.
    static func problem(for error: HTTPParserError, typeBase: String) -> (status: HTTPResponse.Status, body: [UInt8]) {
        let (status, name, title): (HTTPResponse.Status, String, String) =
            error == .headerOverflow
            ? (.requestHeaderFieldsTooLarge, "headersTooLarge", "The request head is too large")
            : (.badRequest, "malformedHTTP", "The request is not valid HTTP/1.1")
        let body: JSONValue = .object([
            "type": .string(typeBase + name), "title": .string(title), "status": .integer(Int64(status.code)),
            "detail": .string(error.debugDescription + "; the connection is closed"),
        ])
        return (status, CanonicalJSON.encode(body))
    }
}
