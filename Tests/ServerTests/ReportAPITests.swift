import Compliance
import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Mirror
import Rescue
import Server
import Testing

/// The reports over HTTP on a simulated city day: their totals agree with the engines, CSV has
/// the same lines, recipients are masked per role, the certificate verifies with the key alone,
/// and bad requests get their problem types.
@Suite(.serialized) struct ReportAPITests {
    @Test func reportTotalsAgreeWithTheEnginesAndCSVCarriesTheSameLines() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let auditor = try await fixture.bearer("audit-1", .auditor)
        let world = fixture.loop.read { $0 }
        let companies = world.carbon.accounts.filter { world.participants.participants[$0.key]?.role == .company && $0.value.minted > 0 }
        let company = try #require(companies.keys.sorted().first)
        let sites = Set(world.participants.participants.values.filter { $0.company == company }.map(\.id))
        let rescues = world.rescues.values.filter { sites.contains($0.completion.provider) }
        try await fixture.app.test(.router) { client in
            let csr = try await client.execute(uri: "/v1/reports/csr/\(company)", method: .get, headers: auditor) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            let totals = csr["totals"] as? [String: Any] ?? [:]
            // What the report counts plus what disputes took out is every completed rescue.
            #expect((totals["rescues"] as? Int ?? 0) + (totals["excludedRescues"] as? Int ?? 0) == rescues.count && !rescues.isEmpty)
            #expect((totals["gramsRescued"] as? Int ?? 0) + (totals["excludedGrams"] as? Int ?? 0) == Int(rescues.reduce(0) { $0 + $1.completion.gramsRescued }))
            let lines = csr["lines"] as? [[String: Any]] ?? []
            #expect(lines.count == rescues.count)
            #expect((csr["checkpoint"] as? [String: Any])?["size"] as? Int == Int(fixture.loop.ledger.latestCheckpoint!.checkpoint.size))
            let seqs = Set(csr["seqs"] as? [Int] ?? [])
            #expect(rescues.allSatisfy { seqs.contains(Int($0.seq)) })

            // The carbon statement agrees with the registry's account of the company.
            let carbon = try await client.execute(uri: "/v1/reports/carbon/\(company)", method: .get, headers: auditor) { ServiceTests.json($0) }
            let account = try #require(world.carbon.accounts[company])
            let carbonTotals = carbon["totals"] as? [String: Int] ?? [:]
            #expect(carbonTotals["minted"] == Int(account.minted) && carbonTotals["sent"] == Int(account.sent))
            #expect(carbonTotals["retired"] == Int(account.retired) && carbonTotals["balance"] == Int(world.carbon.balance(of: company)))

            // CSV: a header of the columns and the checkpoint, then one row per line.
            try await client.execute(uri: "/v1/reports/csr/\(company)?format=csv", method: .get, headers: auditor) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
                let rows = String(buffer: response.body).components(separatedBy: "\r\n").filter { !$0.isEmpty }
                #expect(rows.first == (Reports.csrColumns + ["checkpointSize", "checkpointRoot"]).joined(separator: ","))
                #expect(rows.count == lines.count + 1)
            }
            var accept = auditor
            accept[.accept] = "text/csv"
            try await client.execute(uri: "/v1/reports/retirements", method: .get, headers: accept) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
            }
        }
    }

    /// `serve` warms the report facts at start, so the first report reads no whole ledger.
    @Test func warmingFoldsTheFactsUpToTheCheckpointInTheBackground() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let size = try #require(fixture.loop.ledger.latestCheckpoint?.checkpoint.size)
        #expect(fixture.service.reportBook.foldedSize == 0)
        fixture.service.warmReports()
        for _ in 0..<200 where fixture.service.reportBook.foldedSize < size { try await Task.sleep(for: .milliseconds(25)) }
        #expect(fixture.service.reportBook.foldedSize == size)
    }

    @Test func recipientsAreMaskedPerRoleAndTheCertificateVerifiesWithTheKeyAlone() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let world = fixture.loop.read { $0 }
        let company = try #require(world.participants.participants.values.filter { $0.role == .company }.map(\.id).sorted().first)
        let owner = try await fixture.bearer(company, .carbonTrader)
        let auditor = try await fixture.bearer("audit-1", .auditor)
        try await fixture.app.test(.router) { client in
            let plain = try await client.execute(uri: "/v1/reports/csr/\(company)", method: .get, headers: auditor) { ServiceTests.json($0)["lines"] as? [[String: Any]] ?? [] }
            let masked = try await client.execute(uri: "/v1/reports/csr/\(company)", method: .get, headers: owner) { ServiceTests.json($0)["lines"] as? [[String: Any]] ?? [] }
            #expect(!plain.isEmpty && plain.count == masked.count)
            #expect(plain.allSatisfy { ($0["recipient"] as? String)?.hasPrefix("ngo-") == true || ($0["recipient"] as? String)?.hasPrefix("buyer-") == true })
            #expect(masked.allSatisfy { ($0["recipient"] as? String)?.hasPrefix("psn_") == true })
            #expect(zip(plain, masked).allSatisfy { $0["gramsRescued"] as? Int == $1["gramsRescued"] as? Int })

            let certificate = try await client.execute(uri: "/v1/reports/certificate/\(company)", method: .get, headers: auditor) { ServiceTests.json($0) }
            let note = try #require((certificate["sections"] as? [String: Any])?["note"] as? String)
            let opened = try SignedNote.open(note, verifier: fixture.loop.ledger.verifier)
            #expect(opened.text.hasPrefix(ImpactCertificate.header + "\ncompany \(company)\n"))
            let tier = ((certificate["lines"] as? [[String: Any]])?.first?["tier"] as? String) ?? "?"
            #expect(opened.text.contains("\ntier \(tier)\n"))
            let forged = note.replacingOccurrences(of: "tier \(tier)", with: "tier gold-plated")
            #expect(throws: LedgerError.self) { try SignedNote.open(forged, verifier: fixture.loop.ledger.verifier) }
            // The independent verifier checks it with the key alone, and refuses a report that
            // claims more than its note says.
            let key = fixture.loop.ledger.verifier.text
            let verdict = try AuditAPITests.pythonVerdict(try JSONSerialization.data(withJSONObject: certificate), key: key, mode: "--certificate")
            #expect(verdict.status == 0, "\(verdict.output)")
            var inflated = certificate
            var line = (certificate["lines"] as? [[String: Any]])?.first ?? [:]
            line["tokensRetired"] = (line["tokensRetired"] as? Int ?? 0) + 1_000
            inflated["lines"] = [line]
            let refused = try AuditAPITests.pythonVerdict(try JSONSerialization.data(withJSONObject: inflated), key: key, mode: "--certificate")
            #expect(refused.status == 1, "\(refused.output)")
        }
    }

    @Test func badReportRequestsGetTheirProblemTypes() async throws {
        let fixture = try await AuditAPITests.simulatedFixture()
        defer { fixture.close() }
        let world = fixture.loop.read { $0 }
        let companies = world.participants.participants.values.filter { $0.role == .company }.map(\.id).sorted()
        let auditor = try await fixture.bearer("audit-1", .auditor)
        let stranger = try await fixture.bearer(companies[1], .provider)
        try await fixture.app.test(.router) { client in
            let cases: [(String, HTTPFields, HTTPResponse.Status, String)] = [
                ("/v1/reports/tax/\(companies[0])", auditor, .badRequest, "malformedRequest"),
                ("/v1/reports/tax/\(companies[0])?year=1999", auditor, .unprocessableContent, "yearIsOutOfRange"),
                ("/v1/reports/tax/\(companies[0])?year=2026&priorYearNetIncomeRupiah=-1", auditor, .unprocessableContent, "incomeMustNotBeNegative"),
                ("/v1/reports/csr/cmp-nowhere", auditor, .notFound, "companyNotFound"),
                ("/v1/reports/csr/\(companies[0])?site=site-elsewhere", auditor, .unprocessableContent, "siteIsNotTheCompanys"),
                ("/v1/reports/csr/\(companies[0])?from=10&until=5", auditor, .unprocessableContent, "periodIsEmpty"),
                ("/v1/reports/csr/\(companies[0])?colour=red", auditor, .badRequest, "unknownParameter"),
                ("/v1/reports/carbon/\(companies[0])?year=2026", auditor, .badRequest, "unknownParameter"),
                ("/v1/reports/csr/\(companies[0])?format=pdf", auditor, .badRequest, "malformedRequest"),
                ("/v1/reports/carbon/\(companies[0])", stranger, .forbidden, "notYourCompany"),
                ("/v1/reports/carbon/\(companies[0])?source=mirror", auditor, .serviceUnavailable, "mirrorNotConfigured"),
                ("/v1/reports/carbon/\(companies[0])", [:], .unauthorized, "missingToken"),
            ]
            for (uri, headers, status, type) in cases {
                try await client.execute(uri: uri, method: .get, headers: headers) { response in
                    #expect(response.status == status, "\(uri)")
                    #expect(ServiceTests.type(response) == type, "\(uri): \(String(buffer: response.body))")
                }
            }
            // The retirement register is public.
            try await client.execute(uri: "/v1/reports/retirements", method: .get) { response in
                #expect(response.status == .ok)
                #expect(ServiceTests.json(response)["report"] as? String == "retirements")
            }
            // A tax register for the simulated year lists donations with their eligibility.
            let tax = try await client.execute(uri: "/v1/reports/tax/\(companies[0])?year=2026&priorYearNetIncomeRupiah=1000000", method: .get, headers: auditor) {
                ServiceTests.json($0)
            }
            let lines = tax["lines"] as? [[String: Any]] ?? []
            for line in lines {
                let reasons = line["reasons"] as? [String] ?? []
                #expect((line["eligible"] as? Bool) == reasons.isEmpty)
                #expect((line["recipientTaxNumber"] as? String == "") == reasons.contains("recipientHasNoTaxNumber"))
            }
            #expect((tax["totals"] as? [String: Any])?["capRupiah"] as? Int == 50_000)
        }
    }

    /// With the service's mirror caught up, `?source=mirror` answers byte for byte what the
    /// ledger answers, in JSON and in CSV, for the caller's role.
    @Test func theMirrorAnswersEveryReportAsTheLedgerDoes() async throws {
        guard let server = ProcessInfo.processInfo.environment["PAHLAWAN_TEST_POSTGRES_URL"] else {
            throw PostgresError(state: nil, message: "PAHLAWAN_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts a throwaway PostgreSQL")
        }
        let name = "reports_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try PostgresConnection(url: server).query("CREATE DATABASE \(name)")
        let url = server.replacingOccurrences(of: "/postgres", with: "/\(name)")
        let fixture = try await AuditAPITests.simulatedFixture(mirrorURL: url)
        defer { fixture.close() }
        let mirror = Mirror(connection: try PostgresConnection(url: url))
        try mirror.migrate()
        // Behind the checkpoint, the mirror refuses rather than answer from fewer entries.
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/reports/retirements?source=mirror", method: .get) { response in
                #expect(response.status == .serviceUnavailable && ServiceTests.type(response) == "mirrorBehind")
                #expect(response.headers[.retryAfter] == "1")
            }
        }
        try mirror.catchUp(from: fixture.loop.ledger)
        let world = fixture.loop.read { $0 }
        let companies = world.carbon.accounts.keys.filter { world.participants.participants[$0]?.role == .company }.sorted()
        let company = try #require(companies.first)
        let headers = [try await fixture.bearer("audit-1", .auditor), try await fixture.bearer(company, .provider)]
        try await fixture.app.test(.router) { client in
            for path in ["csr/\(company)", "tax/\(company)?year=2026&priorYearNetIncomeRupiah=9000000", "carbon/\(company)", "certificate/\(company)", "retirements"] {
                for caller in headers {
                    for format in ["json", "csv"] {
                        let separator = path.contains("?") ? "&" : "?"
                        let fromLedger = try await client.execute(uri: "/v1/reports/\(path)\(separator)format=\(format)", method: .get, headers: caller) { response in
                            #expect(response.status == .ok, "\(path): \(String(buffer: response.body))")
                            return String(buffer: response.body)
                        }
                        let fromMirror = try await client.execute(uri: "/v1/reports/\(path)\(separator)format=\(format)&source=mirror", method: .get, headers: caller) { response in
                            #expect(response.status == .ok, "\(path) from the mirror: \(String(buffer: response.body))")
                            return String(buffer: response.body)
                        }
                        #expect(fromMirror == fromLedger, "\(path) as \(format)")
                        #expect(fromLedger.count > 200)
                    }
                }
            }
        }
    }
}
