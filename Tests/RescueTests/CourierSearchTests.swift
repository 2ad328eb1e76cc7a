import PropertyBased
import Testing
@testable import Rescue

/// The dispatcher's courier search (FORMAT §7.16) against a brute-force ranking of every
/// courier: the grid and its early stop must never miss a better courier.
@Suite struct CourierSearchTests {
    @Test func theGridFindsWhatAFullScanFinds() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...1_000_000)) { seed in
            var random = SplitMix64(seed: UInt64(seed))
            var book = LogisticsBook()
            var couriers: [(id: String, latitude: Int64, longitude: Int64, radius: Int64, cold: Bool)] = []
            for number in 0..<(1 + Int(random.int(below: 300))) {
                let courier = (
                    id: "k-\(number)", latitude: -6_208_800 + random.int(below: 400_000) - 200_000, longitude: 106_845_600 + random.int(below: 400_000) - 200_000,
                    radius: 1_000 + random.int(below: 29_000), cold: random.chance(percent: 30))
                couriers.append(courier)
                book.registerCourier(.init(
                    id: courier.id, role: .courier, region: "ID-JK", latitude: courier.latitude, longitude: courier.longitude, serviceRadiusMetres: courier.radius,
                    vehicleGrams: 5_000, coldChain: courier.cold))
            }
            let pickup = (latitude: -6_208_800 + random.int(below: 400_000) - 200_000, longitude: 106_845_600 + random.int(below: 400_000) - 200_000)
            let cold = random.chance(percent: 40)
            let declined = Set(couriers.filter { _ in random.chance(percent: 10) }.map(\.id))
            var dispatch = LogisticsBook.Dispatch(
                claim: "c", pickupLatitude: pickup.latitude, pickupLongitude: pickup.longitude, dropLatitude: pickup.latitude, dropLongitude: pickup.longitude,
                needsColdChain: cold, expiresAt: .max, unplacedGrams: 1_000)
            dispatch.declined = declined
            let found = book.nextOffer(dispatch, now: 0, policy: .standard)?.courier
            // Brute force: every eligible courier, ranked by whole km, then id (no deliveries yet).
            let expected = couriers.filter { courier in
                !declined.contains(courier.id) && (!cold || courier.cold)
                    && CandidateSearch.distanceMetres(pickup.latitude, pickup.longitude, courier.latitude, courier.longitude) <= courier.radius
            }.min { a, b in
                let da = CandidateSearch.distanceMetres(pickup.latitude, pickup.longitude, a.latitude, a.longitude) / 1_000
                let db = CandidateSearch.distanceMetres(pickup.latitude, pickup.longitude, b.latitude, b.longitude) / 1_000
                return da != db ? da < db : a.id < b.id
            }?.id
            #expect(found == expected, "seed \(seed)")
        }
    }
}
