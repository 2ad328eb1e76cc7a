import Compliance
import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Logging
import Rescue
import Server
import Testing

/// The audit reads over a simulated city-day: listings and their paging agree with the ledger,
/// serial histories with the registry, company summaries with the engines.
@Suite(.serialized) struct AuditAPITests {
    typealias Fixture = ServiceTests.Fixture

    /// 2026-11-24 00:00 WIB.
    static let start: Int64 = 1_795_453_200_000_000

    static func simulatedFixture(mirrorURL: String? = nil, logger: Logger = Logger(label: "pahlawan.http"), seed: UInt64 = 5) async throws -> Fixture {
        let clock = SimulatedClock(start)
        let fixture = try await Fixture(clock: clock.function, mirrorURL: mirrorURL, logger: logger)
        let loop = fixture.loop
        var simulator = CitySimulator(seed: seed, start: start, days: 1, commandsPerDay: 600, devices: .ed25519(seed: seed)) { loop.pickupCodeDigest(claim: $0, code: $1) }
        let report = try SimulationDriver.run(&simulator, through: fixture.loop, clock: clock)
        #expect(report.violations.isEmpty && report.kinds["carbon.minted", default: 0] > 0)
        _ = try await fixture.loop.ledger.checkpoint()
        return fixture
    }

    /// Every entry as (seq, kind, actor, time, body), straight from the files.
    static func allEntries(_ ledger: Ledger) throws -> [(seq: Int, kind: String, actor: String, time: Int64, body: String)] {
        try (0..<ledger.size).map { seq in
            let entry = try ledger.entry(seq)
            return (Int(seq), entry.body.kind, entry.body.actor, entry.body.time, String(decoding: entry.bodyBytes, as: UTF8.self))
        }
    }

    @Test func pagingThroughAFilteredListingYieldsExactlyTheMatchingEntriesInOrder() async throws {
        let fixture = try await Self.simulatedFixture()
        defer { fixture.close() }
        let auditor = try await fixture.bearer("audit-1", .auditor)
        let all = try Self.allEntries(fixture.loop.ledger)
        let middle = all[all.count / 2].time
        let company = try #require(fixture.loop.read { world in world.carbon.accounts.keys.filter { $0 != CarbonRegistry.bufferAccount }.sorted().first })
        let sites = fixture.loop.read { world in Set(world.participants.participants.values.filter { $0.company == company }.map(\.id)) }
        let cases: [(query: String, expected: [Int])] = [
            ("kind=claim.placed", all.filter { $0.kind == "claim.placed" }.map(\.seq)),
            ("kind=rescue.completed&since=\(middle)", all.filter { $0.kind == "rescue.completed" && $0.time >= middle }.map(\.seq)),
            ("until=\(middle)&actor=system", all.filter { $0.actor == "system" && $0.time <= middle }.map(\.seq)),
            ("company=\(company)", all.filter { entry in ([company] + sites).contains { entry.body.contains("\"\($0)\"") } }.map(\.seq)),
        ]
        try await fixture.app.test(.router) { client in
            for (query, expected) in cases {
                #expect(!expected.isEmpty, "\(query) selects something")
                var seen: [Int] = []
                var cursor: String? = nil
                var pages = 0
                repeat {
                    let page = try await client.execute(
                        uri: "/v1/entries?\(query)&limit=7" + (cursor.map { "&cursor=\($0)" } ?? ""), method: .get, headers: auditor
                    ) { response in
                        #expect(response.status == .ok, "\(String(buffer: response.body))")
                        return ServiceTests.json(response)
                    }
                    let entries = page["entries"] as? [[String: Any]] ?? []
                    #expect(entries.count <= 7)
                    for entry in entries {
                        let seq = entry["seq"] as? Int ?? -1
                        seen.append(seq)
                        // The listed body is the exact signed body.
                        #expect(entry["body"] as? String == all[seq].body)
                    }
                    cursor = page["nextCursor"] as? String
                    pages += 1
                } while cursor != nil && pages < 10_000
                #expect(seen == expected, "\(query)")
            }
            try await client.execute(uri: "/v1/entries?kind=claim.placed&sort=desc", method: .get, headers: auditor) { response in
                #expect(ServiceTests.type(response) == "unknownParameter")
            }
            try await client.execute(uri: "/v1/entries?limit=501", method: .get, headers: auditor) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func serialHistoriesAndCompanySummariesAgreeWithTheEngines() async throws {
        let fixture = try await Self.simulatedFixture()
        defer { fixture.close() }
        let trader = try await fixture.bearer("trader-1", .carbonTrader)
        let auditor = try await fixture.bearer("audit-1", .auditor)
        let holdings = fixture.loop.read { $0.carbon.holdings }
        let world = fixture.loop.read { $0 }
        try await fixture.app.test(.router) { client in
            // The last step of each serial's history leaves it where the registry says it is.
            for holding in holdings.prefix(40) {
                let serial = holding.range.last
                let history = try await client.execute(uri: "/v1/carbon/serials/\(holding.range.vintage)/\(serial)", method: .get, headers: trader) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    return ServiceTests.json(response)["history"] as? [[String: Any]] ?? []
                }
                #expect(history.first?["kind"] as? String == "carbon.minted")
                let last = try #require(history.last)
                switch holding.status {
                case .held(let owner):
                    let holder = last["kind"] as? String == "carbon.transferred" ? last["to"] as? String : last["company"] as? String
                    #expect(holder == owner || (last["kind"] as? String == "carbon.minted" && owner == CarbonRegistry.bufferAccount), "\(holding)")
                case .retired: #expect(last["kind"] as? String == "carbon.retired")
                case .cancelled: #expect(last["kind"] as? String == "carbon.cancelled")
                }
            }
            try await client.execute(uri: "/v1/carbon/serials/1999/1", method: .get, headers: trader) { response in
                #expect(ServiceTests.type(response) == "serialNotFound")
            }
            // A company's summary adds up its sites' rescues and matches its carbon account.
            let companies = world.carbon.accounts.filter { world.participants.participants[$0.key]?.role == .company && $0.value.minted > 0 }
            let company = try #require(companies.keys.sorted().first)
            let sites = Set(world.participants.participants.values.filter { $0.company == company }.map(\.id))
            let rescues = world.rescues.values.filter { sites.contains($0.completion.provider) }
            let summary = try await client.execute(uri: "/v1/companies/\(company)/summary", method: .get, headers: auditor) { ServiceTests.json($0) }
            let totals = summary["rescues"] as? [String: Int] ?? [:]
            #expect(totals["completed"] == rescues.count && !rescues.isEmpty)
            #expect(totals["gramsRescued"] == Int(rescues.reduce(0) { $0 + $1.completion.gramsRescued }))
            #expect(totals["lifecycleGramsCO2e"] == Int(rescues.reduce(0) { $0 + $1.completion.lifecycleGramsCO2e }))
            #expect((summary["carbon"] as? [String: Any])?["balance"] as? Int == Int(world.carbon.balance(of: company)))
            // A trader reads only its own company.
            try await client.execute(uri: "/v1/companies/\(company)/summary", method: .get, headers: trader) { response in
                #expect(ServiceTests.type(response) == "notYourCompany")
            }
            try await client.execute(uri: "/v1/companies/\(company)/summary", method: .get, headers: try await fixture.bearer(company, .carbonTrader)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    /// An auditor checks an API answer with `audit/verify.py` and the verifier key alone; any
    /// change to the body, the proof or the signed note fails.
    @Test func anEntryAnswerVerifiesWithThePythonVerifierAndTamperingFails() async throws {
        let fixture = try await Self.simulatedFixture()
        defer { fixture.close() }
        let auditor = try await fixture.bearer("audit-1", .auditor)
        let seq = Int(fixture.loop.ledger.size / 2)
        let answer = try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/entries/\(seq)", method: .get, headers: auditor) { Data($0.body.readableBytesView) }
        }
        let key = fixture.loop.ledger.verifier.text
        #expect(try Self.pythonVerdict(answer, key: key).status == 0)
        var object = try #require(try JSONSerialization.jsonObject(with: answer) as? [String: Any])
        let body = try #require(object["body"] as? String)
        var tampered = object
        tampered["body"] = body.replacingOccurrences(of: "\"seq\":\(seq)", with: "\"seq\":\(seq) ")
        var shortProof = object
        shortProof["inclusionProof"] = (object["inclusionProof"] as? [String] ?? []).dropLast().map { $0 }
        var otherNote = object
        var checkpoint = object["checkpoint"] as? [String: Any] ?? [:]
        checkpoint["note"] = (checkpoint["note"] as? String ?? "").replacingOccurrences(of: "\n\(fixture.loop.ledger.size)\n", with: "\n\(fixture.loop.ledger.size + 1)\n")
        otherNote["checkpoint"] = checkpoint
        object["signature"] = Data(repeating: 7, count: 64).base64EncodedString()
        for variant in [tampered, shortProof, otherNote, object] {
            let verdict = try Self.pythonVerdict(try JSONSerialization.data(withJSONObject: variant), key: key)
            #expect(verdict.status == 1, "\(verdict.output)")
        }
    }

    /// `audit/verify.py MODE FILE --key KEY` on `answer` (`--entry` an entry answer,
    /// `--certificate` a certificate report).
    static func pythonVerdict(_ answer: Data, key: String, mode: String = "--entry") throws -> (status: Int32, output: String) {
        let path = NSTemporaryDirectory() + "pahlawan-entry-" + UUID().uuidString + ".json"
        FileManager.default.createFile(atPath: path, contents: answer)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [root.path + "/audit/verify.py", mode, path, "--key", key]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
