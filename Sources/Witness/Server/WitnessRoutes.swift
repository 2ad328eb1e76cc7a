import HTTPEdge
import Hummingbird
import Ledger
import Logging
import NIOCore
import NIOPosix

extension Witness {
    /// The witness's HTTP interface: `POST /add-checkpoint` exactly as C2SP tlog-witness v1
    /// specifies (ledger/FORMAT.md §10.2), `GET /health` and `GET /key` (its verifier key).
    /// Errors other than 409 (whose body the spec fixes) are RFC 9457 problem+json.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/add-checkpoint") { request, context -> Response in
            let body: [UInt8]
            do {
                body = Array(try await request.body.collect(upTo: AddCheckpoint.byteCountMax).readableBytesView)
            } catch {
                return Self.problem(.contentTooLarge, "bodyTooLarge", "an add-checkpoint body is at most \(AddCheckpoint.byteCountMax) bytes")
            }
            // Verifying, signing and the fdatasync block: off the event loop, on NIO's thread pool.
            let answer = try await NIOThreadPool.singleton.runIfActive { self.addCheckpoint(body) }
            switch answer {
            case .cosigned(let lines):
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: lines)))
            case .conflict(let size, _):
                return Response(status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: .init(byteBuffer: ByteBuffer(string: "\(size)\n")))
            case .badRequest(let detail): return Self.problem(.badRequest, "malformedRequest", detail)
            case .forbidden(let detail): return Self.problem(.forbidden, "unverifiedCheckpoint", detail)
            case .unknownLog(let detail): return Self.problem(.notFound, "unknownLog", detail)
            case .inconsistent(let detail): return Self.problem(.unprocessableContent, "inconsistentCheckpoint", detail)
            case .unavailable(let detail): return Self.problem(.serviceUnavailable, "storageFailed", detail)
            }
        }
        router.get("/health") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/key") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: self.key.verifier.text + "\n")))
        }
        return router
    }

    /// The witness's HTTP/1.1 application on `host`:`port` (0: any free port, told to
    /// `onServerRunning` with the listening channel).
    public func application(
        host: String, port: Int, logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            server: .http1(configuration: .init(additionalChannelHandlers: [MalformedHTTPAnswer(typeBase: Self.problemTypeBase)], idleTimeout: .seconds(10))),
            configuration: .init(address: .hostname(host, port: port), serverName: "pahlawan-witness"), onServerRunning: onServerRunning,
            logger: logger)
    }

    static let problemTypeBase = "https://pahlawan-pangan.id/problems/witness/"

    static func problem(_ status: HTTPResponse.Status, _ type: String, _ detail: String) -> Response {
        let json = "{\"type\":\"\(problemTypeBase)\(type)\",\"title\":\(jsonString(status.reasonPhrase)),\"status\":\(status.code),\"detail\":\(jsonString(detail))}"
        return Response(status: status, headers: [.contentType: "application/problem+json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    private static func jsonString(_ text: String) -> String { String(decoding: CanonicalJSON.encode(.string(text)), as: UTF8.self) }
}
