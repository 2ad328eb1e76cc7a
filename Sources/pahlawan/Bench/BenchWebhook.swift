import AsyncHTTPClient
import Core
import Foundation
import Ledger
import NIOCore
import NIOHTTP1
import Rescue
import Server

/// The POS webhook (FORMAT §7.15) end to end, and the trivial route, through one closed-loop
/// client in the same run: `concurrency` requests in flight, each sent when one is answered.
/// Every webhook is a new vendor event signed beforehand (HMAC over t.body), so the service
/// does the whole work: signature, mapping, durable `pos.synced` and `surplus.posted`.
enum WebhookLoad {
    struct Result {
        var requestsPerSecond = 0.0
        var non2xx = 0
        var firstFailure: String?
    }

    /// Connects a till for bench-site (Jayapura: no recipient in reach, so each post is one
    /// `pos.synced` and one `surplus.posted`) and signs `count` end-of-day reports.
    static func prepare(_ loop: CommandLoop, run: String, count: Int) async throws -> (connection: String, requests: [(body: [UInt8], signature: String)]) {
        let connection = "pos-bench-\(run)"
        try await loop.execute(.connectPos(.init(id: connection, site: "bench-site", vendor: .canonical, mapping: "warungDonation")), actor: CitySimulator.operatorActor)
        let secret = loop.posSecret(connection: connection)
        let seconds = max(Ledger.wallClockMicroseconds(), loop.ledger.lastEntryTime) / 1_000_000
        let requests = (0..<count).map { index in
            let body = TillWebhook.body(TillDelivery(connection: connection, vendor: .canonical, eventID: "evt-\(run)-\(index)", lines: [
                .init(sku: "NSI-\(index % 50)", category: "Nasi", quantity: 5, gramsEach: 250, priceRupiahEach: 12_000),
            ]))
            return (body, TillWebhook.signature(secret: secret, seconds: seconds, body: body))
        }
        return (connection, requests)
    }

    static func run(url: String, method: HTTPMethod, requests: [(body: [UInt8], signature: String)]?, concurrency: Int, seconds: Int) async throws -> Result {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let next = Locked(0)
        let end = ContinuousClock.now + .seconds(seconds)
        let start = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: (Int, Int, String?).self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var done = 0, failed = 0
                    var failure: String?
                    while ContinuousClock.now < end {
                        let index = next.withLock { value in
                            defer { value += 1 }
                            return value
                        }
                        var request = HTTPClientRequest(url: url)
                        request.method = method
                        if let requests {
                            guard index < requests.count else { break }
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.headers.add(name: TillWebhook.headerName, value: requests[index].signature)
                            request.body = .bytes(ByteBuffer(bytes: requests[index].body))
                        }
                        let response = try await client.execute(request, timeout: .seconds(30))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        if (200..<300).contains(response.status.code) { done += 1 } else {
                            failed += 1
                            if failure == nil { failure = "\(response.status.code) \(String(buffer: body).prefix(300))" }
                        }
                    }
                    return (done, failed, failure)
                }
            }
            return try await group.reduce(into: [(Int, Int, String?)]()) { $0.append($1) }
        }
        let elapsed = ContinuousClock.now - start
        try await client.shutdown()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(
            requestsPerSecond: Double(outcomes.reduce(0) { $0 + $1.0 }) / seconds, non2xx: outcomes.reduce(0) { $0 + $1.1 },
            firstFailure: outcomes.compactMap(\.2).first)
    }
}
