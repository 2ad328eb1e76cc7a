import Core
import Foundation
import Hummingbird
import Ledger
import Rescue

/// An RFC 9457 `application/problem+json` error with a stable `type` per kind of refusal.
public struct Problem: HTTPResponseError, Sendable {
    public static let typeBase = "https://pahlawan-pangan.id/problems/"

    public let status: HTTPResponse.Status
    /// The stable name; `type` is `typeBase` + name.
    public let name: String
    public let title: String
    public var detail: String
    public var retryAfterSeconds: Int?
    /// More response headers (`Allow` for 405).
    public var headers: HTTPFields = [:]
    /// RFC 9457 extension members (e.g. `currentPriceRupiah` on a refused bid).
    public var extensions: [String: JSONValue] = [:]

    public init(_ status: HTTPResponse.Status, _ name: String, _ title: String, detail: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.name = name
        self.title = title
        self.detail = detail
        self.retryAfterSeconds = retryAfterSeconds
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: [String: JSONValue] = extensions.merging([
            "type": .string(Self.typeBase + name), "title": .string(title), "status": .integer(Int64(status.code)),
            "detail": .string(detail), "instance": .string(request.uri.path),
        ]) { _, standard in standard }
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(.object(body)))))
    }

    /// The problem for an engine refusal: its sentence-named rejection is the `type`, its kind
    /// the status.
    public static func rejected(_ rejection: RescueRejection) -> Problem {
        let status: HTTPResponse.Status =
            switch rejection.kind {
            case .notFound: .notFound
            case .conflict: .conflict
            case .forbidden: .forbidden
            case .invalid: .unprocessableContent
            }
        var problem = Problem(status, rejection.name, "The command was refused; nothing was written.", detail: rejection.name)
        if case .auctionBid(_, let price) = rejection {
            problem.extensions["currentPriceRupiah"] = .integer(price)
            problem.detail = "\(rejection.name); the lot's price now is Rp \(price)"
        }
        return problem
    }

    /// The problem for a command that did not take effect.
    public static func command(_ error: CommandError) -> Problem {
        switch error {
        case .rejected(let rejection): rejected(rejection)
        case .ledger(let failure), .loopStopped(let failure): ledger(failure)
        case .idempotencyKeyReused:
            Problem(.unprocessableContent, "idempotencyKeyReused", "The Idempotency-Key was used for a different request", detail: "use a new key for a new request")
        case .idempotentRequestInProgress:
            Problem(.conflict, "idempotentRequestInProgress", "The first request with this Idempotency-Key is still being written", detail: "retry shortly", retryAfterSeconds: 1)
        }
    }

    /// The problem for a failed or refused write.
    public static func ledger(_ error: LedgerError) -> Problem {
        if error.code == .pushback {
            return Problem(.serviceUnavailable, "pushback", "The ledger is busy", detail: "retry shortly", retryAfterSeconds: 1)
        }
        return Problem(.serviceUnavailable, "ledgerUnavailable", "The ledger cannot take writes", detail: error.description)
    }

    /// A protected route was called without a bearer token.
    public static let missingToken = Problem(.unauthorized, "missingToken", "A bearer token is required", detail: "send Authorization: Bearer <token>")

    /// The rate limit of `limits.yaml` was reached.
    public static func tooManyRequests(_ retryAfterSeconds: Int) -> Problem {
        Problem(.tooManyRequests, "rateLimited", "Too many requests", detail: "retry after \(retryAfterSeconds) s", retryAfterSeconds: retryAfterSeconds)
    }

    public static func badRequest(_ detail: String) -> Problem { Problem(.badRequest, "malformedRequest", "The request could not be read", detail: detail) }

    /// A body larger than the limit of `limits.yaml` (declared or real).
    public static func bodyTooLarge(_ bytesMax: Int) -> Problem {
        Problem(.contentTooLarge, "bodyTooLarge", "The request body is too large", detail: "at most \(bytesMax) bytes")
    }

    /// An integer outside the domain its field allows (for every caller's integer at least
    /// ±(2^53 − 1), what every JSON reader reproduces exactly).
    public static func numberOutOfRange(_ field: String) -> Problem {
        Problem(.badRequest, "numberOutOfRange", "A number is out of range", detail: "\(field) must be an integer within ±(2^53 − 1)")
    }
}
