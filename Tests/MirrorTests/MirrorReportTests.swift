import Compliance
import Core
import Foundation
import Ledger
import Mirror
import Rescue
import Testing

/// Every report computed by SQL on the mirror equals the one computed from the ledger's own
/// facts at the same checkpoint, also when the mirror is ahead of the checkpoint, and the
/// reports are not vacuous (they hold exclusions, ineligible donations, holdings, retirements).
/// In the serialized `MirrorTests` suite: another of its tests restarts the server.
extension MirrorTests {
    /// Both sources' reports for every company and the public register at tree size `size`.
    static func compareReports(ledger: Ledger, facts: ReportFacts, size: UInt64, mirror: MirrorReports, year: Int) throws -> [Report] {
        let root = try ledger.root(size: size).hex
        let reports = Reports(facts: facts, checkpointSize: size, checkpointRoot: root)
        let companies = facts.participants.values.filter { $0.role == .company }.map(\.id).sorted()
        #expect(!companies.isEmpty)
        var requests: [ReportRequest] = [.retirements]
        for company in companies {
            let firstSite = facts.sites[company]?.sorted().first
            requests += [
                .csr(company: company), .csr(company: company, site: firstSite, from: facts.rescues.first?.time, until: facts.rescues.last.map { $0.time - 1 }),
                .tax(company: company, year: year), .tax(company: company, year: year, priorYearNetIncomeRupiah: 50_000),
                .carbon(company: company), .certificate(company: company),
            ]
        }
        var computed: [Report] = []
        for request in requests {
            let tiers: [(name: String, tokens: Int64)] = [("bronze", 1), ("silver", 5)]
            let expected = try reports.report(request, tiers: tiers)
            let actual = try mirror.report(
                request, checkpointSize: size, checkpointRoot: root, lastLeafHash: try ledger.leafHash(size - 1).hex, tiers: tiers)
            #expect(actual.lines == expected.lines, "\(request): lines")
            #expect(actual.totals == expected.totals, "\(request): totals")
            #expect(actual.sections == expected.sections, "\(request): sections")
            #expect(actual.seqs == expected.seqs, "\(request): seqs")
            #expect(actual == expected, "\(request)")
            computed.append(expected)
        }
        return computed
    }

    @Test func everyReportBySQLOnTheMirrorEqualsTheLedgersAtTheSameCheckpoint() throws {
        let (path, loop) = try Self.simulatedLedger(seed: 5, commands: 1_500)
        defer {
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let ledger = loop.ledger
        let (connection, mirror) = try Self.freshMirror()
        // Small batches: rows inserted by one batch are updated by later ones (and by the same one).
        try mirror.catchUp(from: ledger, batch: 97)
        let year = Int(Reports.civilYear(microseconds: ledger.lastEntryTime))
        let sql = MirrorReports(connection: connection)

        var facts = ReportFacts()
        try ReportBook.fold(ledger, into: &facts, to: ledger.size)
        let all = try Self.compareReports(ledger: ledger, facts: facts, size: ledger.size, mirror: sql, year: year)

        // Not vacuous: the simulated day holds what each rule is about.
        let csr = all.filter { $0.kind == "csr" && $0.parameters["site"] == nil }
        #expect(csr.contains { ($0.totals["rescues"]?.integerValue ?? 0) > 0 })
        #expect(csr.contains { ($0.totals["excludedRescues"]?.integerValue ?? 0) > 0 }, "some rescue was disputed with a refund")
        let tax = all.filter { $0.kind == "tax" }
        #expect(tax.contains { $0.lines.contains { $0["eligible"] == .bool(true) } })
        #expect(tax.contains { $0.lines.contains { $0["eligible"] == .bool(false) } })
        #expect(tax.contains { $0.totals["capExceeded"] == .bool(true) })
        let carbon = all.filter { $0.kind == "carbon" }
        #expect(carbon.contains { !($0.sections["holdings"]?.arrayValue ?? []).isEmpty })
        #expect(carbon.contains { ($0.totals["sent"]?.integerValue ?? 0) > 0 })
        #expect((all.first { $0.kind == "retirements" }?.lines.count ?? 0) > 0)

        // The mirror is ahead of an earlier checkpoint: only what that checkpoint covers counts.
        let earlier = ledger.size * 2 / 3
        var earlierFacts = ReportFacts()
        try ReportBook.fold(ledger, into: &earlierFacts, to: earlier)
        let before = try Self.compareReports(ledger: ledger, facts: earlierFacts, size: earlier, mirror: sql, year: year)
        #expect(before.map(\.json) != all.map(\.json), "the earlier checkpoint's reports differ from the latest's")
        #expect(before.allSatisfy { $0.seqs.allSatisfy { $0 < earlier } })
    }

    @Test func aMirrorBehindTheCheckpointOrOfAnotherLedgerIsRefused() throws {
        let (path, loop) = try Self.simulatedLedger(seed: 3, commands: 200)
        defer {
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let (connection, mirror) = try Self.freshMirror()
        let size = loop.ledger.size
        try mirror.catchUp(from: loop.ledger, to: size - 1)
        let sql = MirrorReports(connection: connection)
        let root = try loop.ledger.root(size: size).hex
        #expect(throws: PostgresError.self) { try sql.report(.retirements, checkpointSize: size, checkpointRoot: root) }
        try mirror.catchUp(from: loop.ledger)
        #expect(throws: PostgresError.self) {
            try sql.report(.retirements, checkpointSize: size, checkpointRoot: root, lastLeafHash: String(repeating: "0", count: 64))
        }
        #expect(throws: Reports.Refusal.companyNotFound) { try sql.report(.carbon(company: "cmp-nowhere"), checkpointSize: size, checkpointRoot: root) }
    }
}
