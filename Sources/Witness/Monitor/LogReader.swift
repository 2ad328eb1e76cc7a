import AsyncHTTPClient
import Foundation
import Ledger
import NIOCore

/// The log's public reads over HTTP, as any C2SP tlog-tiles client makes them: `GET /checkpoint`,
/// `GET /checkpoint/cosigned`, hash tiles and entry bundles. Nothing else (no token, no private
/// route). A 404 is an answer (nil); a refusal to serve now (429, 503) is waited out as its
/// `Retry-After` asks, a few times; any other failure is `unavailable`.
struct LogReader: Sendable {
    /// `https://host[:port][/prefix]`, without a trailing slash.
    let base: String
    let client: HTTPClient
    let timeout: TimeAmount
    /// How often a 429 or 503 is retried before the poll gives up.
    let retriesMax = 10

    /// The largest entry bundle: 256 entries of at most 65,535 bytes, each behind 2 length bytes.
    static let bundleByteCountMax = TilePath.width * (2 + EntryBody.byteCountMax)
    static let hashTileByteCount = TilePath.width * Hash.byteCount

    init(base: String, client: HTTPClient = .shared, timeout: TimeAmount) {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.client = client
        self.timeout = timeout
    }

    /// The body of `GET <base>/<path>`, or nil for 404.
    func get(_ path: String, limit: Int) async throws(MonitorFailure) -> [UInt8]? {
        var attempt = 0
        while true {
            let url = base + "/" + path
            do {
                let response = try await client.execute(HTTPClientRequest(url: url), timeout: timeout)
                switch response.status.code {
                case 200:
                    let body = try await response.body.collect(upTo: limit)
                    return Array(body.readableBytesView)
                case 404:
                    _ = try? await response.body.collect(upTo: 1 << 20)
                    return nil
                case 429 where attempt < retriesMax, 503 where attempt < retriesMax:
                    _ = try? await response.body.collect(upTo: 1 << 20)
                    let seconds = response.headers.first(name: "Retry-After").flatMap { Int($0) } ?? 1
                    attempt += 1
                    try await Task.sleep(for: .seconds(min(max(seconds, 1), 60)))
                    continue
                default:
                    let body = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
                    throw MonitorFailure(.unavailable, "GET \(url) answered HTTP \(response.status.code) \(body.prefix(300))")
                }
            } catch let failure as MonitorFailure {
                throw failure
            } catch {
                throw MonitorFailure(.unavailable, "GET \(url) failed: \(error)")
            }
        }
    }

    /// A tile or bundle that may be partial: `<path>.p/<width>`, and when the log no longer
    /// serves that partial one because the tile has since filled up, the full tile (C2SP
    /// tlog-tiles lets a client fall back to it). Returns the bytes and the path that answered,
    /// or nil when neither exists.
    func getTile(
        index: UInt64, width: Int, limit: Int, path: (_ index: UInt64, _ width: Int) -> String
    ) async throws(MonitorFailure) -> (bytes: [UInt8], path: String)? {
        let first = path(index, width)
        if let bytes = try await get(first, limit: limit) { return (bytes, first) }
        guard width < TilePath.width else { return nil }
        let full = path(index, TilePath.width)
        return try await get(full, limit: limit).map { ($0, full) }
    }
}
