import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing
import Yams

/// `audit/openapi.yaml` and the router must describe the same API: a route missing from either
/// side, or a different permission, fails.
@Suite struct OpenAPITests {
    static func spec() throws -> [String: Any] {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let text = try String(contentsOfFile: url.path + "/audit/openapi.yaml", encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    /// "METHOD path" (the router's path, `**` as `{path}`) for a route.
    static func key(_ method: HTTPRequest.Method, _ path: String) -> String { "\(method.rawValue) \(path.replacingOccurrences(of: "**", with: "{path}"))" }

    @Test func theSpecAndTheRouterListTheSameRoutesWithTheSamePermissions() async throws {
        let fixture = try await ServiceTests.Fixture()
        defer { fixture.close() }
        let spec = try Self.spec()
        #expect(spec["openapi"] as? String == "3.1.0")
        let paths = try #require(spec["paths"] as? [String: Any])
        var documented: [String: String] = [:]  // "METHOD path" → permission ("" when public)
        for (path, item) in paths {
            for (method, operation) in (item as? [String: Any]) ?? [:] {
                let operation = operation as? [String: Any] ?? [:]
                let isPublic = (operation["security"] as? [Any])?.isEmpty == true
                documented["\(method.uppercased()) \(path)"] = isPublic ? "" : (operation["x-permission"] as? String ?? "?")
            }
        }
        var routed: [String: String] = [:]
        // A catch-all (`**`) is written as one path parameter in OpenAPI.
        for route in fixture.service.routes {
            routed["\(route.method.rawValue) \(route.path.replacingOccurrences(of: "**", with: "{path}"))"] = route.permission?.rawValue ?? ""
        }
        #expect(Set(documented.keys) == Set(routed.keys), "in the spec only: \(Set(documented.keys).subtracting(routed.keys)); in the router only: \(Set(routed.keys).subtracting(documented.keys))")
        for (key, permission) in routed { #expect(documented[key] == permission, "\(key)") }
    }

    /// Every status a route answers is in the spec (so clients and schemathesis can rely on
    /// it): the statuses every route shares are listed everywhere, and a battery of requests
    /// (no token, a bad token, several roles, bad path values, unknown parameters, bad and
    /// oversized bodies) answers only listed statuses, errors as problem+json. It failed when
    /// the spec left out 401 on the cancel, dispute, carbon and match routes, 400 on
    /// `/v1/entries/{seq}` and the reports, 403 on dispute decisions.
    @Test func everyStatusARouteAnswersIsListedInTheSpec() async throws {
        let paths = try #require(try Self.spec()["paths"] as? [String: Any])
        var documented: [String: Set<Int>] = [:]
        for (path, item) in paths {
            for (method, operation) in (item as? [String: Any]) ?? [:] {
                let responses = (operation as? [String: Any])?["responses"] as? [AnyHashable: Any] ?? [:]
                documented["\(method.uppercased()) \(path)"] = Set(responses.keys.compactMap { Int("\($0)") })
            }
        }

        // Rate limits out of the way (429 is checked above); a small body limit so that an
        // oversized body is cheap to send.
        let bodyBytesMax = 300
        let fixture = try await ServiceTests.Fixture(limits: {
            $0.perPrincipalPerMinute = [:]
            $0.defaultPerPrincipalPerMinute = 1_000_000
            $0.perAddressPerMinute = 1_000_000
            $0.bodyBytesMax = Int64(bodyBytesMax)
        })
        defer { fixture.close() }
        let routes = fixture.service.routes
        for route in routes {
            let listed = documented[Self.key(route.method, route.path)] ?? []
            let shared: Set<Int> = route.permission == nil ? [413, 429, 503] : [401, 403, 413, 429, 503]
            #expect(listed.isSuperset(of: shared), "\(Self.key(route.method, route.path)) lacks \(shared.subtracting(listed).sorted())")
            if route.method == .post { #expect(listed.isSuperset(of: [400, 415]), "\(Self.key(route.method, route.path)) lacks 400 or 415") }
        }
        let oversized = String(repeating: " ", count: bodyBytesMax) + "{}"
        var roles: [String: HTTPFields] = ["none": [.contentType: "application/json"], "bad token": [.authorization: "Bearer x.y.z", .contentType: "application/json"]]
        for role in [Role.operator, .auditor, .provider, .recipient, .carbonTrader] { roles[role.rawValue] = try await fixture.bearer("cmp-jkt-1", role) }
        let callers = roles
        let operatorHeaders = try #require(callers["operator"])
        let listed = documented
        try await fixture.app.test(.router) { client in
            let documented = listed
            var observed: [String: Set<Int>] = [:]
            try await ServiceTests.registerCity(client, fixture)
            _ = try await fixture.loop.ledger.checkpoint()
            for route in routes {
                let key = Self.key(route.method, route.path)
                for value in ["good", "bad"] {
                    var uri = route.path
                    for (name, good, bad) in [
                        ("{seq}", "0", "-1"), ("{claim}", "clm-none", "Budi%20Santoso"), ("{offer}", "off-none", "%20"), ("{dispute}", "dsp-none", "x%00"),
                        ("{vintage}", "2026", "x"), ("{serial}", "1", "0"), ("{company}", "cmp-jkt-1", "a@b.id"), ("{subject}", "cmp-jkt-1", "+62811"),
                        ("**", "0/000.p/1", "entries/x999/x999/x999/x999/x999/x999/999"),
                    ] {
                        uri = uri.replacingOccurrences(of: name, with: value == "good" ? good : bad)
                    }
                    for query in ["", "?unknown=1", "?year=2026&format=xml", "?year=1&from=9007199254740992&limit=0&to=1"] {
                        for (caller, headers) in callers {
                            let bodies: [(String?, String?)] =
                                route.method == .post ? [(nil, nil), ("{}", nil), ("not json", nil), ("{}", "text/plain"), (oversized, nil)] : [(nil, nil), (oversized, nil)]
                            for (body, variant) in bodies {
                                var headers = headers
                                if variant == "text/plain" { headers[.contentType] = "text/plain" }
                                let status = try await client.execute(uri: uri + query, method: route.method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                                    if response.status.code >= 400 {
                                        #expect(response.headers[.contentType] == "application/problem+json", "\(key) \(uri + query) as \(caller)")
                                    }
                                    #expect(
                                        documented[key]?.contains(Int(response.status.code)) == true,
                                        "\(key): \(uri + query) as \(caller) answered \(response.status.code), which the spec does not list: \(String(buffer: response.body).prefix(200))")
                                    return Int(response.status.code)
                                }
                                observed[key, default: []].insert(status)
                            }
                        }
                    }
                }
            }
            // Writes that succeed are listed too (201/200 of the battery's own registrations).
            try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: #"{"id":"cmp-new-1","role":"company","region":"ID-JK"}"#)) { response in
                #expect(documented["POST /v1/participants"]?.contains(Int(response.status.code)) == true)
            }
            // The battery reached the refusals it is meant to hold the spec to.
            #expect(observed["POST /v1/claims/{claim}/cancel"]?.isSuperset(of: [401, 403, 413, 415]) == true, "\(observed["POST /v1/claims/{claim}/cancel"] ?? [])")
            #expect(observed["GET /v1/entries/{seq}"]?.contains(400) == true)
        }
    }
}
