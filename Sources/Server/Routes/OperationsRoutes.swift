import Foundation
import Hummingbird
import Ledger

/// Health and metrics: public, so a load balancer and Prometheus need no token (rate-limited
/// per client address like every public route).
extension Service {
    func addOperationsRoutes(_ routes: RouteBuilder) {
        let loop = loop
        let metrics = metrics
        let witnesses = witnesses
        routes.on(.get, "/health/live", .public) { _, _ in Response.json(.ok, ["status": "live"]) }
        routes.on(.get, "/health/ready", .public) { _, _ in
            // Ready means writes would be taken: the ledger is open and the loop has not stopped.
            guard loop.acceptsWrites else {
                throw Problem(.serviceUnavailable, "notReady", "The service cannot take writes", detail: "the command loop stopped after a failed write; restart it")
            }
            return Response.json(.ok, ["status": "ready", "entries": .integer(Int64(loop.ledger.size))])
        }
        routes.on(.get, "/metrics", .public) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition(ledger: loop.ledger, witnesses: witnesses))))
        }
    }
}
