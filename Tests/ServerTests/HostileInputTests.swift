import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
@testable import Server
import Testing

/// Issue 13, the HTTP boundary: each test names the hostile request it answers and fails on
/// the code before the fix (a trap, a 5xx, a silently accepted input or a connection kept open).
@Suite struct HostileInputTests {
    typealias Fixture = ServiceTests.Fixture

    static func type(_ response: TestResponse) -> String { ServiceTests.type(response) }

    // MARK: Integer overflow on query and path values (a trap is a denial of service)

    /// `until=Int64.max` made `until + 1` trap and killed the process.
    @Test func anEntryListingUntilInt64MaxIsAnsweredNotATrap() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        _ = try await fixture.loop.ledger.checkpoint()
        let auditor = try await fixture.bearer("audit-1", .auditor)
        try await fixture.app.test(.router) { client in
            for query in ["until=9223372036854775807", "since=9223372036854775807", "cursor=9223372036854775807&until=9223372036854775807"] {
                try await client.execute(uri: "/v1/entries?\(query)", method: .get, headers: auditor) { response in
                    #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/v1/entries?until=9223372036854775808", method: .get, headers: auditor) { response in
                #expect(response.status == .badRequest && Self.type(response) == "malformedRequest")
            }
        }
    }

    /// Tile indexes whose value overflowed 64 bits (`index * 1000`) or whose first entry did
    /// (`index * 256`) trapped without any token; now they are no tile.
    @Test func tilePathsWithHugeIndexesAreNotFoundNotATrap() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            for path in [
                "/tile/0/x999/x999/x999/x999/x999/x999/999", "/tile/entries/x100/x000/x000/x000/x000/000",
                "/tile/entries/x018/x446/x744/x073/x709/x551/615", "/tile/entries/x072/x057/x594/x037/x927/935.p/255",
                "/tile/3/x018/x446/x744/x073/x709/x551/615.p/7",
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect([.badRequest, .notFound].contains(response.status), "\(path)")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(path)")
                }
            }
        }
    }

    /// Report parameters are echoed in JSON and computed with: beyond ±(2^53 − 1) they are a
    /// named 400, not a number JSON readers change or arithmetic that overflows.
    @Test func reportParametersBeyondTheJSONIntegerDomainAreNumberOutOfRange() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        _ = try await fixture.loop.ledger.checkpoint()
        let auditor = try await fixture.bearer("audit-1", .auditor)
        try await fixture.app.test(.router) { client in
            for uri in [
                "/v1/reports/tax/cmp-1?year=2026&priorYearNetIncomeRupiah=9223372036854775807",
                "/v1/reports/csr/cmp-1?until=9007199254740992", "/v1/reports/csr/cmp-1?from=-99999999999999999999",
            ] {
                try await client.execute(uri: uri, method: .get, headers: auditor) { response in
                    #expect(response.status == .badRequest && Self.type(response) == "numberOutOfRange", "\(uri)")
                    #expect((ServiceTests.json(response)["detail"] as? String)?.contains(uri.contains("Rupiah") ? "priorYearNetIncomeRupiah" : uri.contains("until") ? "until" : "from") == true)
                }
            }
        }
    }

    // MARK: Tokens

    /// A token "issued" ten years ahead passed (only exp − iat was bounded), and so did one
    /// whose `nbf` is in the future.
    @Test func tokensIssuedOrValidOnlyInTheFutureAreInvalid() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let tenYears = Date().addingTimeInterval(10 * 365 * 24 * 3600)
        let future = try await fixture.authority.mint(subject: "audit-1", role: .auditor, lifetime: 600, now: tenYears)
        let notYet = try await fixture.authority.mint(subject: "audit-1", role: .auditor, lifetime: 600, notBefore: Date().addingTimeInterval(300))
        let skewed = try await fixture.authority.mint(subject: "audit-1", role: .auditor, lifetime: 600, now: Date().addingTimeInterval(30))
        await #expect(throws: AuthError.self) { try await fixture.authority.principal(fromBearer: future) }
        await #expect(throws: AuthError.self) { try await fixture.authority.principal(fromBearer: notYet) }
        // Within the allowed clock skew: still good.
        #expect(try await fixture.authority.principal(fromBearer: skewed) == Principal(subject: "audit-1", role: .auditor))
        try await fixture.app.test(.router) { client in
            for (token, reason) in [(future, "issued in the future"), (notYet, "not valid yet")] {
                try await client.execute(uri: "/v1/entries", method: .get, headers: [.authorization: "Bearer " + token]) { response in
                    #expect(response.status == .unauthorized && Self.type(response) == "invalidToken")
                    #expect((ServiceTests.json(response)["detail"] as? String)?.contains(reason) == true, "\(String(buffer: response.body))")
                }
            }
        }
    }
}
