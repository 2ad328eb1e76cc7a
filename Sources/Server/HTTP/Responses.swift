import Core
import Compliance
import Foundation
import Hummingbird
import Ledger
import Rescue

/// Reading request bodies strictly and writing JSON answers.
enum Responses {
    /// The body's bytes, refused with 413 above the context's limit.
    static func bytes(_ request: Request, _ context: ServiceContext) async throws -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
        } catch {
            throw Problem(.contentTooLarge, "bodyTooLarge", "The request body is too large", detail: "at most \(context.maxUploadSize) bytes")
        }
    }

    /// Decodes a JSON body strictly: unknown fields and wrong types are refused with 400.
    static func decode<Body: StrictBody>(_ bytes: [UInt8], as type: Body.Type) throws -> Body {
        if bytes.isEmpty, Body.fields.isEmpty, let empty = try? JSONDecoder().decode(Body.self, from: Data("{}".utf8)) { return empty }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw Problem.badRequest("the body must be a JSON object")
        }
        let unknown = Set(object.keys).subtracting(Body.fields)
        guard unknown.isEmpty else {
            throw Problem(.badRequest, "unknownField", "The body has fields this route does not take", detail: unknown.sorted().joined(separator: ", "))
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            throw Problem(.badRequest, "missingField", "A required field is missing", detail: key.stringValue)
        } catch let DecodingError.typeMismatch(_, context) {
            throw Problem(.badRequest, "wrongType", "A field has the wrong type", detail: context.codingPath.map(\.stringValue).joined(separator: "."))
        } catch let DecodingError.valueNotFound(_, context) {
            throw Problem(.badRequest, "wrongType", "A field has the wrong type", detail: context.codingPath.map(\.stringValue).joined(separator: ".") + " is null")
        } catch {
            throw Problem.badRequest("the body does not match this route")
        }
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: JSONValue]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(.object(object)))))
    }

    /// A path parameter that must be a pseudonymous id.
    static func id(_ context: ServiceContext, _ name: String) throws -> String {
        guard let value = context.parameters.get(name), ParticipantRegistry.isPseudonymous(value) else {
            throw Problem.badRequest("the \(name) id in the path is not an id")
        }
        return value
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
