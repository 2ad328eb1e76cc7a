import ArgumentParser
import Foundation
import Rescue

/// `pahlawan bench dispatch`: one dispatch decision (the best eligible courier for a claim,
/// FORMAT §7.16) among --couriers couriers spread over Jakarta, against a scan of every
/// courier's distance (what a decision without the grid would cost) in the same run.
struct BenchDispatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "Dispatch decisions among --couriers couriers: median and p99 µs per decision, against a full scan of every courier in the same run.",
        discussion: """
            Figures: decision_median_us and decision_p99_us (target: median ≤ 50 µs among 10,000 couriers), \
            full_scan_median_us (the haversine distance to every courier, the cost without the grid), and their ratio. \
            Couriers are placed at random over a 60 × 60 km square around Jakarta with 5–25 km radii, a quarter of them \
            with cold chain; pickups at random in the same square, a third needing cold chain.
            """)

    @Option(help: "Couriers registered.") var couriers = 10_000
    @Option(help: "Decisions timed.") var decisions = 20_000
    @OptionGroup var bench: BenchOptions

    func run() throws {
        var random = SplitMix64(seed: 17)
        var book = LogisticsBook()
        var bases: [(Int64, Int64)] = []
        for number in 0..<couriers {
            let latitude = -6_208_800 + random.int(below: 540_000) - 270_000
            let longitude = 106_845_600 + random.int(below: 540_000) - 270_000
            bases.append((latitude, longitude))
            book.registerCourier(.init(
                id: "kurir-\(number)", role: .courier, region: "ID-JK", latitude: latitude, longitude: longitude,
                serviceRadiusMetres: 5_000 + random.int(below: 20_000), vehicleGrams: 10_000 + random.int(below: 40_000), coldChain: number % 4 == 0))
        }
        let policy = LogisticsPolicy.standard
        var pickups: [LogisticsBook.Dispatch] = []
        for number in 0..<1_024 {
            let latitude = -6_208_800 + random.int(below: 540_000) - 270_000
            let longitude = 106_845_600 + random.int(below: 540_000) - 270_000
            pickups.append(LogisticsBook.Dispatch(
                claim: "clm-\(number)", pickupLatitude: latitude, pickupLongitude: longitude, dropLatitude: latitude + 10_000, dropLongitude: longitude,
                needsColdChain: number % 3 == 0, expiresAt: 4_000_000_000_000_000, unplacedGrams: 5_000))
        }
        var found = 0
        var times: [Double] = []
        times.reserveCapacity(decisions)
        for index in 0..<decisions {
            let started = monotonicSeconds()
            if book.nextOffer(pickups[index & 1_023], now: 1_795_453_200_000_000, policy: policy) != nil { found += 1 }
            times.append((monotonicSeconds() - started) * 1_000_000)
        }
        var scans: [Double] = []
        var nearest = Int64.max
        for index in 0..<min(2_000, decisions) {
            let pickup = pickups[index & 1_023]
            let started = monotonicSeconds()
            for (latitude, longitude) in bases {
                nearest = min(nearest, CandidateSearch.distanceMetres(pickup.pickupLatitude, pickup.pickupLongitude, latitude, longitude))
            }
            scans.append((monotonicSeconds() - started) * 1_000_000)
        }
        times.sort()
        scans.sort()
        let median = times[times.count / 2], scanMedian = scans[scans.count / 2]
        bench.emit("bench dispatch (\(couriers) couriers, \(decisions) decisions; \(found) found a courier)", [
            ("decision_median_us", .number(median, digits: 2)),
            ("decision_p99_us", .number(times[times.count * 99 / 100], digits: 2)),
            ("full_scan_median_us", .number(scanMedian, digits: 2)),
            ("ratio_decision_to_full_scan", .number(median / scanMedian, digits: 4)),
            ("target_median_us", .number(50, digits: 0)),
        ])
        _ = nearest
    }
}
