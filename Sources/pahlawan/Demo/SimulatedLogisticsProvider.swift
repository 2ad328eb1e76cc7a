import Core
import Foundation
import Ledger
import Synchronization

/// The demo's stand-in for a GoSend/GrabExpress-style logistics API (the one external boundary
/// of dispatch): it books every delivery except during an outage, two hours of each simulated
/// day (16:00–18:00 WIB, the evening rush), when every call fails; the service's circuit
/// breaker then opens and our own couriers take the long deliveries.
final class SimulatedLogisticsProvider: LogisticsProvider {
    struct Outage: Error, CustomStringConvertible {
        var description: String { "the logistics provider is down (simulated outage)" }
    }

    let clock: SimulatedClock
    private let bookings = Atomic<Int>(0)

    init(clock: SimulatedClock) { self.clock = clock }

    func book(claim: String, pickup: (latitude: Int64, longitude: Int64), drop: (latitude: Int64, longitude: Int64), grams: Int64, coldChain: Bool)
        async throws -> String
    {
        let hour = ((clock.read() + 7 * 3_600_000_000) / 3_600_000_000) % 24
        if (16..<18).contains(hour) { throw Outage() }
        return "KIRIM-\(bookings.add(1, ordering: .relaxed).newValue)-\(claim)"
    }
}
