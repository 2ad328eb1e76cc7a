import Compliance
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ledger
import NIOCore
import Rescue
@testable import Server
import Testing

/// The auditor console's server side (audit/CONSOLE.md): its number and date formats, its string
/// tables, who may open which page, masking as the API masks, the form token, the development
/// sign-in, and the headers every page carries. The browser side is Tests/Browser.
@Suite(.serialized) struct ConsoleTests {
    // MARK: Formats

    @Test func integersAndRupiahInBothLanguagesAtTheEdges() {
        #expect(ConsoleFormat.integer(0, .id) == "0" && ConsoleFormat.integer(0, .en) == "0")
        #expect(ConsoleFormat.rupiah(1_250_000, .id) == "Rp 1.250.000")
        #expect(ConsoleFormat.rupiah(1_250_000, .en) == "IDR 1,250,000")
        #expect(ConsoleFormat.rupiah(0, .id) == "Rp 0")
        #expect(ConsoleFormat.rupiah(-5_000, .id) == "-Rp 5.000")
        #expect(ConsoleFormat.integer(999, .id) == "999" && ConsoleFormat.integer(1_000, .id) == "1.000")
        #expect(ConsoleFormat.integer(9_007_199_254_740_991, .en) == "9,007,199,254,740,991")
        #expect(ConsoleFormat.integer(Int64.max, .id) == "9.223.372.036.854.775.807")
        #expect(ConsoleFormat.integer(Int64.min, .en) == "-9,223,372,036,854,775,808")
        #expect(ConsoleFormat.rupiah(Int64.min, .id) == "-Rp 9.223.372.036.854.775.808")
    }

    @Test func gramsAreShownAsGramsKilogramsOrTonnesWithTheExactIntegerBeside() {
        #expect(ConsoleFormat.mass(0, .id) == "0 g")
        #expect(ConsoleFormat.mass(850, .en) == "850 g")
        #expect(ConsoleFormat.mass(999, .id) == "999 g")
        #expect(ConsoleFormat.mass(1_000, .id) == "1 kg")
        #expect(ConsoleFormat.mass(1_250, .id) == "1,25 kg" && ConsoleFormat.mass(1_250, .en) == "1.25 kg")
        #expect(ConsoleFormat.mass(1_255, .en) == "1.26 kg")  // half up
        #expect(ConsoleFormat.mass(999_994, .en) == "999.99 kg")
        #expect(ConsoleFormat.mass(999_995, .en) == "1 t")  // not "1,000 kg"
        #expect(ConsoleFormat.mass(3_400_000, .id) == "3,4 t" && ConsoleFormat.mass(3_400_000, .en) == "3.4 t")
        #expect(ConsoleFormat.mass(1_234_567_890, .id) == "1.234,6 t")
        #expect(ConsoleFormat.mass(-1_500, .id) == "-1,5 kg")
        #expect(ConsoleFormat.mass(Int64.min, .en) == "-9,223,372,036,854.8 t")
        #expect(ConsoleFormat.mass(9_007_199_254_740_991, .en) == "9,007,199,254.7 t")
        #expect(ConsoleFormat.co2e(12_500, .id) == "12,5 kg CO2e")
        #expect(ConsoleFormat.exact(1_254, unit: "g", .id) == "1.254 g")
    }

    @Test func timesAreWallClockWIBWithTheZoneNamed() throws {
        // 2026-12-02 17:05:00 WIB = 10:05:00 UTC.
        let day = try #require(Reports.microseconds(wibYear: 2026, month: 12, day: 2))
        let microseconds: Int64 = day + Int64(17 * 3_600 + 5 * 60) * 1_000_000
        #expect(ConsoleFormat.time(microseconds, .id) == "2 Des 2026 17.05 WIB")
        #expect(ConsoleFormat.time(microseconds, .en) == "2 Dec 2026 17:05 WIB")
        #expect(ConsoleFormat.time(0, .en) == "1 Jan 1970 07:00 WIB")
        // The last µs of a WIB day is still that day; the next is the next day, at 00.00.
        let midnight = try #require(Reports.microseconds(wibYear: 2026, month: 1, day: 1))
        #expect(ConsoleFormat.time(midnight - 1, .id) == "31 Des 2025 23.59 WIB")
        #expect(ConsoleFormat.time(midnight, .id) == "1 Jan 2026 00.00 WIB")
        #expect(Reports.microseconds(wibYear: 2026, month: 2, day: 29) == nil && Reports.microseconds(wibYear: 2026, month: 13, day: 1) == nil)
    }

    // MARK: Strings

    @Test func bothLanguagesHaveEveryStringAndEveryStringUsedExists() throws {
        let strings = ConsolePages.shared.strings
        let indonesian = try #require(strings[.id]), english = try #require(strings[.en])
        #expect(Set(indonesian.keys).subtracting(english.keys).isEmpty, "only in id.yaml: \(Set(indonesian.keys).subtracting(english.keys).sorted())")
        #expect(Set(english.keys).subtracting(indonesian.keys).isEmpty, "only in en.yaml: \(Set(english.keys).subtracting(indonesian.keys).sorted())")
        #expect(indonesian.values.allSatisfy { !$0.isEmpty } && english.values.allSatisfy { !$0.isEmpty })
        // Every key a template ({{t.key}}) or the Swift code (text("key")) uses.
        let console = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Server/Console")
        var used: Set<String> = []
        for file in try FileManager.default.subpathsOfDirectory(atPath: console.path) where file.hasSuffix(".mustache") || file.hasSuffix(".swift") {
            let text = try String(contentsOf: console.appendingPathComponent(file), encoding: .utf8)
            let pattern = file.hasSuffix(".mustache") ? #"\{\{t\.([A-Za-z0-9_.]+)\}\}"# : #"text\("([A-Za-z0-9_]+\.[A-Za-z0-9_.]+)""#
            let regex = try NSRegularExpression(pattern: pattern)
            for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                used.insert(String(text[Range(match.range(at: 1), in: text)!]))
            }
        }
        #expect(used.count > 100)
        let missing = used.subtracting(indonesian.keys).sorted()
        #expect(missing.isEmpty, "used but in neither table: \(missing)")
        // Both languages name each role for the sign-in form.
        #expect(Role.allCases.allSatisfy { indonesian["role.\($0.rawValue)"] != nil })
    }

    // MARK: Access

    /// A concrete path for each console route's pattern.
    static func path(_ pattern: String, company: String) -> String {
        pattern.replacingOccurrences(of: "{seq}", with: "3").replacingOccurrences(of: "{company}", with: company)
            .replacingOccurrences(of: "{vintage}", with: "2026").replacingOccurrences(of: "{serial}", with: "1")
            .replacingOccurrences(of: "{file}", with: "console.css").replacing(#/\{[a-z]+\}/#, with: "x-1")
    }

    static func session(_ fixture: ServiceTests.Fixture, _ subject: String, _ role: Role) async throws -> HTTPFields {
        [.cookie: "pt_session=" + (try await fixture.authority.mint(subject: subject, role: role, lifetime: 600, now: Date()))]
    }

    @Test func noPageOpensWithoutThePermissionItsAPIRouteNeeds() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let company = try #require(fixture.loop.read { $0.participants.participants.values.filter { $0.role == .company }.map(\.id).sorted().first })
        let pages = fixture.service.consoleRoutes.filter { $0.method == .get }
        #expect(pages.count >= 20)
        // The pages that say what an API route shows need what that route needs.
        let api = Dictionary(fixture.service.routes.map { ("\($0.method) \($0.path)", $0.permission) }, uniquingKeysWith: { first, _ in first })
        let mirrors: [String: String] = [
            "/console/entries": "/v1/entries", "/console/entries/{seq}": "/v1/entries/{seq}", "/console/entries/{seq}/proof": "/v1/entries/{seq}/proof",
            "/console/auctions/{auction}": "/v1/auctions/{auction}", "/console/groups/{group}": "/v1/groups/{group}",
            "/console/devices/{device}": "/v1/devices/{device}", "/console/couriers/{courier}": "/v1/couriers/{courier}",
        ]
        for (page, route) in mirrors {
            guard let consolePage = pages.first(where: { $0.path == page }) else {
                Issue.record("no console page \(page)")
                continue
            }
            let needed = try #require(api["GET \(route)"], "no API route \(route)")
            #expect(consolePage.permission == needed, "\(page) needs \(String(describing: consolePage.permission)), its API route \(String(describing: needed))")
        }
        let access = fixture.service.settings.access
        try await fixture.app.test(.router) { client in
            for page in pages {
                let path = Self.path(page.path, company: company)
                let anonymous = try await client.execute(uri: path, method: .get) { $0 }
                guard let permission = page.permission else {
                    #expect(anonymous.status != .unauthorized && anonymous.status != .forbidden, "public \(path): \(anonymous.status)")
                    continue
                }
                #expect(anonymous.status == .unauthorized, "\(path) without a session: \(anonymous.status)")
                #expect(anonymous.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(!String(buffer: anonymous.body).contains("<dl class=\"record"), "\(path) shows a record to nobody")
                for role in Role.allCases {
                    // Providers and traders read their own company's pages only (tested below), a
                    // courier only its own record (x-1, the id every {parameter} becomes).
                    let subject = [.provider, .carbonTrader].contains(role) ? company : role == .courier ? "x-1" : "\(role.rawValue)-1"
                    let response = try await client.execute(uri: path, method: .get, headers: try await Self.session(fixture, subject, role)) { $0 }
                    if access.allows(role, permission) {
                        #expect(response.status != .forbidden && response.status != .unauthorized, "\(path) as \(role): \(response.status)")
                    } else {
                        #expect(response.status == .forbidden, "\(path) as \(role) (lacks \(permission)): \(response.status)")
                    }
                }
            }
            // A JSON caller gets the API's problem document instead of the page.
            try await client.execute(uri: "/console/entries/3", method: .get, headers: [.accept: "application/problem+json"]) { response in
                #expect(response.status == .unauthorized && response.headers[.contentType] == "application/problem+json")
                #expect(ServiceTests.json(response)["type"] as? String == Problem.typeBase + "signInRequired")
            }
            // An expired or forged session is no session: the page asks to sign in again and
            // the cookie is cleared.
            try await client.execute(uri: "/console/entries", method: .get, headers: [.cookie: "pt_session=eyJhbGciOiJFZERTQSJ9.e30.AAAA"]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[values: .setCookie].contains { $0.hasPrefix("pt_session=;") || $0.contains("Max-Age=0") })
            }
        }
    }

    @Test func aProviderSeesOnlyItsOwnCompanyAndTheOwnerSeesRecipientsMaskedAsTheAPIMasksThem() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let companies = fixture.loop.read { $0.participants.participants.values.filter { $0.role == .company }.map(\.id).sorted() }
        let company = try #require(companies.first), other = try #require(companies.last)
        #expect(company != other)
        try await fixture.app.test(.router) { client in
            func page(_ path: String, _ subject: String, _ role: Role) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: path, method: .get, headers: try await Self.session(fixture, subject, role)) { ($0.status, String(buffer: $0.body)) }
            }
            func api(_ path: String, _ subject: String, _ role: Role) async throws -> [[String: Any]] {
                try await client.execute(uri: path, method: .get, headers: try await fixture.bearer(subject, role)) { ServiceTests.json($0)["lines"] as? [[String: Any]] ?? [] }
            }
            let plain = try await api("/v1/reports/csr/\(company)", "audit-1", .auditor)
            let masked = try await api("/v1/reports/csr/\(company)", company, .carbonTrader)
            #expect(!plain.isEmpty && plain.count == masked.count)
            let (auditorStatus, auditorPage) = try await page("/console/companies/\(company)", "audit-1", .auditor)
            let (ownerStatus, ownerPage) = try await page("/console/companies/\(company)", company, .carbonTrader)
            #expect(auditorStatus == .ok && ownerStatus == .ok)
            for (line, maskedLine) in zip(plain, masked) {
                let recipient = try #require(line["recipient"] as? String), pseudonym = try #require(maskedLine["recipient"] as? String)
                #expect(recipient != pseudonym)
                #expect(auditorPage.contains(recipient))
                #expect(ownerPage.contains(pseudonym), "the owner's page lacks \(pseudonym)")
                #expect(!ownerPage.contains(">\(recipient)<") && !ownerPage.contains("/\(recipient)\""), "the owner's page shows \(recipient) unmasked")
            }
            // Only ids are linked: never a date, a category or a code that merely looks like one.
            let (_, taxPage) = try await page("/console/companies/\(company)/tax?year=2026", "audit-1", .auditor)
            for page in [auditorPage, taxPage] {
                #expect(!page.contains("mentions=20") && !page.contains("mentions=rice") && !page.contains("mentions=mixedMeals"))
            }
            #expect(auditorPage.contains("mentions=\(try #require(plain.first?["recipient"] as? String))"))
            // The company list and another company's report: only its own.
            let (_, list) = try await page("/console/companies", company, .carbonTrader)
            #expect(list.contains("/console/companies/\(company)\"") && !list.contains("/console/companies/\(other)\""))
            let (otherStatus, _) = try await page("/console/companies/\(other)", company, .carbonTrader)
            #expect(otherStatus == .forbidden)
            let (taxStatus, _) = try await page("/console/companies/\(other)/tax?year=2026", company, .carbonTrader)
            #expect(taxStatus == .forbidden)
            // The public serial page masks what a public reader may not see, like the API.
            let (serialStatus, serialPage) = try await client.execute(uri: "/console/carbon/serials/2026/1", method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(serialStatus == .ok || serialStatus == .notFound)
            #expect(!serialPage.contains("psn_") || !serialPage.contains("ngo-"))
        }
    }

    @Test func holdingsByAccountAgreeWithTheRegistryAndArePublic() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let world = fixture.loop.read { $0 }
        let page = try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/console/carbon/holdings?lang=en", method: .get) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
        }
        let accounts = world.carbon.accounts.filter { $0.value.minted + $0.value.received > 0 }
        #expect(!accounts.isEmpty)
        for (owner, account) in accounts {
            // Held, issued, received, sent, retired, cancelled: the registry's own figures.
            let cells = ["\(world.carbon.balance(of: owner))", "\(account.minted)", "\(account.received)", "\(account.sent)", "\(account.retired)", "\(account.cancelled)"]
                .map { ConsoleFormat.integer(Int64($0)!, .en) }
            let row = "<th scope=\"row\">\(owner)</th><td>"
            guard let start = page.range(of: row) else {
                Issue.record("no row for \(owner)")
                continue
            }
            let rest = page[start.upperBound...].prefix { $0 != "\n" }
            let numbers = rest.split(separator: "<td class=\"num\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
            #expect(Array(numbers.prefix(6)) == cells, "\(owner): \(numbers) vs \(cells)")
        }
        #expect(!page.contains("href=\"/console/companies/"), "an anonymous reader gets no links to pages it cannot open")
    }

    // MARK: Sign-in and forms

    @Test func signInNeedsTheFormTokenAndTheDevelopmentSignInOnlyWorksOnLoopbackWithoutAnIdentityProvider() async throws {
        let fixture = try await ServiceTests.Fixture()
        defer { fixture.close() }
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        try await fixture.app.test(.router) { client in
            // No form-token cookie, a token that differs from the cookie's, none at all: refused.
            for (cookie, sent) in [("", "a" + String(repeating: "0", count: 31)), ("pt_csrf=" + String(repeating: "1", count: 32), String(repeating: "2", count: 32)), ("pt_csrf=" + String(repeating: "1", count: 32), "")] {
                var headers = form
                if !cookie.isEmpty { headers[.cookie] = cookie }
                let body = "csrf=\(sent)&role=auditor&subject=audit-1"
                try await client.execute(uri: "/console/sign-in", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .forbidden && String(buffer: response.body).contains("csrfTokenMismatch"), "\(cookie) \(sent): \(response.status)")
                    #expect(response.headers[values: .setCookie].allSatisfy { !$0.hasPrefix("pt_session=ey") })
                }
            }
            // With the token right, the development sign-in is still refused: a router test has
            // no loopback peer, as a request from another machine would not.
            let csrf = String(repeating: "a", count: 32)
            var headers = form
            headers[.cookie] = "pt_csrf=\(csrf)"
            try await client.execute(uri: "/console/sign-in", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&role=operator&subject=op-1")) { response in
                #expect(response.status == .forbidden && String(buffer: response.body).contains("developmentSignInRefused"))
            }
            // A token from the identity provider (here the service's own authority) signs in from anywhere.
            let token = try await fixture.authority.mint(subject: "audit-1", role: .auditor, lifetime: 600, now: Date())
            try await client.execute(uri: "/console/sign-in", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&token=\(token)&next=%2Fconsole%2Fentries")) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/console/entries")
                let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("pt_session=") })
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console"))
            }
            // A forged token is refused; a next that leaves the console is replaced.
            try await client.execute(uri: "/console/sign-in", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&token=\(token.dropLast(3))AAA")) { response in
                #expect(response.status == .unauthorized && String(buffer: response.body).contains("invalidToken"))
            }
            for next in [
                "https%3A%2F%2Fevil.example%2F", "%2F%2Fevil.example", "%2Fv1%2Fentries", "%2Fconsole%5C..%5Cx", "%2Fconsolex", "%2Fconsole%2F..%2Fv1",
                "%2Fconsole%252f..%252fv1", "%2Fconsole%2F%2F..",
            ] {
                try await client.execute(uri: "/console/sign-in", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&token=\(token)&next=\(next)")) { response in
                    #expect(response.headers[.location] == "/console", "\(next) → \(response.headers[.location] ?? "")")
                }
            }
            // Oversized and malformed forms get clear refusals, not a crash.
            try await client.execute(uri: "/console/sign-in", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&x=" + String(repeating: "y", count: 20_000))) { response in
                #expect(response.status == .contentTooLarge || response.status == .badRequest, "\(response.status)")
            }
            try await client.execute(uri: "/console/sign-in", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&csrf=\(csrf)")) { response in
                #expect(response.status == .badRequest)
            }
            var plain = headers
            plain[.contentType] = "text/plain"
            try await client.execute(uri: "/console/sign-in", method: .post, headers: plain, body: ByteBuffer(string: "csrf=\(csrf)&token=\(token)")) { response in
                #expect(response.status == .unsupportedMediaType)
            }
        }
        // Over real HTTP on loopback, the development sign-in works, and the session it sets
        // opens the explorer.
        try await fixture.app.test(.live) { client in
            let page = try await client.execute(uri: "/console/sign-in", method: .get) { $0 }
            let csrfCookie = try #require(page.headers[values: .setCookie].first { $0.hasPrefix("pt_csrf=") })
            let csrf = String(csrfCookie.dropFirst("pt_csrf=".count).prefix(32))
            #expect(String(buffer: page.body).contains("id=\"dev-sign-in\""))
            var headers = form
            headers[.cookie] = "pt_csrf=\(csrf)"
            let session = try await client.execute(uri: "/console/sign-in", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&role=auditor&subject=audit-1")) { response in
                #expect(response.status == .seeOther, "\(String(buffer: response.body))")
                return try #require(response.headers[values: .setCookie].first { $0.hasPrefix("pt_session=") }).split(separator: ";")[0]
            }
            try await client.execute(uri: "/console/entries", method: .get, headers: [.cookie: String(session)]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("audit-1"))
            }
            // Relayed by a proxy, or addressed by a name that is not loopback (DNS rebinding):
            // refused, and not offered.
            for extra: HTTPFields in [[HTTPField.Name("X-Forwarded-For")!: "203.0.113.9"], [HTTPField.Name("Forwarded")!: "for=203.0.113.9"], [HTTPField.Name("X-Real-IP")!: "203.0.113.9"]] {
                var relayed = headers
                relayed.append(contentsOf: extra)
                try await client.execute(uri: "/console/sign-in", method: .post, headers: relayed, body: ByteBuffer(string: "csrf=\(csrf)&role=operator&subject=op-1")) { response in
                    #expect(response.status == .forbidden && String(buffer: response.body).contains("developmentSignInRefused"), "\(extra)")
                }
                var offered = extra
                offered[.cookie] = "pt_csrf=\(csrf)"
                try await client.execute(uri: "/console/sign-in", method: .get, headers: offered) { response in
                    #expect(!String(buffer: response.body).contains("id=\"dev-sign-in\""), "\(extra)")
                }
            }
        }
    }

    @Test func everyPageCarriesTheSecurityHeadersAndEscapesWhatItEchoes() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let session = try await Self.session(fixture, "audit-1", .auditor)
        try await fixture.app.test(.router) { client in
            for path in ["/console", "/console/entries", "/console/entries/999999", "/console/nope", "/console/carbon/retirements", "/console/assets/verify.js"] {
                try await client.execute(uri: path, method: .get, headers: session) { response in
                    #expect(response.headers[.init("Content-Security-Policy")!]?.contains("script-src 'self'") == true, "\(path)")
                    #expect(response.headers[.init("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true, "\(path)")
                    #expect(response.headers[.init("X-Content-Type-Options")!] == "nosniff", "\(path)")
                    if path.hasPrefix("/console/assets") { return }
                    #expect(response.headers[.cacheControl] == "no-store", "\(path)")
                    let body = String(buffer: response.body)
                    #expect(!body.contains("style=\"") && !body.contains("<script>"), "\(path) has inline style or script (the CSP forbids them)")
                }
            }
            // HEAD answers as GET without the body; an asset sets no form-token cookie (it is
            // cacheable); an error page is in the reader's language.
            try await client.execute(uri: "/console", method: .head) { response in
                #expect(response.status == .ok && response.body.readableBytes == 0)
                #expect(response.headers[.init("Content-Security-Policy")!] != nil)
            }
            try await client.execute(uri: "/console/assets/console.css", method: .get) { response in
                #expect(response.headers[values: .setCookie].isEmpty)
            }
            try await client.execute(uri: "/console/carbon/retirements?bogus=1", method: .get) { response in
                #expect(String(buffer: response.body).contains(ConsolePages.shared.strings[.id]!["problem.unknownParameter"]!))
            }
            // A search value is echoed escaped, never as markup.
            let hostile = "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
            try await client.execute(uri: "/console/entries?kind=\(hostile)", method: .get, headers: session) { response in
                #expect(!String(buffer: response.body).contains("<script>alert"))
            }
            // Unknown parameters, bad dates and bad seqs are clear 400 pages, not a crash.
            for path in ["/console/entries?bogus=1", "/console/entries?from=2026-02-30", "/console/entries?seq=x", "/console/entries?cursor=-1", "/console?lang=xx&x=1",
                "/console/carbon/retirements?page=0", "/console/carbon/retirements?page=x", "/console/carbon/retirements.csv?page=2",
                "/console/carbon/serials?q=PPG-20x6-1"] {
                try await client.execute(uri: path, method: .get, headers: session) { response in
                    #expect(response.status == .badRequest, "\(path): \(response.status)")
                    #expect(String(buffer: response.body).contains("class=\"problem\""))
                }
            }
        }
    }

    @Test func languageIsChosenByLinkKeptByCookieAndAnythingElseFallsBackToIndonesian() async throws {
        let fixture = try await ServiceTests.Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/console?lang=en", method: .get) { response in
                #expect(String(buffer: response.body).contains("<html lang=\"en\">"))
                #expect(response.headers[values: .setCookie].contains { $0.hasPrefix("pt_lang=en") && $0.contains("SameSite=Lax") })
            }
            try await client.execute(uri: "/console", method: .get, headers: [.cookie: "pt_lang=en"]) { response in
                #expect(String(buffer: response.body).contains("<html lang=\"en\">") && String(buffer: response.body).contains("href=\"/console?lang=id\""))
            }
            for cookie in ["pt_lang=fr", "pt_lang=", ""] {
                try await client.execute(uri: "/console", method: .get, headers: cookie.isEmpty ? [:] : [.cookie: cookie]) { response in
                    #expect(String(buffer: response.body).contains("<html lang=\"id\">"))
                }
            }
        }
    }

    @Test func theEntryEvidenceIsWhatTheLedgerSignedAndProves() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let session = try await Self.session(fixture, "audit-1", .auditor)
        let ledger = fixture.loop.ledger
        try await fixture.app.test(.router) { client in
            let evidence = try await client.execute(uri: "/console/entries/7/evidence.json", method: .get, headers: session) { response in
                #expect(response.status == .ok)
                return ServiceTests.json(response)
            }
            let stored = try ledger.storedEntry(7)
            let bodyBase64 = try #require(evidence["bodyBase64"] as? String)
            let body = try #require(Base64.decode(bodyBase64))
            #expect(body == stored.body)
            #expect(evidence["leafHash"] as? String == stored.leafHash.hex)
            #expect(evidence["signature"] as? String == Base64.encode(stored.signature))
            #expect(evidence["entryKey"] as? String == ledger.keys.key(forSeq: 7).description)
            let checkpoint = try #require(evidence["checkpoint"] as? [String: Any])
            let note = try #require(checkpoint["note"] as? String)
            let opened = try SignedNote.open(note, verifier: ledger.verifier)
            let parsed = try Checkpoint(text: opened.text)
            let proof = try #require(evidence["inclusionProof"] as? [String])
            #expect(try ledger.inclusionProof(seq: 7, size: parsed.size).map(\.hex) == proof)
            // The page shows exactly the signed bytes (the browser compares them).
            let page = try await client.execute(uri: "/console/entries/7", method: .get, headers: session) { String(buffer: $0.body) }
            #expect(page.contains("data-source=\"/console/entries/7/evidence.json\"") && page.contains("data-seq=\"7\""))
            #expect(page.contains(HTML.escape(String(decoding: stored.body, as: UTF8.self))))
        }
    }
}
