import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Rescue
import Server
import Synchronization
import Testing

/// Pahlawan-Express over HTTP (FORMAT §7.16): dispatch escalates on a decline and on a lapsed
/// offer, a small vehicle carries part and the rest is re-dispatched, a courier batches legs up to the limit,
/// picks up with the code, delivers and earns the policy's points; a long delivery goes to the
/// logistics provider through its circuit breaker, and to our couriers while it is open.
@Suite(.serialized) struct CourierAPITests {
    typealias Fixture = ServiceTests.Fixture

    /// A logistics provider that fails while `failing` is set, counting its calls.
    final class FlakyProvider: LogisticsProvider {
        let failing = Atomic<Bool>(true)
        let calls = Atomic<Int>(0)
        struct Down: Error {}

        func book(claim: String, pickup: (latitude: Int64, longitude: Int64), drop: (latitude: Int64, longitude: Int64), grams: Int64, coldChain: Bool)
            async throws -> String
        {
            calls.add(1, ordering: .relaxed)
            if failing.load(ordering: .relaxed) { throw Down() }
            return "BOOKING-\(claim)"
        }
    }

    /// A clock the test moves.
    final class Clock: Sendable {
        let now = Atomic<Int64>(Ledger.wallClockMicroseconds())
        func advance(seconds: Int64) { now.add(seconds * 1_000_000, ordering: .relaxed) }
        var function: @Sendable () -> Int64 { { self.now.load(ordering: .relaxed) } }
    }

    static func register(_ client: some TestClientProtocol, _ fixture: Fixture, _ bodies: [String]) async throws {
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        for body in bodies {
            try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: body)) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }
        }
    }

    static func courier(_ id: String, km: Int64, grams: Int64, cold: Bool = false) -> String {
        #"{"id":"\#(id)","role":"courier","region":"ID-JK","latitude":\#(-6208800 + km * 9_000),"longitude":106845600,"serviceRadiusMetres":20000,"vehicleGrams":\#(grams),"coldChain":\#(cold)}"#
    }

    /// A donation accepted by ngo-jkt-1 (1 km from the site): its claim and pickup code.
    static func claimedDonation(_ client: some TestClientProtocol, _ fixture: Fixture, portions: Int = 10, temperature: String = "ambient") async throws -> (String, String) {
        let site = try await fixture.bearer("site-jkt-1", .provider)
        let expiresAt = Ledger.wallClockMicroseconds() + 3_000_000_000
        let offer = try await client.execute(uri: "/v1/surplus", method: .post, headers: site, body: ByteBuffer(
            string: #"{"category":"mixedMeals","grams":\#(portions * 420),"portions":\#(portions),"latitude":-6208800,"longitude":106845600,"temperature":"\#(temperature)","expiresAt":\#(expiresAt),"priceRupiah":0}"#)) {
            ServiceTests.json($0)["offer"] as? String ?? ""
        }
        let ngo = try await fixture.bearer("ngo-jkt-1", .recipient)
        let answer = try await client.execute(uri: "/v1/matches/\(offer)/accept", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
        return (answer["claim"] as? String ?? "", answer["pickupCode"] as? String ?? "")
    }

    @Test func dispatchEscalatesSplitsALoadAndAwardsThePolicysPoints() async throws {
        let clock = Clock()
        let fixture = try await Fixture(clock: clock.function)
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            // Nearest first: near (1 km, 2 kg bike), mid (3 km, 10 kg), far (6 km, 10 kg), cold van (8 km).
            try await Self.register(client, fixture, [
                Self.courier("kurir-near", km: 1, grams: 2_000), Self.courier("kurir-mid", km: 3, grams: 10_000),
                Self.courier("kurir-far", km: 6, grams: 10_000), Self.courier("kurir-van", km: 8, grams: 200_000, cold: true),
            ])
            try await client.execute(uri: "/v1/participants", method: .post, headers: try await fixture.bearer("op-1", .operator),
                                     body: ByteBuffer(string: #"{"id":"kurir-bad","role":"courier","region":"ID-JK","latitude":-6208800,"longitude":106845600,"serviceRadiusMetres":20000,"vehicleGrams":0}"#)) {
                #expect($0.status == .badRequest && ServiceTests.type($0) == "fieldOutOfRange", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/participants", method: .post, headers: try await fixture.bearer("op-1", .operator),
                                     body: ByteBuffer(string: #"{"id":"kurir-novan","role":"courier","region":"ID-JK","latitude":-6208800,"longitude":106845600,"serviceRadiusMetres":20000}"#)) {
                #expect($0.status == .unprocessableContent && ServiceTests.type($0) == "vehicleIsMissing", "\(String(buffer: $0.body))")
            }
            let (claim, code) = try await Self.claimedDonation(client, fixture)
            let ngo = try await fixture.bearer("ngo-jkt-1", .recipient)
            try await client.execute(uri: "/v1/claims/clm-none/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .notFound && ServiceTests.type($0) == "claimNotFound", "\(String(buffer: $0.body))")
            }
            let near = try await fixture.bearer("kurir-near", .courier), mid = try await fixture.bearer("kurir-mid", .courier)
            let far = try await fixture.bearer("kurir-far", .courier)
            let site = try await fixture.bearer("site-jkt-1", .provider)
            // Only the claimant asks.
            try await client.execute(uri: "/v1/claims/\(claim)/courier", method: .post, headers: try await fixture.bearer("ngo-jkt-2", .recipient), body: ByteBuffer(string: "{}")) {
                #expect($0.status == .forbidden && ServiceTests.type($0) == "actorIsNotTheClaimant", "\(String(buffer: $0.body))")
            }
            let first = try await client.execute(uri: "/v1/claims/\(claim)/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
            #expect(first["offeredTo"] as? String == "kurir-near" && first["offeredGrams"] as? Int == 2_000, "\(first)")
            try await client.execute(uri: "/v1/claims/\(claim)/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "claimIsAlreadyDispatched", "\(String(buffer: $0.body))")
            }
            // Another courier cannot answer someone else's offer.
            try await client.execute(uri: "/v1/couriers/offers/\(claim)/accept", method: .post, headers: mid, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .notFound && ServiceTests.type($0) == "noOfferForThisCourier", "\(String(buffer: $0.body))")
            }
            // The bike takes 2 kg of 4.2: the rest goes to the next courier at once.
            let split = try await client.execute(uri: "/v1/couriers/offers/\(claim)/accept", method: .post, headers: near, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
            #expect(split["assignedGrams"] as? Int == 2_000 && split["offeredTo"] as? String == "kurir-mid" && split["offeredGrams"] as? Int == 2_200, "\(split)")
            // mid declines; far is asked, lets the window lapse; the tick passes it over to the van.
            let declined = try await client.execute(uri: "/v1/couriers/offers/\(claim)/decline", method: .post, headers: mid, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
            #expect(declined["offeredTo"] as? String == "kurir-far", "\(declined)")
            clock.advance(seconds: 301)
            try await client.execute(uri: "/v1/couriers/offers/\(claim)/accept", method: .post, headers: far, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "courierOfferHasExpired", "\(String(buffer: $0.body))")
            }
            let ticked = try fixture.loop.tick().map(\.body)
            #expect(ticked.map(\.kind) == ["courier.declined", "courier.offered"] && ticked.first?.payload["reason"] == .string("timedOut"))
            #expect(ticked.last?.payload["courier"] == .string("kurir-van"))
            let van = try await fixture.bearer("kurir-van", .courier)
            _ = try await client.execute(uri: "/v1/couriers/offers/\(claim)/accept", method: .post, headers: van, body: ByteBuffer(string: "{}")) { #expect($0.status == .created) }

            // The bike is full: a second claim goes to the next courier with room.
            let (second, secondCode) = try await Self.claimedDonation(client, fixture, portions: 2)
            let offered = try await client.execute(uri: "/v1/claims/\(second)/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
            #expect(offered["offeredTo"] as? String == "kurir-mid", "the bike is full: \(offered)")

            // Pickup with the code (a wrong one refused), then delivery; points by the policy.
            try await client.execute(uri: "/v1/couriers/legs/\(claim)/delivered", method: .post, headers: near, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "legNotPickedUp", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/couriers/legs/\(claim)/pickup", method: .post, headers: near, body: ByteBuffer(string: #"{"pickupCode":"WRONG123"}"#)) {
                #expect($0.status == .unprocessableContent && ServiceTests.type($0) == "pickupCodeIsWrong", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/couriers/legs/\(claim)/pickup", method: .post, headers: near, body: ByteBuffer(string: #"{"pickupCode":"\#(code)"}"#)) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }
            // No points before the provider confirms handing the food over.
            try await client.execute(uri: "/v1/couriers/legs/\(claim)/delivered", method: .post, headers: near, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "foodWasNotHandedOver", "\(String(buffer: $0.body))")
            }
            // The provider hands over 2 kg: the van's leg, never picked up, is released.
            try await client.execute(uri: "/v1/claims/\(claim)/pickup", method: .post, headers: site, body: ByteBuffer(string: #"{"pickupCode":"\#(code)","grams":2000}"#)) {
                #expect($0.status == .ok || $0.status == .created, "\(String(buffer: $0.body))")
            }
            let vanRecord = try await client.execute(uri: "/v1/couriers/kurir-van", method: .get, headers: van) { ServiceTests.json($0) }
            #expect(vanRecord["carryingGrams"] as? Int == 0 && (vanRecord["legs"] as? [String]) == [], "\(vanRecord)")
            let delivered = try await client.execute(uri: "/v1/couriers/legs/\(claim)/delivered", method: .post, headers: near, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
            let distance = delivered["distanceMetres"] as? Int ?? -1
            // 10 points per kg of 2,000 g, 2 per km, no cold chain, and 10 for delivering food
            // that expires within the hour (it was posted to expire 50 minutes later).
            #expect(delivered["points"] as? Int == 20 + 2 * distance / 1_000 + 10, "\(delivered)")
            let record = try await client.execute(uri: "/v1/couriers/kurir-near", method: .get, headers: near) { ServiceTests.json($0) }
            #expect(record["points"] as? Int == delivered["points"] as? Int && record["carryingGrams"] as? Int == 0, "\(record)")
            try await client.execute(uri: "/v1/couriers/kurir-mid", method: .get, headers: near) {
                #expect($0.status == .forbidden && ServiceTests.type($0) == "notYourRecord")
            }
            _ = secondCode
        }
    }

    /// One courier batches up to `batchMax` (3) legs on its route; a fourth claim finds nobody
    /// until a leg is delivered.
    @Test func aCourierBatchesUpToThePolicysLimit() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            try await Self.register(client, fixture, [Self.courier("kurir-solo", km: 1, grams: 50_000)])
            let ngo = try await fixture.bearer("ngo-jkt-1", .recipient)
            let solo = try await fixture.bearer("kurir-solo", .courier)
            var claims: [(String, String)] = []
            for _ in 0..<4 { claims.append(try await Self.claimedDonation(client, fixture, portions: 2)) }
            for (claim, _) in claims.prefix(3) {
                let offered = try await client.execute(uri: "/v1/claims/\(claim)/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
                #expect(offered["offeredTo"] as? String == "kurir-solo", "\(offered)")
                try await client.execute(uri: "/v1/couriers/offers/\(claim)/accept", method: .post, headers: solo, body: ByteBuffer(string: "{}")) {
                    #expect($0.status == .created, "\(String(buffer: $0.body))")
                }
            }
            try await client.execute(uri: "/v1/claims/\(claims[3].0)/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "noCourierAvailable", "\(String(buffer: $0.body))")
            }
            let record = try await client.execute(uri: "/v1/couriers/kurir-solo", method: .get, headers: solo) { ServiceTests.json($0) }
            #expect((record["legs"] as? [String])?.count == 3 && record["carryingGrams"] as? Int == 3 * 840, "\(record)")
            // One leg delivered frees a place on the route.
            try await client.execute(uri: "/v1/couriers/legs/\(claims[0].0)/pickup", method: .post, headers: solo, body: ByteBuffer(string: #"{"pickupCode":"\#(claims[0].1)"}"#)) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/claims/\(claims[0].0)/pickup", method: .post, headers: try await fixture.bearer("site-jkt-1", .provider),
                                     body: ByteBuffer(string: #"{"pickupCode":"\#(claims[0].1)","grams":840}"#)) {
                #expect($0.status == .ok || $0.status == .created, "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/couriers/legs/\(claims[0].0)/delivered", method: .post, headers: solo, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }
            let offered = try await client.execute(uri: "/v1/claims/\(claims[3].0)/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
            #expect(offered["offeredTo"] as? String == "kurir-solo", "\(offered)")
        }
    }

    @Test func theProviderTakesLongDeliveriesBehindACircuitBreaker() async throws {
        let provider = FlakyProvider()
        let fixture = try await Fixture(logisticsProvider: provider)
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            // ngo-far is 15 km from the site: beyond the provider's 10 km.
            try await Self.register(client, fixture, [
                Self.courier("kurir-mid", km: 3, grams: 50_000),
                #"{"id":"lsp-kirim","role":"courier","region":"ID-JK","latitude":-6208800,"longitude":106845600,"serviceRadiusMetres":30000,"vehicleGrams":1000000,"coldChain":true}"#,
                #"{"id":"ngo-far","role":"recipient","region":"ID-JK","latitude":-6343800,"longitude":106845600,"registrationNumber":"AHU-9","capacityPortions":50,"acceptedCategories":["bakery"],"serviceRadiusMetres":30000,"headcountServed":80}"#,
            ])
            let site = try await fixture.bearer("site-jkt-1", .provider)
            let ngo = try await fixture.bearer("ngo-far", .recipient)
            func claimFar() async throws -> String {
                let expiresAt = Ledger.wallClockMicroseconds() + 3_000_000_000
                let offer = try await client.execute(uri: "/v1/surplus", method: .post, headers: site, body: ByteBuffer(
                    string: #"{"category":"bakery","grams":840,"portions":2,"latitude":-6208800,"longitude":106845600,"temperature":"ambient","expiresAt":\#(expiresAt),"priceRupiah":0}"#)) {
                    ServiceTests.json($0)["offer"] as? String ?? ""
                }
                return try await client.execute(uri: "/v1/matches/\(offer)/accept", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) {
                    ServiceTests.json($0)["claim"] as? String ?? ""
                }
            }
            // Three failures: each falls back to our own courier; then the breaker is open and
            // the provider is not called at all.
            for attempt in 1...4 {
                let claim = try await claimFar()
                let answer = try await client.execute(uri: "/v1/claims/\(claim)/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
                #expect(answer["offeredTo"] as? String == "kurir-mid", "attempt \(attempt): \(answer)")
            }
            #expect(provider.calls.load(ordering: .relaxed) == 3)
            guard case .open = fixture.service.dispatcher.breaker.current else { Issue.record("the breaker did not open"); return }
            // Back up, and past the open time (60 s): the half-open trial books it and closes the breaker.
            provider.failing.store(false, ordering: .relaxed)
            fixture.service.dispatcher.breaker.failed(now: Ledger.wallClockMicroseconds() - 120_000_000)
            let claim = try await claimFar()
            let booked = try await client.execute(uri: "/v1/claims/\(claim)/courier", method: .post, headers: ngo, body: ByteBuffer(string: "{}")) { ServiceTests.json($0) }
            #expect(booked["assignedTo"] as? String == "lsp-kirim" && booked["assignedGrams"] as? Int == 840, "\(booked)")
            #expect(fixture.service.dispatcher.breaker.current == .closed(failures: 0))
            let assigned = try (0..<fixture.loop.ledger.size).map { try fixture.loop.ledger.entry($0).body }.last { $0.kind == "courier.assigned" }
            #expect(assigned?.payload["bookingSha256"] == .string(SHA256.hash(Array("BOOKING-\(claim)".utf8)).hex))
        }
    }
}
