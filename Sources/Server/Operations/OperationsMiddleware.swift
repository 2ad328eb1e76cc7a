import Compliance
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import Prometheus
import Synchronization

/// W3C trace context and request logs: takes the trace id of a valid `traceparent` (or makes
/// one), answers it as `X-Trace-ID` and in a `traceparent` of this hop on every response
/// (errors included), and logs one JSON line per request through the masking of log lines,
/// timed from the request's arrival (`duration_us`, of which `queued_us` before this ran).
struct TraceMiddleware: RouterMiddleware {
    let logger: Logger
    /// The logger's handler when it writes request lines directly (`MaskingLogHandler.logRequest`).
    private let requestLog: MaskingLogHandler?

    init(logger: Logger) {
        self.logger = logger
        requestLog = (logger.handler as? MaskingLogHandler).flatMap { $0.writesRequestLines ? $0 : nil }
    }

    func handle(_ request: Request, context: ServiceContext, next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        var context = context
        let started = DispatchTime.now().uptimeNanoseconds
        context.arrivedAt = ArrivalStamp.arrival(request.headers, now: started) ?? started
        let (traceID, parentID) = TraceParent.ids(continuing: request.headers[.traceparent])
        context.traceID = traceID
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            // Left to Hummingbird, any other error was a bare 500: no problem+json, no trace id
            // and no request line. The error itself goes to the log (masked), not to the caller.
            logger.error("request failed", metadata: ["trace_id": .stringConvertible(ServiceMadeLogValue(context.traceID)), "error": "\(error)"])
            response = try Problem(
                .internalServerError, "internalError", "The service could not answer",
                detail: "a write may or may not have completed: retry with the same Idempotency-Key to learn which; quote the X-Trace-ID to the operator"
            ).response(from: request, context: context)
        }
        response.headers[.traceID] = context.traceID
        response.headers[.traceparent] = "00-\(context.traceID)-\(parentID)-01"
        let finished = DispatchTime.now().uptimeNanoseconds
        let line = MaskingLogHandler.RequestLine(
            // Drawn by us or checked by `TraceParent.traceID`: nothing for the masking to find.
            traceID: context.traceID, method: request.method.rawValue, path: request.uri.path, route: context.endpointPath ?? "unmatched",
            status: response.status.code,
            // From arrival: the wait for a handler is part of the caller's wait.
            durationMicroseconds: (finished - context.arrivedAt) / 1000, queuedMicroseconds: (started - context.arrivedAt) / 1000)
        if let requestLog { requestLog.logRequest(line) } else { logger.info("request", metadata: line.metadata) }
        return response
    }
}

/// `traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>` (W3C Trace Context §3.2).
enum TraceParent {
    /// A new random trace id that the log masking leaves whole (about one draw in ten has a run
    /// of 10+ decimal digits and is drawn again), so a caller that sends it back is continued;
    /// and this hop's parent id. One draw of random bytes for both.
    static func draw() -> (traceID: String, parentID: String) {
        while true {
            let bytes = Sodium.randomBytes(24)
            let id = Hex.encode(bytes[..<16])
            // A run of 10+ digits is drawn again at once: the masking would run its patterns on it.
            if PIIFormats.asciiHoldsLongDigitRun(id) == false, PIIFormats.isLogSafe(id) { return (id, Hex.encode(bytes[16...])) }
        }
    }

    /// This hop's ids: the trace id of a valid `traceparent` (continued) or a drawn one, and a
    /// new parent id.
    static func ids(continuing header: String?) -> (traceID: String, parentID: String) {
        if let continued = header.flatMap(traceID) { return (continued, Hex.encode(Sodium.randomBytes(8))) }
        return draw()
    }

    static func traceID(_ header: String) -> String? {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            // Lowercase ASCII hex on the bytes: `Character.isHexDigit` also takes fullwidth
            // digits, which no free-text pattern reads, so a NIK could ride through the log.
            parts.allSatisfy({ $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } }),
            parts[1] != String(repeating: "0", count: 32), parts[2] != String(repeating: "0", count: 16),
            // Continued only if the log masking leaves it whole (no run of 10+ decimal digits):
            // otherwise it could carry a NIK or phone number into the log, or be logged half masked.
            PIIFormats.isLogSafe(String(parts[1]))
        else { return nil }
        return String(parts[1])
    }
}

/// Bounded concurrency and the request timeout of `limits.yaml`: beyond the bound a request
/// gets 503 `overloaded` at once; one unanswered after the timeout gets 503 `requestTimedOut`
/// (its work, if it was a write, still completes or not as a whole; retry with the same
/// Idempotency-Key to learn which).
struct AdmissionMiddleware: RouterMiddleware {
    let concurrentMax: Int
    let timeoutSeconds: Int
    let bodyBytesMax: Int
    let inFlight: InFlight
    let saturation: Prometheus.Gauge

    final class InFlight: Sendable {
        let count = Atomic<Int>(0)
        let deadlines = RequestDeadlines()
    }

    func handle(_ request: Request, context: ServiceContext, next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        // A declared length over the limit is refused from the header, at once: waiting for
        // (or reading) a body we will refuse anyway only holds a slot until the timeout.
        if let declared = request.headers[.contentLength], Self.declares(declared, moreThan: bodyBytesMax) {
            throw Problem.bodyTooLarge(bodyBytesMax)
        }
        let now = inFlight.count.wrappingAdd(1, ordering: .relaxed).newValue
        saturation.set(Double(now) / Double(concurrentMax))
        defer { inFlight.count.wrappingSubtract(1, ordering: .relaxed) }
        guard now <= concurrentMax else {
            throw Problem(.serviceUnavailable, "overloaded", "Too many requests in progress", detail: "retry shortly", retryAfterSeconds: 1)
        }
        var context = context
        context.bodyBytesMax = bodyBytesMax
        let timeout = timeoutSeconds
        let deadlines = inFlight.deadlines
        // A child task of its own, so the deadline cancels this request and not the connection's
        // task (which serves the connection's later requests). `async let` awaits the child
        // before this returns, so `next` does not outlive the call; the cancellation stops body
        // reads and sleeps at once (a command already queued on the ledger completes, durable or
        // not, in milliseconds).
        return try await withoutActuallyEscaping(next) { next in
            nonisolated(unsafe) let next = next
            nonisolated(unsafe) let context = context
            async let response = deadlines.run(
                seconds: timeout,
                timedOut: Problem(
                    .serviceUnavailable, "requestTimedOut", "The request took too long",
                    detail: "no answer within \(timeout) s; a write may still complete: retry with the same Idempotency-Key")
            ) { try await next(request, context) }
            return try await response
        }
    }
}

extension AdmissionMiddleware {
    /// Whether a Content-Length value declares more than `bytesMax` bytes (digits too many for
    /// an Int do); a value that is not a length is left to the HTTP parser.
    static func declares(_ contentLength: String, moreThan bytesMax: Int) -> Bool {
        guard !contentLength.isEmpty, contentLength.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return false }
        return Int(contentLength).map { $0 > bytesMax } ?? true
    }
}

extension HTTPField.Name {
    static let traceparent = Self("traceparent")!
    static let traceID = Self("X-Trace-ID")!
    static let idempotencyKey = Self("Idempotency-Key")!
    /// A till's webhook signature (FORMAT §7.15, `WebhookSignature`).
    static let pahlawanSignature = Self("Pahlawan-Signature")!
}
