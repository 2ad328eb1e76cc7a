import Core
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ledger
import Rescue
import Server
import Testing

/// Pahlawan-Connect over HTTP (FORMAT §7.15): a till's signed webhook posts the surplus once per
/// vendor event; forged, altered, stale, unsigned and other-connection deliveries are refused
/// and write nothing; personal data in a vendor payload never reaches the ledger.
@Suite struct PosAPITests {
    typealias Fixture = ServiceTests.Fixture

    static func delivery(_ vendor: PosBook.Vendor, _ connection: String, event: String, lines: [TillDelivery.Line]) -> TillDelivery {
        TillDelivery(connection: connection, vendor: vendor, eventID: event, lines: lines)
    }

    static func line(_ sku: String, _ category: String, quantity: Int64, grams: Int64 = 300, price: Int64 = 10_000) -> TillDelivery.Line {
        TillDelivery.Line(sku: sku, category: category, quantity: quantity, gramsEach: grams, priceRupiahEach: price)
    }

    /// Posts `body` to the connection's webhook, signed at `seconds` with `secret`.
    static func post(
        _ client: some TestClientProtocol, _ connection: String, body: [UInt8], secret: [UInt8]?, seconds: Int64 = Int64(Date().timeIntervalSince1970)
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let secret { headers[HTTPField.Name(TillWebhook.headerName)!] = TillWebhook.signature(secret: secret, seconds: seconds, body: body) }
        return try await client.execute(uri: "/v1/pos/\(connection)/events", method: .post, headers: headers, body: ByteBuffer(bytes: body)) {
            ($0.status, ServiceTests.json($0))
        }
    }

    static func connect(_ client: some TestClientProtocol, _ fixture: Fixture, id: String, vendor: String, mapping: String) async throws -> [UInt8] {
        try await client.execute(uri: "/v1/pos/connections", method: .post, headers: try await fixture.bearer("op-1", .operator),
                                 body: ByteBuffer(string: #"{"id":"\#(id)","site":"site-jkt-1","vendor":"\#(vendor)","mapping":"\#(mapping)"}"#)) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            return Hex.decode(ServiceTests.json(response)["secret"] as? String ?? "") ?? []
        }
    }

    @Test func aSignedTillReportPostsItsSurplusOnceAndRefusesForgeries() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let operatorHeaders = try await fixture.bearer("op-1", .operator)
            try await client.execute(uri: "/v1/pos/connections", method: .post, headers: operatorHeaders,
                                     body: ByteBuffer(string: #"{"site":"ngo-jkt-1","vendor":"moka","mapping":"warungDonation"}"#)) {
                #expect($0.status == .unprocessableContent && ServiceTests.type($0) == "posSiteIsNotASite", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/pos/connections", method: .post, headers: operatorHeaders,
                                     body: ByteBuffer(string: #"{"site":"site-jkt-1","vendor":"moka","mapping":"nope"}"#)) {
                #expect($0.status == .unprocessableContent && ServiceTests.type($0) == "posMappingIsUnknown", "\(String(buffer: $0.body))")
            }
            let secret = try await Self.connect(client, fixture, id: "pos-warung", vendor: "moka", mapping: "warungDonation")
            let otherSecret = try await Self.connect(client, fixture, id: "pos-roti", vendor: "canonical", mapping: "bakeryHalfPrice")
            #expect(secret.count == 32 && secret != otherSecret)

            let delivery = Self.delivery(.moka, "pos-warung", event: "evt_20261202_0001", lines: [
                Self.line("NSI-01", "Nasi", quantity: 8, grams: 250), Self.line("ES-01", "Minuman", quantity: 20), Self.line("LK-02", "Lauk", quantity: 2),
                Self.line("LK-03", "Lauk", quantity: 0),
            ])
            let body = TillWebhook.body(delivery)
            let size = fixture.loop.ledger.size
            let now = Int64(Date().timeIntervalSince1970)
            var altered = body
            altered[altered.firstIndex(of: UInt8(ascii: "8"))!] = UInt8(ascii: "9")
            let refusals: [(String, [UInt8], [UInt8]?, Int64, String, HTTPResponse.Status, String)] = [
                ("unsigned", body, nil, now, "pos-warung", .unauthorized, "webhookSignatureIsMissing"),
                ("signed with another connection's secret", body, otherSecret, now, "pos-warung", .unauthorized, "webhookSignatureIsInvalid"),
                ("altered after signing", altered, nil, now, "pos-warung", .unauthorized, "webhookSignatureIsInvalid"),
                ("six minutes old", body, secret, now - 360, "pos-warung", .unauthorized, "webhookTimestampOutsideWindow"),
                ("six minutes ahead", body, secret, now + 360, "pos-warung", .unauthorized, "webhookTimestampOutsideWindow"),
                ("no such connection", body, secret, now, "pos-none", .notFound, "posConnectionNotFound"),
                ("another vendor's shape", Array(#"{"event_id":"e1","products":[]}"#.utf8), secret, now, "pos-warung", .badRequest, "posPayloadIsMalformed"),
                ("a price with a fraction", Array(#"{"id":"e2","data":{"items":[{"item_id":"A","category_name":"Nasi","stock_remaining":5,"unit_weight_gram":200,"price":1500.5}]}}"#.utf8),
                 secret, now, "pos-warung", .badRequest, "posPayloadIsMalformed"),
            ]
            for (what, bytes, key, seconds, connection, status, type) in refusals {
                var headers: HTTPFields = [.contentType: "application/json"]
                if what == "altered after signing" {
                    headers[HTTPField.Name(TillWebhook.headerName)!] = TillWebhook.signature(secret: secret, seconds: seconds, body: body)
                } else if let key {
                    headers[HTTPField.Name(TillWebhook.headerName)!] = TillWebhook.signature(secret: key, seconds: seconds, body: bytes)
                }
                try await client.execute(uri: "/v1/pos/\(connection)/events", method: .post, headers: headers, body: ByteBuffer(bytes: bytes)) {
                    #expect($0.status == status && ServiceTests.type($0) == type, "\(what): \(String(buffer: $0.body))")
                }
            }
            #expect(fixture.loop.ledger.size == size, "a refused webhook wrote something")

            // A Moka event that is not an end-of-day report is acknowledged and ignored.
            let order = Array(#"{"id":"ord-1","event":"order.created","data":{"items":[{"item_id":"A","category_name":"Nasi","stock_remaining":5,"unit_weight_gram":200,"price":1500}]}}"#.utf8)
            let (ignored, ignoredAnswer) = try await Self.post(client, "pos-warung", body: order, secret: secret)
            #expect(ignored == .ok && ignoredAnswer["ignored"] as? Bool == true && fixture.loop.ledger.size == size, "\(ignoredAnswer)")
            // Nobody may post an offer with a till's id prefix ahead of the till.
            let site = try await fixture.bearer("site-jkt-1", .provider)
            let expiresAt = Ledger.wallClockMicroseconds() + 3_600_000_000
            try await client.execute(uri: "/v1/surplus", method: .post, headers: site, body: ByteBuffer(
                string: #"{"id":"pos-squatted-a","category":"rice","grams":400,"portions":1,"latitude":-6208800,"longitude":106845600,"temperature":"hot","expiresAt":\#(expiresAt),"priceRupiah":0}"#)) {
                #expect($0.status == .unprocessableContent && ServiceTests.type($0) == "idIsReservedForTills", "\(String(buffer: $0.body))")
            }
            let (status, answer) = try await Self.post(client, "pos-warung", body: body, secret: secret)
            #expect(status == .created, "\(answer)")
            let offers = answer["offers"] as? [String] ?? []
            #expect(offers.count == 1, "only the rice line maps and reaches the minimum: \(answer)")
            // The vendor retries with a fresh signature: nothing more is written.
            let after = fixture.loop.ledger.size
            let (again, retried) = try await Self.post(client, "pos-warung", body: body, secret: secret, seconds: now + 5)
            #expect(again == .ok && retried["duplicate"] as? Bool == true && retried["synced"] as? Int == answer["synced"] as? Int, "\(retried)")
            #expect(fixture.loop.ledger.size == after)

            let synced = try fixture.loop.ledger.entry(UInt64(answer["synced"] as? Int ?? 0)).body
            #expect(synced.kind == "pos.synced" && synced.actor == "site-jkt-1")
            #expect(synced.payload["bodySha256"] == .string(SHA256.hash(body).hex))
            #expect(synced.payload["vendorEvent"] == .string(SHA256.hash(Array("evt_20261202_0001".utf8)).hex))
            guard case .array(let lines)? = synced.payload["lines"] else { Issue.record("no lines"); return }
            let skipped = lines.compactMap { $0.objectValue?["skipped"]?.stringValue }
            #expect(skipped == ["unmapped", "belowMinimum"])
            let posted = try fixture.loop.ledger.entry(UInt64(answer["synced"] as? Int ?? 0) + 1).body
            #expect(posted.kind == "surplus.posted" && posted.payload["grams"] == .integer(2_000) && posted.payload["priceRupiah"] == .integer(0))
            // The cashier's name and phone and the menu names were in the payload, never in the ledger.
            for seq in size..<fixture.loop.ledger.size {
                let text = String(decoding: try fixture.loop.ledger.entry(seq).bodyBytes, as: UTF8.self)
                #expect(!text.contains("Siti") && !text.contains("81234567890") && !text.contains("Menu") && !text.contains("NSI-01"), "\(text)")
            }
        }
    }

    /// Prices follow the mapping: half the till's price for a bakery, and an auction from 60 %
    /// for a supermarket, its SKU mapped by `skus`.
    @Test func eachMappingPricesItsOffers() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let roti = try await Self.connect(client, fixture, id: "pos-roti", vendor: "canonical", mapping: "bakeryHalfPrice")
            let mart = try await Self.connect(client, fixture, id: "pos-mart", vendor: "majoo", mapping: "supermarketFlash")
            let (status, answer) = try await Self.post(client, "pos-roti", body: TillWebhook.body(Self.delivery(.canonical, "pos-roti", event: "b-1", lines: [
                Self.line("RT-1", "Roti", quantity: 3, grams: 120, price: 7_001),
            ])), secret: roti)
            #expect(status == .created, "\(answer)")
            let bakery = try fixture.loop.ledger.entry(UInt64(answer["synced"] as? Int ?? 0) + 1).body
            #expect(bakery.payload["priceRupiah"] == .integer(10_501), "3 × 7,001 × 50 % rounded down")
            let (martStatus, martAnswer) = try await Self.post(client, "pos-mart", body: TillWebhook.body(Self.delivery(.majoo, "pos-mart", event: "m-1", lines: [
                Self.line("AYM-FILLET-500", "Daging", quantity: 4, grams: 500, price: 45_000),
            ])), secret: mart)
            #expect(martStatus == .created, "\(martAnswer)")
            let kinds = (martAnswer["entries"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(kinds == ["pos.synced", "surplus.posted", "auction.started"], "\(martAnswer)")
            // A till that sold out: recorded, no offer.
            let (soldOut, soldOutAnswer) = try await Self.post(client, "pos-roti", body: TillWebhook.body(Self.delivery(.canonical, "pos-roti", event: "b-2", lines: [
                Self.line("RT-1", "Roti", quantity: 0),
            ])), secret: roti)
            #expect(soldOut == .created && (soldOutAnswer["offers"] as? [String]) == [], "\(soldOutAnswer)")
            let auction = try fixture.loop.ledger.entry(UInt64(martAnswer["synced"] as? Int ?? 0) + 2).body
            #expect(auction.payload["startRupiah"] == .integer(108_000) && auction.payload["floorRupiah"] == .integer(18_000), "\(auction.payload)")
        }
    }

    /// A vendor that retries before the first delivery was answered: 20 copies at once write one sync.
    @Test func concurrentRetriesOfOneEventWriteOnce() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let secret = try await Self.connect(client, fixture, id: "pos-warung", vendor: "canonical", mapping: "warungDonation")
            let body = TillWebhook.body(Self.delivery(.canonical, "pos-warung", event: "evt-race", lines: [Self.line("N-1", "Nasi", quantity: 5)]))
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<20 { group.addTask { try await Self.post(client, "pos-warung", body: body, secret: secret).0 } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1 && statuses.filter { $0 == .ok }.count == 19, "\(statuses)")
            let syncs = try (0..<fixture.loop.ledger.size).filter { try fixture.loop.ledger.entry($0).body.kind == "pos.synced" }
            #expect(syncs.count == 1)
        }
    }
}
