import Hummingbird
import Ledger
import NIOCore

/// Writing JSON answers, in canonical JSON so that the same members are always the same bytes.
extension Response {
    /// A JSON object answer with `status`.
    static func json(_ status: HTTPResponse.Status, _ object: [String: JSONValue]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(.object(object)))))
    }
}
