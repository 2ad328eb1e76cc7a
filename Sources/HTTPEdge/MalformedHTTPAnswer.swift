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
/// When the bad bytes are inside the body of a request that has already been answered (a route
/// that answers without reading its body), that 400 would be a second answer to one request:
/// it is dropped and the connection is only closed. A head without exactly one `Host` (which
/// the parser lets through) is refused here the same way, and nothing after it is read.
public final class MalformedHTTPAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// What a server adds to the answer (its trace headers, a `Date`) and records of it (its
    /// log line), given the status, problem name and detail.
    public typealias Answering = @Sendable (_ status: HTTPResponse.Status, _ name: String, _ detail: String) -> HTTPFields
    /// A refusal's status, problem name, title and detail.
    public typealias Refusal = (status: HTTPResponse.Status, name: String, title: String, detail: String)

    /// The problem `type` is this + `malformedHTTP` or `headersTooLarge`.
    let typeBase: String
    let answering: Answering
    /// The problem for what the parser (or the Host check here) refused, until its answer has
    /// been rewritten, and whether the bad bytes were inside a request's body.
    private var refusal: (problem: Refusal, insideBody: Bool)?
    /// A head was refused here: what follows on the connection is not read.
    private var refusingHead = false
    private var pendingBody: [UInt8]?
    private var droppingAnswer = false
    /// Request heads and ends read, and answers written, on this connection.
    private var headsIn = 0
    private var endsIn = 0
    private var answersOut = 0

    /// One per connection; `typeBase` is the server's problem type prefix.
    public init(typeBase: String, answering: @escaping Answering = { _, _, _ in [:] }) {
        self.typeBase = typeBase
        self.answering = answering
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusingHead else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let problem = Self.hostProblem(head) {
                // Refused like bytes the parser refused: answered after the answers owed, then closed.
                refusingHead = true
                refusal = ((.badRequest, "malformedHTTP", Self.malformedTitle, problem + Self.closing), false)
                context.fireErrorCaught(HTTPParserError.invalidHeaderToken)
                return
            }
            headsIn += 1
        case .end: endsIn += 1
        case .body: break
        }
        context.fireChannelRead(data)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError, !refusingHead { refusal = (Self.refusal(error), headsIn > endsIn) }
        context.fireErrorCaught(error)
    }

    /// RFC 9112 §3.2: a request names its host in exactly one `Host` field (the HTTP/1 codec
    /// moves the first into `authority` and keeps any other as a field).
    static func hostProblem(_ head: HTTPRequest) -> String? {
        guard head.authority != nil else { return "the request has no Host header" }
        return head.headerFields[values: HTTPField.Name("Host")!].isEmpty ? nil : "the request has more than one Host header"
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where refusal != nil && head.status == .badRequest && head.headerFields[.contentLength] == "0":
            let (problem, insideBody) = refusal!
            refusal = nil
            if insideBody && answersOut >= headsIn {
                droppingAnswer = true
                promise?.succeed(())
                return
            }
            let body = CanonicalJSON.encode(.object([
                "type": .string(typeBase + problem.name), "title": .string(problem.title), "status": .integer(Int64(problem.status.code)),
                "detail": .string(problem.detail),
            ]))
            var fields = answering(problem.status, problem.name, problem.detail)
            fields[.contentType] = "application/problem+json"
            fields[.contentLength] = String(body.count)
            fields[.connection] = "close"
            pendingBody = body
            context.write(wrapOutboundOut(.head(HTTPResponse(status: problem.status, headerFields: fields))), promise: promise)
        case .body where droppingAnswer:
            promise?.succeed(())
        case .end where droppingAnswer:
            droppingAnswer = false
            promise?.succeed(())
            context.close(promise: nil)
        case .end(let trailers) where pendingBody != nil:
            var buffer = context.channel.allocator.buffer(capacity: pendingBody!.count)
            buffer.writeBytes(pendingBody!)
            pendingBody = nil
            answersOut += 1
            context.write(wrapOutboundOut(.body(buffer)), promise: nil)
            context.write(wrapOutboundOut(.end(trailers)), promise: promise)
        case .end:
            answersOut += 1
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    /// The problem for bytes the HTTP parser refused, or nil when `error` is not such a refusal
    /// (a route reading a body sees the same error).
    public static func refusal(_ error: any Error) -> Refusal? {
        (error as? HTTPParserError).map(refusal)
    }

    static func refusal(_ error: HTTPParserError) -> Refusal {
        if error == .headerOverflow {
            return (
                .requestHeaderFieldsTooLarge, "headersTooLarge", "The request head is too large",
                "the request head is over 80 KB or has more than 1,000 header fields" + closing
            )
        }
        return (.badRequest, "malformedHTTP", malformedTitle, error.debugDescription + closing)
    }

    static let malformedTitle = "The request is not valid HTTP/1.1"
    static let closing = "; the connection is closed"
}
