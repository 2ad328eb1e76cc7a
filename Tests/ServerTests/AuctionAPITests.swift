import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import NIOCore
import NIOHTTP1
import Rescue
import Server
import Testing

/// Flash Ludes over real HTTP on loopback: the price a bidder reads, the refusals it gets, and a
/// burst of concurrent bids with exactly one winner.
@Suite struct AuctionAPITests {
    typealias Fixture = ServiceTests.Fixture

    /// Registers the city and `buyers` buyers, posts a paid offer and starts a linear auction
    /// on it (Rp 50,000 → 10,000 over 20 minutes); returns the auction id.
    static func auction(_ client: some TestClientProtocol, _ fixture: Fixture, buyers: Int) async throws -> String {
        try await ServiceTests.registerCity(client, fixture)
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        for index in 0..<buyers {
            try await client.execute(
                uri: "/v1/participants", method: .post, headers: operatorHeaders,
                body: ByteBuffer(string: #"{"id":"buyer-\#(index)","role":"buyer","region":"ID-JK"}"#)
            ) { #expect($0.status == .created) }
        }
        let provider = try await fixture.bearer("site-jkt-1", .provider)
        let offer = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ServiceTests.surplusBody(portions: 10, priceRupiah: 60_000)) {
            ServiceTests.json($0)["offer"] as? String ?? ""
        }
        let started = try await client.execute(
            uri: "/v1/auctions", method: .post, headers: provider,
            body: ByteBuffer(string: #"{"offer":"\#(offer)","curve":"linear","startRupiah":50000,"floorRupiah":10000,"durationMinutes":20}"#)
        ) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            return ServiceTests.json(response)
        }
        #expect(started["priceRupiah"] as? Int == 50_000 && started["endRule"] as? String == "policy.auctionFloorReached")
        return started["auction"] as? String ?? ""
    }

    @Test func aBidderReadsThePriceAndIsRefusedWithTheCurrentPrice() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            let auction = try await Self.auction(client, fixture, buyers: 1)
            let buyer = try await fixture.bearer("buyer-0", .recipient)
            let read = try await client.execute(uri: "/v1/auctions/\(auction)", method: .get, headers: buyer) { response in
                #expect(response.status == .ok)
                return ServiceTests.json(response)
            }
            let price = read["priceRupiah"] as? Int ?? 0
            #expect(read["status"] as? String == "open" && (10_001...50_000).contains(price) && read["remainingPortions"] as? Int == 10)
            // Below the curve's price: 409 with the current price, nothing written.
            let size = fixture.loop.ledger.size
            try await client.execute(
                uri: "/v1/auctions/\(auction)/bids", method: .post, headers: buyer, body: ByteBuffer(string: #"{"seenPriceRupiah":10000}"#)
            ) { response in
                #expect(response.status == .conflict && response.headers[.contentType] == "application/problem+json")
                let problem = ServiceTests.json(response)
                #expect(ServiceTests.type(response) == "priceIsAboveWhatWasSeen")
                #expect((problem["currentPriceRupiah"] as? Int ?? 0) <= price && (problem["currentPriceRupiah"] as? Int ?? 0) > 10_000)
            }
            #expect(fixture.loop.ledger.size == size)
            // Unknown auction, a malformed price, an unknown field, the provider bidding, a buyer starting.
            try await client.execute(uri: "/v1/auctions/auc-none/bids", method: .post, headers: buyer, body: ByteBuffer(string: #"{"seenPriceRupiah":1}"#)) {
                #expect($0.status == .notFound && ServiceTests.type($0) == "auctionNotFound")
            }
            try await client.execute(uri: "/v1/auctions/auc-none", method: .get, headers: buyer) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/auctions/\(auction)/bids", method: .post, headers: buyer, body: ByteBuffer(string: #"{"seenPriceRupiah":-1}"#)) {
                #expect($0.status == .badRequest && ServiceTests.type($0) == "fieldOutOfRange")
            }
            try await client.execute(uri: "/v1/auctions/\(auction)/bids", method: .post, headers: buyer, body: ByteBuffer(string: #"{"seenPriceRupiah":9007199254740993}"#)) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/v1/auctions/\(auction)/bids", method: .post, headers: buyer, body: ByteBuffer(string: #"{"seenPriceRupiah":50000,"priceRupiah":1}"#)) {
                #expect($0.status == .badRequest)
            }
            let provider = try await fixture.bearer("site-jkt-1", .provider)
            try await client.execute(uri: "/v1/auctions/\(auction)/bids", method: .post, headers: provider, body: ByteBuffer(string: #"{"seenPriceRupiah":50000}"#)) {
                #expect($0.status == .forbidden)
            }
            #expect(fixture.loop.ledger.size == size)
            // The winner pays the engine's price, not the one it named.
            let won = try await client.execute(uri: "/v1/auctions/\(auction)/bids", method: .post, headers: buyer, body: ByteBuffer(string: #"{"seenPriceRupiah":50000}"#)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            let paid = won["priceRupiah"] as? Int ?? 0
            #expect(paid <= price && paid > 10_000 && won["escrowRupiah"] as? Int == paid && (won["pickupCode"] as? String ?? "").count == 8)
            let after = try await client.execute(uri: "/v1/auctions/\(auction)", method: .get, headers: buyer) { ServiceTests.json($0) }
            #expect(after["status"] as? String == "sold" && after["remainingPortions"] as? Int == 0)
            try await client.execute(uri: "/v1/auctions/\(auction)/cancel", method: .post, headers: provider, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "auctionIsClosed")
            }
        }
    }

    /// The issue's target: 1,000 concurrent bids on one lot over real HTTP. Exactly one wins;
    /// every loser is answered 409 with the lot's current price; only the winner holds escrow.
    @Test func aThousandConcurrentBidsHaveExactlyOneWinner() async throws {
        let fixture = try await Fixture(limits: {
            $0.concurrentRequestsMax = 2_000
            $0.perAddressPerMinute = 100_000
            $0.defaultPerPrincipalPerMinute = 100_000
            for role in $0.perPrincipalPerMinute.keys { $0.perPrincipalPerMinute[role] = 100_000 }
        })
        defer { fixture.close() }
        try await fixture.app.test(.live) { client in
            let port = try #require(client.port)
            let auction = try await Self.auction(client, fixture, buyers: 25)
            var headers: [HTTPHeaders] = []
            for index in 0..<25 {
                let token = try await fixture.authority.mint(subject: "buyer-\(index)", role: .recipient)
                headers.append(["Authorization": "Bearer " + token, "Content-Type": "application/json"])
            }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 250)
            configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let answers = await withTaskGroup(of: (Int, [String: JSONValue]).self) { group in
                for index in 0..<1_000 {
                    let bidHeaders = headers[index % 25]
                    group.addTask {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/auctions/\(auction)/bids")
                        request.method = .POST
                        request.headers = bidHeaders
                        request.body = .bytes(ByteBuffer(string: #"{"id":"bid-\#(index)","seenPriceRupiah":50000}"#))
                        do {
                            let response = try await http.execute(request, timeout: .seconds(60))
                            let body = try await response.body.collect(upTo: 1 << 16)
                            let json = (try? CanonicalJSON.parse(Array(body.readableBytesView)))?.objectValue ?? [:]
                            return (Int(response.status.code), json)
                        } catch {
                            return (0, ["error": .string("\(error)")])
                        }
                    }
                }
                var all: [(Int, [String: JSONValue])] = []
                for await answer in group { all.append(answer) }
                return all
            }
            try await http.shutdown()
            let winners = answers.filter { $0.0 == 201 }
            #expect(winners.count == 1, "\(Dictionary(grouping: answers, by: \.0).mapValues(\.count))")
            let losers = answers.filter { $0.0 != 201 }
            #expect(losers.count == 999)
            let soldAt = winners.first?.1["lotPriceRupiah"]?.integerValue ?? 0
            for (status, problem) in losers {
                #expect(status == 409 && problem["type"]?.stringValue == Problem.typeBase + "auctionIsClosed", "\(status) \(problem)")
                // The price at the engine's time, never above what the lot sold for (it only falls).
                let current = problem["currentPriceRupiah"]?.integerValue ?? -1
                #expect(current > 10_000 && current <= soldAt, "\(problem)")
            }
            let winner = winners.first?.1["claim"]?.stringValue ?? ""
            let escrows = fixture.loop.read { world in world.escrows.escrows.keys.sorted() }
            #expect(escrows == [winner], "only the winner holds escrow")
            let claims = fixture.loop.read { world in world.offers.claims.keys.filter { $0.hasPrefix("bid-") }.sorted() }
            #expect(claims == [winner])
        }
    }
}
