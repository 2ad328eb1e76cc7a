import Compliance
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Logging
import Mirror
import Rescue
import Server
import Testing

/// Issue 13: personal data reached the signed, append-only ledger through ids, identifier
/// fields and free text, where it can never be erased and where public tile reads republish
/// it. Each request below was accepted on the code before; each is now refused before any
/// engine sees it, nothing is written, and afterwards no NIK, phone number or e-mail address
/// is anywhere in the ledger's files or its public entry bundles.
@Suite struct PersonalDataTests {
    typealias Fixture = ServiceTests.Fixture

    /// Requests that each try to smuggle personal data into the ledger, with the problem each gets.
    static func smuggling(offer: String, claim: String) -> [(path: String, role: Role, subject: String, body: String, type: String)] {
        let registration = { (field: String) in
            #"{"id":"ngo-x","role":"recipient","region":"ID-JK","latitude":-6209800,"longitude":106846600,"registrationNumber":"\#(field)","capacityPortions":50,"acceptedCategories":["mixedMeals"],"serviceRadiusMetres":10000}"#
        }
        let expiresAt = Ledger.wallClockMicroseconds() + 3_600_000_000
        let surplus = { (id: String) in
            #"{"id":"\#(id)","category":"mixedMeals","grams":420,"portions":1,"latitude":-6208800,"longitude":106845600,"temperature":"ambient","expiresAt":\#(expiresAt),"priceRupiah":0}"#
        }
        let range = #"{"vintage":2026,"first":1,"last":1}"#
        return [
            ("/v1/participants", .operator, "op-1", #"{"id":"3174011201900001","role":"buyer","region":"ID-JK"}"#, "idIsNotPseudonymous"),
            ("/v1/participants", .operator, "op-1", #"{"id":"081234567890","role":"buyer","region":"ID-JK"}"#, "idIsNotPseudonymous"),
            ("/v1/participants", .operator, "op-1", #"{"id":"buyer-x","role":"buyer","region":"ID-JK 081234567890"}"#, "regionIsUnknown"),
            ("/v1/participants", .operator, "op-1", #"{"id":"buyer-x","role":"buyer","region":"ID-JK\u0007"}"#, "regionIsUnknown"),
            ("/v1/participants", .operator, "op-1", registration("3174011201900001"), "registrationNumberIsMalformed"),
            ("/v1/participants", .operator, "op-1", registration("budi@example.id"), "registrationNumberIsMalformed"),
            ("/v1/participants", .operator, "op-1", registration("Budi Santoso, 081234567890, budi@example.id, Jl. Melati 5"), "registrationNumberIsMalformed"),
            ("/v1/surplus", .provider, "site-jkt-1", surplus("081234567890"), "idIsNotPseudonymous"),
            ("/v1/surplus", .provider, "site-jkt-1", surplus("off-3174011201900001"), "idIsNotPseudonymous"),
            ("/v1/claims", .recipient, "ngo-jkt-1", #"{"id":"c-0812-3456-7890","offer":"\#(offer)","seenVersion":1,"portions":1}"#, "idIsNotPseudonymous"),
            ("/v1/disputes", .recipient, "ngo-jkt-1", #"{"id":"d-3174011201900001","claim":"\#(claim)","reason":"spoiled","evidence":[]}"#, "idIsNotPseudonymous"),
            ("/v1/disputes", .recipient, "ngo-jkt-1", #"{"claim":"\#(claim)","reason":"spoiled","evidence":["3174 0112 0190 0001"]}"#, "evidenceIsNotAReference"),
            ("/v1/carbon/retirements", .carbonTrader, "cmp-jkt-1", #"{"range":\#(range),"beneficiary":"Budi Santoso","reason":"csrCommitment"}"#, "beneficiaryIsNotAnID"),
            ("/v1/carbon/retirements", .carbonTrader, "cmp-jkt-1", #"{"range":\#(range),"beneficiary":"pt-contoh","reason":"birthday gift for Siti Rahayu, Jl. Melati No. 5 RT 03/RW 07, Kebayoran Baru"}"#, "reasonIsNotACode"),
            ("/v1/carbon/retirements", .carbonTrader, "cmp-jkt-1", #"{"range":\#(range),"beneficiary":"pt-contoh","reason":"NIK 3174-0112-0485-0001"}"#, "reasonIsNotACode"),
            ("/v1/carbon/cancellations", .carbonTrader, "cmp-jkt-1", #"{"range":\#(range),"reason":"3174.0112.0485.0001"}"#, "reasonIsNotACode"),
            ("/v1/subjects", .operator, "op-1", #"{"subject":"3174011201900001","name":"Budi Santoso"}"#, "idIsNotPseudonymous"),
            ("/v1/subjects", .operator, "op-1", #"{"subject":"buyer-unknown","name":"Budi Santoso"}"#, "subjectIsNotAParticipant"),
        ]
    }

    @Test func personalDataIsRefusedAtTheBoundaryAndNeverReachesTheLedger() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let provider = try await fixture.bearer("site-jkt-1", .provider)
            let ngo = try await fixture.bearer("ngo-jkt-1", .recipient)
            let posted = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ServiceTests.surplusBody(portions: 10)) { ServiceTests.json($0) }
            let offer = posted["offer"] as? String ?? ""
            #expect(offer.hasPrefix("off-") && InputDomain.isID(offer), "service-chosen ids meet the id grammar: \(offer)")
            let claimed = try await client.execute(
                uri: "/v1/claims", method: .post, headers: ngo, body: ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":1,"portions":2}"#)
            ) { ServiceTests.json($0) }
            let claim = claimed["claim"] as? String ?? ""
            let size = fixture.loop.ledger.size
            for request in Self.smuggling(offer: offer, claim: claim) {
                let headers = try await fixture.bearer(request.subject, request.role)
                try await client.execute(uri: request.path, method: .post, headers: headers, body: ByteBuffer(string: request.body)) { response in
                    #expect((400..<500).contains(Int(response.status.code)), "\(request.path) \(request.body.prefix(80))")
                    #expect(ServiceTests.type(response) == request.type, "\(request.path) \(request.body.prefix(80)): \(String(buffer: response.body))")
                    #expect(response.headers[.contentType] == "application/problem+json")
                }
            }
            #expect(fixture.loop.ledger.size == size, "a refusal writes nothing")
            // A "digest" whose hex digits spell a NIK and a phone number is accepted as a file
            // digest, but the ledger records only the service's keyed digest of it.
            try await client.execute(
                uri: "/v1/disputes", method: .post, headers: ngo,
                body: ByteBuffer(string: #"{"claim":"\#(claim)","reason":"providerNoShow","evidence":["sha256:3174011201900001081234567890000000000000000000000000000000000000"]}"#)
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
            let opened = try #require(try fixture.loop.ledger.entry(size).bodyBytes)
            #expect(!String(decoding: opened, as: UTF8.self).contains("3174011201900001"))
            let afterDispute = fixture.loop.ledger.size
            // A token's subject is the actor of what its caller writes: an identity provider's
            // e-mail address or phone number as `sub` never acts.
            for subject in ["budi@example.id", "081234567890", "Budi Santoso"] {
                let headers = try await fixture.bearer(subject, .operator)
                try await client.execute(
                    uri: "/v1/participants", method: .post, headers: headers, body: ByteBuffer(string: #"{"id":"buyer-z","role":"buyer","region":"ID-JK"}"#)
                ) { response in
                    #expect(response.status == .unauthorized && ServiceTests.type(response) == "invalidToken", "\(subject)")
                }
            }
            #expect(fixture.loop.ledger.size == afterDispute)
            // An unmasked read whose stated reason holds a phone number written with separators.
            let operatorHeaders = try await fixture.bearer("op-1", .operator)
            let stored = try await client.execute(uri: "/v1/subjects", method: .post, headers: operatorHeaders, body: ByteBuffer(string: #"{"name":"Budi Santoso","phone":"081234567890"}"#)) { response in
                #expect(response.status == .created)
                return ServiceTests.json(response)
            }
            let subject = stored["subject"] as? String ?? ""
            #expect(subject.hasPrefix("sub-") && InputDomain.isID(subject), "the vault names the subject: \(subject)")
            for (query, type) in [
                ("reason=call%200812%20-%203456%20-%207890", "reasonIsNotACode"), ("reason=visit%20Jl.%20Melati%205", "reasonIsNotACode"),
                ("reason=deliveryContact&ticket=%D9%A0%D9%A8%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6%D9%A7%D9%A8%D9%A9", "idIsNotPseudonymous"),
                ("reason=deliveryContact&ticket=jl-melati.rt03", "idIsNotPseudonymous"),
            ] {
                try await client.execute(uri: "/v1/subjects/\(subject)?\(query)", method: .get, headers: operatorHeaders) { response in
                    #expect(ServiceTests.type(response) == type, "\(query)")
                }
            }
            #expect(fixture.loop.ledger.size == afterDispute)
            try await client.execute(uri: "/v1/subjects/\(subject)?reason=subjectRequest&ticket=tkt-42", method: .get, headers: operatorHeaders) { response in
                #expect(response.status == .ok)
            }
        }
        fixture.loop.ledger.close()
        // The sweep: no NIK, phone number or e-mail address anywhere in the ledger's files.
        let found = try Self.personalData(inFilesUnder: fixture.path + "/data")
        #expect(found.isEmpty, "\(found)")
    }

    /// The sweep of issue 13: a simulated city whose hostile actors try personal data through
    /// the engines, then every smuggling request over HTTP (and the same values in paths and
    /// query strings), then a search for every smuggled value in the ledger's files, the public
    /// entry bundles, every table of the Postgres mirror and every log line the service wrote.
    @Test func aHostileCitysPersonalDataIsNowhereInTheLedgerTilesMirrorOrLogs() async throws {
        guard let server = ProcessInfo.processInfo.environment["PAHLAWAN_TEST_POSTGRES_URL"] else {
            throw PostgresError(state: nil, message: "PAHLAWAN_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts a throwaway PostgreSQL")
        }
        final class Lines: @unchecked Sendable {
            private let lock = NSLock()
            private var lines: [String] = []
            func append(_ line: String) { lock.withLock { lines.append(line) } }
            var all: [String] { lock.withLock { lines } }
        }
        let lines = Lines()
        let handler = MaskingLogHandler(label: "sweep") {
            lines.append(String(decoding: $0, as: UTF8.self))
        }
        var logger = Logger(label: "sweep", factory: { _ in handler })
        logger.logLevel = .trace
        let fixture = try await AuditAPITests.simulatedFixture(logger: logger, seed: 13)
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            // The simulated city has its own participants; the smuggling requests act as these.
            let operatorHeaders = try await fixture.bearer("op-1", .operator)
            for body in [
                #"{"id":"cmp-jkt-1","role":"company","region":"ID-JK"}"#,
                #"{"id":"site-jkt-1","role":"site","company":"cmp-jkt-1","region":"ID-JK","latitude":-6208800,"longitude":106845600}"#,
                #"{"id":"ngo-jkt-1","role":"recipient","region":"ID-JK","latitude":-6209800,"longitude":106846600,"registrationNumber":"AHU-1","capacityPortions":50,"acceptedCategories":["mixedMeals"],"serviceRadiusMetres":10000,"headcountServed":80}"#,
            ] {
                try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .created || ServiceTests.type(response) == "participantAlreadyRegistered")
                }
            }
            let provider = try await fixture.bearer("site-jkt-1", .provider)
            let ngo = try await fixture.bearer("ngo-jkt-1", .recipient)
            let posted = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ServiceTests.surplusBody(portions: 10)) { ServiceTests.json($0) }
            let offer = posted["offer"] as? String ?? ""
            let claimed = try await client.execute(
                uri: "/v1/claims", method: .post, headers: ngo, body: ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":1,"portions":2}"#)
            ) { ServiceTests.json($0) }
            let claim = claimed["claim"] as? String ?? ""
            for request in Self.smuggling(offer: offer, claim: claim) {
                let headers = try await fixture.bearer(request.subject, request.role)
                try await client.execute(uri: request.path, method: .post, headers: headers, body: ByteBuffer(string: request.body)) { response in
                    #expect((400..<500).contains(Int(response.status.code)), "\(request.path) \(request.body.prefix(80))")
                }
            }
            let auditor = try await fixture.bearer("audit-1", .auditor)
            for path in ["/v1/subjects/3174011201900001", "/v1/companies/081234567890/summary", "/v1/entries?actor=budi@example.id", "/v1/subjects/sub-x?reason=0812-3456-7890"] {
                _ = try await client.execute(uri: path, method: .get, headers: auditor) { $0.status }
            }
        }
        _ = try await fixture.loop.ledger.checkpoint()
        // The public entry bundles, as anyone reads them without a token.
        let size = fixture.loop.ledger.size
        var found = try await fixture.app.test(.router) { client in
            var found = [String]()
            for index in 0...(size / 256) {
                let width = min(256, size - index * 256)
                guard width > 0 else { continue }
                let path = "/tile/entries/" + Self.tileIndex(index) + (width < 256 ? ".p/\(width)" : "")
                let text = try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    return String(decoding: response.body.readableBytesView.map { $0 < 0x20 || $0 > 0x7E ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                }
                found += Self.smuggledValues.filter(text.contains).map { "\(path): \($0)" }
            }
            return found
        }
        // The mirror: every table, every row, as text.
        let name = "sweep_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try PostgresConnection(url: server).query("CREATE DATABASE \(name)")
        let connection = try PostgresConnection(url: server.replacingOccurrences(of: "/postgres", with: "/\(name)"))
        let mirror = Mirror(connection: connection)
        try mirror.migrate()
        try mirror.catchUp(from: fixture.loop.ledger)
        let tables = try connection.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").compactMap { $0.first ?? nil }
        #expect(tables.contains("ledger_entries") && tables.contains("participants"))
        for table in tables {
            for row in try connection.query("SELECT t::text FROM \(table) t") {
                let text = row.first.flatMap { $0 } ?? ""
                found += Self.smuggledValues.filter(text.contains).map { "mirror \(table): \($0)" }
            }
        }
        // The log lines, masked as the service writes them.
        let logged = lines.all
        #expect(logged.count > 10, "the service logged its requests")
        for line in logged { found += Self.smuggledValues.filter(line.contains).map { "log: \($0) in \(line.prefix(160))" } }
        fixture.loop.ledger.close()
        found += try Self.personalData(inFilesUnder: fixture.path + "/data")
        #expect(found.isEmpty, "\(found.prefix(10))")
    }

    /// A tile index in C2SP's 3-digit groups (`1234067` → `x001/x234/067`).
    static func tileIndex(_ index: UInt64) -> String {
        var groups = [String(format: "%03d", Int(index % 1_000))]
        var rest = index / 1_000
        while rest > 0 {
            groups.insert("x" + String(format: "%03d", Int(rest % 1_000)), at: 0)
            rest /= 1_000
        }
        return groups.joined(separator: "/")
    }

    static let smuggledValues = [
        "3174011201900001", "081234567890", "0812-3456", "0812 3456", "@example.id", "Budi", "Melati", "Siti", "0112-0485", "0112.0485", "0112 0190",
    ]

    /// Each smuggled value found in the files under `path` (the ledger's segments, index and
    /// tiles: the bytes the public tile reads serve).
    static func personalData(inFilesUnder path: String) throws -> [String] {
        var found = [String]()
        let files = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
        for file in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path + "/" + file, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path + "/" + file))
            let text = String(decoding: bytes.map { $0 < 0x20 || $0 > 0x7E ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            // The values smuggled above, in every spelling used (a pattern scan would also
            // match the decimal runs that hex digests hold by chance).
            for value in Self.smuggledValues where text.contains(value) { found.append("\(file): \(value)") }
        }
        return found
    }
}
