import Compliance
import Core
import Foundation
import Hummingbird
import JWTKit
import HummingbirdTesting
import Ledger
import Logging
import Rescue
import Server
import Testing

/// Route tests through Hummingbird's router test client, on a real ledger in a temporary folder.
@Suite struct ServiceTests {
    static var policies: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/policies"
    }

    /// The project's settings for a test's service, with a 120 s request timeout: the whole suite
    /// shares two cores and its thread pool, so a request can wait seconds for a thread, which
    /// is not what the policy's timeout is about. Tests of the timeout set their own.
    static func settings() throws -> ServiceSettings {
        var settings = try ServiceSettings.load(policies: policies)
        settings.limits.requestTimeoutSeconds = 120
        return settings
    }

    struct Fixture {
        let path: String
        let loop: CommandLoop
        let authority: TokenAuthority
        let service: Service
        let app: Application<RouterResponder<ServiceContext>>

        /// A service on a new ledger in a temporary folder, or (`reopening`) on the folder of
        /// an earlier fixture, as after a restart.
        init(
            reopening earlier: String? = nil, limits: ((inout LimitsPolicy) -> Void)? = nil,
            clock: @escaping @Sendable () -> Int64 = Ledger.wallClockMicroseconds, mirrorURL: String? = nil,
            logger: Logger = Logger(label: "pahlawan.http"), limiter: RateLimiter = RateLimiter(), logisticsProvider: (any LogisticsProvider)? = nil
        ) async throws {
            path = earlier ?? NSTemporaryDirectory() + "pahlawan-server-test-" + UUID().uuidString
            loop = try Startup.open(data: DataDirectory(path + "/data"), policies: ServiceTests.policies, clock: clock).loop
            authority = try await TokenAuthority(seed: [UInt8](repeating: 3, count: 32))
            var settings = try ServiceTests.settings()
            limits?(&settings.limits)
            let vault = try PIIVault(directory: path + "/vault", masterKey: [UInt8](repeating: 9, count: 32))
            service = Service(
                loop: loop, authority: authority, settings: settings, vault: vault, maskingSecret: [UInt8](repeating: 5, count: 32),
                limiter: limiter, logger: logger, mirrorURL: mirrorURL, logisticsProvider: logisticsProvider)
            app = Application(router: service.router())
        }

        func bearer(_ subject: String, _ role: Role, lifetime: Double = 600, now: Date = Date()) async throws -> HTTPFields {
            [.authorization: "Bearer " + (try await authority.mint(subject: subject, role: role, lifetime: lifetime, now: now)), .contentType: "application/json"]
        }

        /// Closes the ledger and keeps the folder (for a reopening fixture).
        func stop() { loop.ledger.close() }

        func close() {
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// Registers a company, a site of it and two NGOs near the site (operator writes).
    static func registerCity(_ client: some TestClientProtocol, _ fixture: Fixture) async throws {
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        for body in [
            #"{"id":"cmp-jkt-1","role":"company","region":"ID-JK"}"#,
            #"{"id":"site-jkt-1","role":"site","company":"cmp-jkt-1","region":"ID-JK","latitude":-6208800,"longitude":106845600}"#,
            #"{"id":"ngo-jkt-1","role":"recipient","region":"ID-JK","latitude":-6209800,"longitude":106846600,"registrationNumber":"AHU-1","capacityPortions":50,"acceptedCategories":["mixedMeals"],"serviceRadiusMetres":10000,"headcountServed":80}"#,
            #"{"id":"ngo-jkt-2","role":"recipient","region":"ID-JK","latitude":-6219800,"longitude":106856600,"registrationNumber":"AHU-2","capacityPortions":50,"acceptedCategories":["mixedMeals"],"serviceRadiusMetres":10000,"headcountServed":60}"#,
        ] {
            try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
        }
    }

    /// A donation of `portions` from site-jkt-1, expiring in an hour.
    static func surplusBody(portions: Int = 10, priceRupiah: Int = 0) -> ByteBuffer {
        let expiresAt = Ledger.wallClockMicroseconds() + 3_600_000_000
        return ByteBuffer(
            string: #"{"category":"mixedMeals","grams":\#(portions * 420),"portions":\#(portions),"latitude":-6208800,"longitude":106845600,"temperature":"ambient","expiresAt":\#(expiresAt),"priceRupiah":\#(priceRupiah)}"#)
    }

    static func type(_ response: TestResponse) -> String {
        (json(response)["type"] as? String ?? "").replacingOccurrences(of: Problem.typeBase, with: "")
    }

    static func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
    }

    @Test func aNewcomerWalksFromPostToAuditReadWithProof() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        let provider = try await fixture.bearer("site-jkt-1", .provider)
        let ngo = try await fixture.bearer("ngo-sby-1", .recipient)
        let auditor = try await fixture.bearer("audit-1", .auditor)
        try await fixture.app.test(.router) { client in
            for body in [
                #"{"id":"cmp-jkt-1","role":"company","region":"ID-JK"}"#,
                #"{"id":"site-jkt-1","role":"site","company":"cmp-jkt-1","region":"ID-JK","latitude":-6208800,"longitude":106845600}"#,
                #"{"id":"ngo-sby-1","role":"recipient","region":"ID-JI","latitude":-7257500,"longitude":112752100,"registrationNumber":"AHU-1","capacityPortions":50,"acceptedCategories":["mixedMeals"],"serviceRadiusMetres":10000,"headcountServed":80}"#,
            ] {
                try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .created, "\(String(buffer: response.body))")
                }
            }
            let expiresAt = Ledger.wallClockMicroseconds() + 3_600_000_000
            let offer = try await client.execute(
                uri: "/v1/surplus", method: .post, headers: provider,
                body: ByteBuffer(string: #"{"category":"mixedMeals","grams":4200,"portions":10,"latitude":-6208800,"longitude":106845600,"temperature":"ambient","expiresAt":\#(expiresAt),"priceRupiah":0}"#)
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return Self.json(response)["offer"] as? String ?? ""
            }
            // A stale version is a 409 problem with the engine's name, and writes nothing.
            let size = fixture.loop.ledger.size
            try await client.execute(uri: "/v1/claims", method: .post, headers: ngo, body: ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":7,"portions":4}"#)) { response in
                #expect(response.status == .conflict)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(Self.json(response)["type"] as? String == "https://pahlawan-pangan.id/problems/offerVersionIsStale")
            }
            #expect(fixture.loop.ledger.size == size)
            let (claim, code) = try await client.execute(
                uri: "/v1/claims", method: .post, headers: ngo, body: ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":1,"portions":4}"#)
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let body = Self.json(response)
                return (body["claim"] as? String ?? "", body["pickupCode"] as? String ?? "")
            }
            try await client.execute(uri: "/v1/claims/\(claim)/pickup", method: .post, headers: provider, body: ByteBuffer(string: #"{"pickupCode":"WRONG123","grams":1680}"#)) { response in
                #expect(Self.json(response)["type"] as? String == "https://pahlawan-pangan.id/problems/pickupCodeIsWrong")
            }
            try await client.execute(uri: "/v1/claims/\(claim)/pickup", method: .post, headers: provider, body: ByteBuffer(string: #"{"pickupCode":"\#(code)","grams":1680}"#)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            let seqs = try await client.execute(uri: "/v1/claims/\(claim)/delivery", method: .post, headers: ngo, body: ByteBuffer(string: #"{"portionsServed":4}"#)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return (Self.json(response)["entries"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
            }
            #expect(seqs.count == 2)
            _ = try await fixture.loop.ledger.checkpoint()
            // The auditor reads the completion with its inclusion proof, and the proof holds.
            try await client.execute(uri: "/v1/entries/\(seqs[1])", method: .get, headers: auditor) { response in
                #expect(response.status == .ok)
                let body = Self.json(response)
                let bodyText = body["body"] as? String ?? ""
                #expect(bodyText.contains(#""kind":"rescue.completed""#))
                let checkpoint = body["checkpoint"] as? [String: Any] ?? [:]
                let proof = (body["inclusionProof"] as? [String] ?? []).compactMap { Hash(hex: $0) }
                let root = Hash(hex: checkpoint["root"] as? String ?? "")!
                let leaf = MerkleHash.leaf(Array(bodyText.utf8))
                #expect(throws: Never.self) {
                    try MerkleProofs.verifyInclusion(leaf: leaf, index: UInt64(seqs[1]), size: UInt64(checkpoint["size"] as? Int ?? 0), proof: proof, root: root)
                }
            }
            try await client.execute(uri: "/checkpoint", method: .get) { response in
                #expect(String(buffer: response.body).hasPrefix("pahlawan-pangan.id/ledger\n"))
            }
        }
    }

    @Test func everyProtectedRouteDeniesMissingForgedExpiredAndWrongRoleTokens() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let forger = try await TokenAuthority(seed: [UInt8](repeating: 4, count: 32))
        let forged: HTTPFields = [.authorization: "Bearer " + (try await forger.mint(subject: "op-1", role: .operator))]
        let expired = try await fixture.bearer("op-1", .operator, lifetime: 60, now: Date().addingTimeInterval(-3_600))
        let tooLong = try await fixture.bearer("op-1", .operator, lifetime: 3_600)
        let courier = try await fixture.bearer("cou-1", .courier)
        let size = fixture.loop.ledger.size
        try await fixture.app.test(.router) { client in
            for (method, uri) in [(HTTPRequest.Method.post, "/v1/participants"), (.post, "/v1/surplus"), (.post, "/v1/claims"), (.get, "/v1/entries/0")] {
                for (headers, status, type) in [
                    ([:], HTTPResponse.Status.unauthorized, "missingToken"), (forged, .unauthorized, "invalidToken"), (expired, .unauthorized, "invalidToken"),
                    (tooLong, .unauthorized, "invalidToken"), (courier, .forbidden, "roleNotPermitted"),
                ] as [(HTTPFields, HTTPResponse.Status, String)] {
                    try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: "{}")) { response in
                        #expect(response.status == status, "\(method) \(uri)")
                        #expect(Self.json(response)["type"] as? String == "https://pahlawan-pangan.id/problems/\(type)", "\(method) \(uri)")
                    }
                }
            }
        }
        #expect(fixture.loop.ledger.size == size, "no refused request wrote anything")
    }

    /// A token that verified is remembered only until it expires.
    @Test func aRememberedTokenIsRefusedOnceItExpires() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let token = try await fixture.authority.mint(subject: "audit-1", role: .auditor, lifetime: 1)
        #expect(try await fixture.authority.principal(fromBearer: token) == Principal(subject: "audit-1", role: .auditor))
        #expect(try await fixture.authority.principal(fromBearer: token).role == .auditor, "the second time from memory")
        try await Task.sleep(for: .milliseconds(1_100))
        await #expect(throws: AuthError.self) { try await fixture.authority.principal(fromBearer: token) }
    }

    /// Tokens of an identity provider whose key set is configured are accepted (by `kid`);
    /// the same claims signed by a key outside the set are not.
    @Test func tokensOfAConfiguredKeySetAreAcceptedAndOthersAreNot() async throws {
        struct Claims: JWTPayload {
            var iss: IssuerClaim, aud: AudienceClaim, exp: ExpirationClaim, iat: IssuedAtClaim, sub: SubjectClaim, role: String
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let authority = try await TokenAuthority(seed: [UInt8](repeating: 3, count: 32))
        let idpKey = try EdDSA.PrivateKey(curve: .ed25519)
        let x = idpKey.publicKey.rawRepresentation.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        try await authority.trust(jwksJSON: #"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"idp-1","x":"\#(x)"}]}"#)
        let now = Date()
        let claims = Claims(
            iss: .init(value: TokenAuthority.issuer), aud: .init(value: [TokenAuthority.audience]), exp: .init(value: now.addingTimeInterval(300)),
            iat: .init(value: now), sub: .init(value: "audit-9"), role: "auditor")
        let idp = JWTKeyCollection()
        await idp.add(eddsa: idpKey, kid: "idp-1")
        let token = try await idp.sign(claims, kid: "idp-1")
        #expect(try await authority.principal(fromBearer: token) == Principal(subject: "audit-9", role: .auditor))
        let stranger = JWTKeyCollection()
        await stranger.add(eddsa: try EdDSA.PrivateKey(curve: .ed25519), kid: "idp-1")
        let forged = try await stranger.sign(claims, kid: "idp-1")
        await #expect(throws: AuthError.self) { try await authority.principal(fromBearer: forged) }
    }

    /// The C2SP static reads: the partial level-0 tile holds every leaf hash, the entry bundle
    /// every body (each hashing to its leaf), and consistency proofs verify.
    @Test func tilesBundlesAndConsistencyProofsServeTheLog() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        for number in 0..<5 { try fixture.loop.executeAndWait(.register(.init(id: "cmp-\(number)", role: .company, region: "ID-JK")), actor: "op-1") }
        _ = try await fixture.loop.ledger.checkpoint()
        let auditor = try await fixture.bearer("audit-1", .auditor)
        let size = Int(fixture.loop.ledger.size)
        let leaves = try (0..<size).map { try fixture.loop.ledger.leafHash(UInt64($0)) }
        try await fixture.app.test(.router) { client in
            let tile = try await client.execute(uri: "/tile/0/000.p/\(size)", method: .get) { Array($0.body.readableBytesView) }
            #expect(tile.count == 32 * size)
            #expect((0..<size).map { Hash(bytes: tile[$0 * 32..<($0 + 1) * 32]) } == leaves)
            let bundle = try await client.execute(uri: "/tile/entries/000.p/\(size)", method: .get) { Array($0.body.readableBytesView) }
            #expect(Self.bundleBodies(bundle).map { MerkleHash.leaf($0) } == leaves)
            let beyond = try await client.execute(uri: "/tile/0/000.p/\(size + 1)", method: .get) { $0.status }
            #expect(beyond == .notFound || beyond == .serviceUnavailable)
            let bad = try await client.execute(uri: "/tile/0/1", method: .get) { $0.status }
            #expect(bad == .badRequest)
            let body = try await client.execute(uri: "/v1/proofs/consistency?from=2&to=\(size)", method: .get, headers: auditor) { Self.json($0) }
            let proof = (body["proof"] as? [String] ?? []).compactMap { Hash(hex: $0) }
            let fromRoot = try #require(Hash(hex: body["fromRoot"] as? String ?? ""))
            let toRoot = try #require(Hash(hex: body["toRoot"] as? String ?? ""))
            #expect(throws: Never.self) { try MerkleProofs.verifyConsistency(size1: 2, size2: UInt64(size), root1: fromRoot, root2: toRoot, proof: proof) }
        }
    }

    /// An entry bundle: each entry is a big-endian uint16 length and then the body.
    static func bundleBodies(_ bundle: [UInt8]) -> [[UInt8]] {
        var bodies = [[UInt8]]()
        var position = 0
        while position + 2 <= bundle.count {
            let length = Int(bundle[position]) << 8 | Int(bundle[position + 1])
            bodies.append(Array(bundle[(position + 2)..<min(bundle.count, position + 2 + length)]))
            position += 2 + length
        }
        return bodies
    }

    /// The same service over a real loopback socket: a write, a refusal and a read.
    @Test func theServiceAnswersOverARealSocket() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        try await fixture.app.test(.live) { client in
            let ready = try await client.execute(uri: "/health/ready", method: .get) { Self.json($0)["status"] as? String }
            #expect(ready == "ready")
            let created = try await client.execute(
                uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: #"{"id":"cmp-live-1","role":"company","region":"ID-JK"}"#)
            ) { $0.status }
            #expect(created == .created)
            let refused = try await client.execute(uri: "/v1/participants", method: .post, body: ByteBuffer(string: "{}")) { response in
                (response.status, response.headers[.contentType])
            }
            #expect(refused.0 == .unauthorized && refused.1 == "application/problem+json")
        }
        #expect(fixture.loop.read { $0.participants.participants["cmp-live-1"] } != nil)
    }

    /// Every route × every role: allowed exactly when `access.yaml` grants the route's
    /// permission to the role (an allowed request then fails later, on its empty body or path).
    @Test func theRoleRoutePermissionMatrixFollowsAccessYAML() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let access = try ServiceSettings.load(policies: ServiceTests.policies).access
        var minted: [Role: HTTPFields] = [:]
        for role in Role.allCases { minted[role] = try await fixture.bearer("someone-1", role) }
        let tokens = minted
        let size = fixture.loop.ledger.size
        try await fixture.app.test(.router) { client in
            for route in fixture.service.routes {
                let uri = route.path.replacingOccurrences(of: "{seq}", with: "999999").replacingOccurrences(of: "{claim}", with: "clm-none")
                    .replacingOccurrences(of: "{offer}", with: "off-none").replacingOccurrences(of: "{dispute}", with: "dsp-none")
                    .replacingOccurrences(of: "{vintage}", with: "2026").replacingOccurrences(of: "{serial}", with: "1")
                    .replacingOccurrences(of: "{company}", with: "someone-1").replacingOccurrences(of: "{subject}", with: "someone-1")
                    .replacingOccurrences(of: "**", with: "0/000.p/1")
                for role in Role.allCases {
                    try await client.execute(uri: uri, method: route.method, headers: tokens[role]!, body: ByteBuffer(string: "{}")) { response in
                        let allowed = route.permission.map { access.allows(role, $0) } ?? true
                        if allowed {
                            #expect(response.status != .forbidden && response.status != .unauthorized, "\(role) \(route.method) \(route.path)")
                            // Served by our handler (a route missing from the router would get
                            // 404 routeNotFound or 405 methodNotAllowed).
                            #expect(response.headers[.contentType] != nil, "\(route.method) \(route.path) is not routed")
                            #expect(!["routeNotFound", "methodNotAllowed"].contains(Self.type(response)), "\(route.method) \(route.path) is not routed")
                        } else {
                            #expect(response.status == .forbidden, "\(role) \(route.method) \(route.path)")
                        }
                    }
                }
            }
        }
        #expect(fixture.loop.ledger.size == size)
        // The matrix is not trivially open or closed.
        #expect(access.allows(role: "provider", "surplus.post") && !access.allows(role: "recipient", "surplus.post"))
        #expect(!access.allows(role: "courier", "entries.read") && !access.allows(role: "nobody", "entries.read"))
    }

    /// Every permission is a route's or one a handler asks for itself (`pii.unmasked`,
    /// `devices.revoke`), so
    /// `access.yaml` cannot grant a permission that nothing checks; and every route in the
    /// table is one the router serves (the matrix above reaches each).
    @Test func everyPermissionIsCheckedByARouteOrAHandler() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let routed = Set(fixture.service.routes.compactMap(\.permission))
        #expect(Set(Permission.allCases).subtracting(routed) == [.piiUnmasked, .devicesRevoke])
        #expect(fixture.service.routes.count == Set(fixture.service.routes.map { "\($0.method) \($0.path)" }).count)
    }

    @Test func badBodiesGetTheirProblemAndWriteNothing() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        let size = fixture.loop.ledger.size
        try await fixture.app.test(.router) { client in
            for (body, type) in [
                ("not json", "malformedRequest"), (#"{"id":"cmp-1","role":"company"}"#, "missingField"),
                (#"{"id":"cmp-1","role":"company","region":7}"#, "wrongType"),
                (#"{"id":"cmp-1","role":"company","region":"ID-JK","isAdmin":true}"#, "unknownField"),
                (#"{"id":"Budi Santoso","role":"company","region":"ID-JK"}"#, "idIsNotPseudonymous"),
                (String(repeating: " ", count: 70_000) + "{}", "bodyTooLarge"),
            ] {
                try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(Self.json(response)["type"] as? String == "https://pahlawan-pangan.id/problems/\(type)", "\(body.prefix(60))")
                    #expect(response.headers[.contentType] == "application/problem+json")
                }
            }
        }
        #expect(fixture.loop.ledger.size == size)
    }
}
