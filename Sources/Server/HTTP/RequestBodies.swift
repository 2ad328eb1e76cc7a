import Compliance
import Foundation
import HTTPEdge
import Hummingbird
import NIOCore
import Rescue

/// Reading request bodies: at most the context's size, declared JSON, decoded strictly, free
/// text screened for personal data.
enum RequestBodies {
    /// The body's bytes, refused with 413 above the context's limit (a declared Content-Length
    /// above it was refused before the route ran, by `AdmissionMiddleware`), and with 415
    /// unless it is empty or declared JSON: reading a form-encoded or text body as JSON would
    /// take what the caller did not mean to send.
    static func bytes(_ request: Request, _ context: ServiceContext) async throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = Array(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw Problem.bodyTooLarge(context.maxUploadSize)
        } catch let cancelled as CancellationError {
            // The request timed out; AdmissionMiddleware answers that.
            throw cancelled
        } catch {
            // Only a body that really is too large is 413; broken framing (a bad chunk) is the
            // same malformedHTTP as any bytes that are not HTTP, and ends the connection; a
            // connection cut mid-body is the caller's malformed request.
            if let refusal = MalformedHTTPAnswer.refusal(error) {
                var problem = Problem(refusal.status, refusal.name, refusal.title, detail: refusal.detail)
                problem.headers[.connection] = "close"
                throw problem
            }
            throw Problem.badRequest("the body could not be read")
        }
        guard bytes.isEmpty || request.headers[.contentType].map(Self.isJSON) == true else {
            throw Problem(
                .unsupportedMediaType, "unsupportedMediaType", "The body must be JSON",
                detail: "send Content-Type: application/json (got \(request.headers[.contentType].map { String($0.prefix(100)) } ?? "none"))")
        }
        return bytes
    }

    /// `application/json` with at most the parameter `charset=utf-8` (RFC 8259 §11: JSON is UTF-8).
    static func isJSON(_ contentType: String) -> Bool {
        // On bytes: Foundation's trimming and lower-casing of every part was a visible share
        // of each write request.
        func lowered(_ part: Substring.UTF8View) -> [UInt8] {
            var bytes = Array(part)
            while let first = bytes.first, first == 0x20 || first == 0x09 { bytes.removeFirst() }
            while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
            return bytes.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        }
        let parts = contentType.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).map { lowered($0) }
        guard parts.first == Array("application/json".utf8) else { return false }
        return parts.dropFirst().allSatisfy { $0 == Array("charset=utf-8".utf8) || $0 == Array("charset=\"utf-8\"".utf8) }
    }

    /// Decodes a JSON body strictly, parsing it once (`StrictJSON`): a body that is not one
    /// JSON object, has a duplicated key, nests too deeply or is not UTF-8 is `malformedRequest`
    /// or `duplicateField`; then `unknownField` (at any depth), `missingField`, `wrongType`
    /// (null, a fraction or exponent where an integer is wanted) and `numberOutOfRange`
    /// (beyond ±(2^53 − 1)), each 400 naming the field. An empty body is `{}` for a route that
    /// takes no fields.
    static func decode<Body: StrictBody>(_ bytes: [UInt8], as type: Body.Type) throws -> Body {
        let value: StrictJSON.Value
        if bytes.isEmpty, Body.fields.isEmpty {
            value = .object([:])
        } else {
            value = try StrictJSON.parse(bytes)
        }
        guard case .object(let members) = value else { throw Problem.badRequest("the body must be a JSON object") }
        // Unknown fields first: a misspelt optional field must not pass as absent.
        let unknown = Set(members.keys).subtracting(Body.fields)
        guard unknown.isEmpty else {
            throw Problem(.badRequest, "unknownField", "The body has fields this route does not take", detail: unknown.sorted().joined(separator: ", "))
        }
        do {
            return try StrictJSON.decode(Body.self, from: value)
        } catch let problem as Problem {
            throw problem
        } catch {
            // A body type's own validation (none today) failing some other way.
            throw Problem.badRequest("the body does not match this route")
        }
    }

    /// Refuses free text that holds personal data (a NIK, phone number or e-mail address): the
    /// ledger never records it; put personal data in the vault (`POST /v1/subjects`).
    static func requireNoPersonalData(_ text: String, field: String) throws {
        guard !PersonalDataScreen.holdsPersonalData(text), PIIFormats.maskFreeText(text) == text else {
            throw Problem(
                .unprocessableContent, "personalDataInFreeText", "Free text may not hold personal data",
                detail: "\(field) holds what looks like a NIK, phone number, e-mail or street address; the ledger records pseudonymous ids only")
        }
    }
}
