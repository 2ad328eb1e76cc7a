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
    /// Every seq a report's lines cite (`seq` and every `…Seq` column) is in its `seqs`, and
    /// every one of those is below the checkpoint it states.
    static func citesOnlyItsSeqsBelowTheCheckpoint(_ report: Report) -> Bool {
        let cited = Set(report.seqs)
        let inLines = report.lines.flatMap { line in line.filter { $0.key == "seq" || $0.key.hasSuffix("Seq") }.compactMap(\.value.integerValue) }
        return inLines.allSatisfy { cited.contains(UInt64($0)) } && report.seqs.allSatisfy { $0 < report.checkpointSize }
    }

    static func compareReports(ledger: Ledger, facts: ReportFacts, size: UInt64, mirror: MirrorReports, year: Int, companies only: [String]? = nil, withRetirements: Bool = true) throws -> [Report] {
        let root = try ledger.root(size: size).hex
        let reports = Reports(facts: facts, checkpointSize: size, checkpointRoot: root)
        let companies = only ?? facts.participants.values.filter { $0.role == .company }.map(\.id).sorted()
        #expect(!companies.isEmpty)
        var requests: [ReportRequest] = withRetirements ? [.retirements] : []
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
            #expect(Self.citesOnlyItsSeqsBelowTheCheckpoint(expected), "\(request)")
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
        // Group buys: every claimed group's shares sum to its price, and each share is held by
        // exactly the escrow the mirror has for it (FORMAT §7.13).
        #expect(try connection.query("SELECT count(*) FROM groups WHERE ended_kind = 'group.closed'").first?[0].flatMap { Int($0) } ?? 0 > 0)
        let unbalanced = try connection.query("""
            SELECT g."group" FROM groups g JOIN group_members m ON m."group" = g."group" AND m.left_seq IS NULL
            WHERE g.claim IS NOT NULL GROUP BY g."group", g.price_rupiah HAVING sum(m.share_rupiah) <> g.price_rupiah
            UNION SELECT m."group" FROM group_members m LEFT JOIN escrows e ON e.escrow = m.escrow
            WHERE m.escrow IS NOT NULL AND (e.held_rupiah IS DISTINCT FROM m.share_rupiah OR e.buyer <> m.member)
            """)
        #expect(unbalanced.isEmpty, "\(unbalanced)")

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
        // Flash Ludes: every channel a rescue can come through is in the day, on both sides.
        let channels = Set(csr.flatMap { $0.lines.compactMap { $0["channel"]?.stringValue } })
        #expect(channels == ["donated", "donatedAfterAuction", "sold", "soldAtAuction"], "\(channels)")
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

    /// A ledger written entry by entry, without the engines, so each case the reports must tell
    /// apart is there exactly once: undisputed, and disputes resolved `noRefund`,
    /// `noRefundRelist`, `partialRefund` of 0 rupiah (a donation), `fullRefund`, and still open.
    struct Handwritten {
        let path: String
        let ledger: Ledger
        /// The seq of each participant's `participant.registered`, and of the policy activation.
        var registered: [String: UInt64] = [:]
        var activation: UInt64 = 0
        /// Each rescue's claim id and its `rescue.completed` seq.
        var completions: [String: UInt64] = [:]
        static let start: Int64 = 1_795_453_200_000_000
        static let policy = Hash(hex: String(repeating: "ab", count: 32))!

        init() throws {
            path = NSTemporaryDirectory() + "pahlawan-reports-test-" + UUID().uuidString
            ledger = try Ledger(directory: DataDirectory(path), signer: try SigningKey(name: "reports.test/ledger", seed: [UInt8](repeating: 9, count: 32)))
        }

        @discardableResult
        mutating func append(_ event: RescueEvent, at time: Int64) throws -> UInt64 {
            let draft = EntryDraft(time: time, kind: event.kind.rawValue, actor: "system", payload: EntryCodec.payload(of: event), policy: Self.policy)
            return try ledger.append([draft])[0].body.seq
        }

        mutating func register(_ participant: ParticipantRegistry.Participant) throws {
            registered[participant.id] = try append(.registered(participant), at: Self.start)
        }

        /// A donation of `grams` from `site` to `recipient`, delivered at `start + n` minutes.
        mutating func donate(_ n: Int64, site: String, recipient: String, grams: Int64, cost: Int64?, dispute: DisputeBook.Outcome?, resolved: Bool = true) throws {
            let time = Self.start + n * 60_000_000
            let offer = OfferBook.Offer(
                id: "off-\(n)", provider: site, category: "mixedMeals", grams: grams, portions: 10, latitude: -6_208_800, longitude: 106_845_600,
                temperature: .ambient, postedAt: time, expiresAt: time + 3_600_000_000, priceRupiah: 0, version: 1, remainingPortions: 10,
                remainingGrams: grams, costRupiah: cost)
            try append(.posted(offer), at: time)
            let claim = "clm-\(n)"
            try append(.claimPlaced(.init(id: claim, offer: offer.id, claimant: recipient, portions: 10, grams: grams, priceRupiah: 0,
                                          pickupCodeDigest: String(repeating: "0", count: 64), status: .placed)), at: time)
            try append(.pickedUp(Pickup(claim: claim, grams: grams, portions: 10, returnedGrams: 0, returnedPortions: 0, afterExpiry: false, at: time)), at: time)
            try append(.deliveryConfirmed(claim: claim, portionsServed: 10), at: time)
            completions[claim] = try append(.rescueCompleted(Completion(
                claim: claim, offer: offer.id, provider: site, claimant: recipient, category: "mixedMeals", gramsRescued: grams, portionsServed: 10,
                meals: 10, lifecycleGramsCO2e: 25, downstreamGramsCO2e: 7, at: time)), at: time)
            guard let dispute else { return }
            try append(.disputeOpened(.init(id: "dsp-\(n)", claim: claim, claimant: recipient, reason: .spoiled, evidence: [], openedAt: time,
                                            decideBy: time + 86_400_000_000, heldRupiah: 0, resolution: nil)), at: time)
            if resolved { try append(.disputeResolved(dispute: "dsp-\(n)", .init(outcome: dispute, refundRupiah: 0, rule: "operator.decision")), at: time) }
        }
    }

    /// Findings of an independent audit, on both sources at once: each report cites the
    /// `participant.registered` entries its columns rest on (company, sites, recipients; the
    /// tax register per line too), and one counting rule decides both reports' totals.
    @Test func reportsCiteTheRegistrationsTheyRestOnAndCountOnlyRescuesThatCount() throws {
        var book = try Handwritten()
        defer {
            book.ledger.close()
            try? FileManager.default.removeItem(atPath: book.path)
        }
        book.activation = try book.append(.policyActivated(policy: Handwritten.policy.hex, files: ["carbon.yaml": String(repeating: "cd", count: 32)]), at: Handwritten.start)
        try book.register(.init(id: "cmp-a", role: .company, region: "ID-JK", taxNumber: "0123456789012345"))
        try book.register(.init(id: "site-a1", role: .site, company: "cmp-a", region: "ID-JK", latitude: -6_208_800, longitude: 106_845_600))
        try book.register(.init(id: "site-a2", role: .site, company: "cmp-a", region: "ID-JK", latitude: -6_208_800, longitude: 106_845_600))
        for (id, taxed) in [("ngo-1", true), ("ngo-2", false)] {
            try book.register(.init(
                id: id, role: .recipient, region: "ID-JK", latitude: -6_209_800, longitude: 106_846_600, registrationNumber: "AHU-\(id)",
                capacityPortions: 50, acceptedCategories: ["mixedMeals"], serviceRadiusMetres: 10_000, headcountServed: 80,
                taxNumber: taxed ? "0987654321098765" : nil, donationPurpose: taxed ? .education : nil))
        }
        try book.register(.init(id: "cmp-b", role: .company, region: "ID-JK"))
        try book.donate(1, site: "site-a1", recipient: "ngo-1", grams: 1_000, cost: 10_000, dispute: nil)
        try book.donate(2, site: "site-a1", recipient: "ngo-1", grams: 2_000, cost: 20_000, dispute: .noRefundRelist)
        try book.donate(3, site: "site-a1", recipient: "ngo-2", grams: 4_000, cost: 40_000, dispute: .partialRefund(rupiah: 0))
        try book.donate(4, site: "site-a1", recipient: "ngo-1", grams: 8_000, cost: 80_000, dispute: .noRefund, resolved: false)
        try book.donate(5, site: "cmp-a", recipient: "ngo-1", grams: 16_000, cost: 160_000, dispute: .fullRefund)
        try book.donate(6, site: "site-a1", recipient: "ngo-1", grams: 32_000, cost: nil, dispute: .noRefund)
        try book.ledger.checkpoint()

        let (connection, mirror) = try Self.freshMirror()
        try mirror.catchUp(from: book.ledger)
        var facts = ReportFacts()
        try ReportBook.fold(book.ledger, into: &facts, to: book.ledger.size)
        let size = book.ledger.size
        let year = Int(Reports.civilYear(microseconds: Handwritten.start))
        let reports = try Self.compareReports(
            ledger: book.ledger, facts: facts, size: size, mirror: MirrorReports(connection: connection), year: year, companies: ["cmp-a"])
        let r = book.registered
        func report(_ kind: String, site: Bool = false) throws -> Report {
            try #require(reports.first { $0.kind == kind && ($0.parameters["site"] != nil) == site && $0.parameters["priorYearNetIncomeRupiah"] == nil })
        }

        // 2. One counting rule: no dispute, noRefund or noRefundRelist counts; an open dispute and
        // any refund outcome (a partial one of 0 rupiah too) do not.
        let counting: Set<String> = ["clm-1", "clm-2", "clm-6"]
        let csr = try report("csr")
        #expect(csr.lines.map { $0["inTotals"] } == csr.lines.map { .bool(counting.contains($0["claim"]?.stringValue ?? "")) })
        #expect(csr.totals["rescues"] == 3 && csr.totals["gramsRescued"] == 35_000)
        #expect(csr.totals["excludedRescues"] == 3 && csr.totals["excludedGrams"] == 28_000)

        // 3. The tax register counts as donations only rescues that count; the others are listed,
        // with their reasons, and counted apart.
        let tax = try report("tax")
        #expect(tax.lines.count == 6)
        let reasons = Dictionary(uniqueKeysWithValues: tax.lines.map { ($0["seq"]?.integerValue ?? -1, $0["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []) })
        #expect(reasons[Int64(book.completions["clm-2"]!)] == [])
        #expect(reasons[Int64(book.completions["clm-3"]!)] == ["recipientHasNoTaxNumber", "recipientPurposeIsNotListed", "disputeRefunded"])
        #expect(reasons[Int64(book.completions["clm-4"]!)] == ["disputeIsOpen"])
        #expect(reasons[Int64(book.completions["clm-5"]!)] == ["disputeRefunded"])
        #expect(reasons[Int64(book.completions["clm-6"]!)] == ["costIsNotDeclared"])
        #expect(tax.totals["donations"] == 3 && tax.totals["gramsRescued"] == 35_000 && tax.totals["declaredCostRupiah"] == 30_000)
        #expect(tax.totals["eligibleDonations"] == 2 && tax.totals["eligibleCostRupiah"] == 30_000)
        #expect(tax.totals["excludedRescues"] == 3 && tax.totals["excludedGrams"] == 28_000)
        for line in tax.lines {
            let completion = UInt64(line["seq"]?.integerValue ?? -1)
            let claim = book.completions.first { $0.value == completion }?.key ?? ""
            #expect(line["inTotals"] == .bool(counting.contains(claim)), "\(claim)")
        }

        // 1. Registrations: the company's (the donor's NPWP), each line's site and recipient, and
        // the one site asked for; nobody else's. The tax register names the recipient's per line.
        for line in tax.lines {
            #expect(line["recipientSeq"]?.integerValue.map(UInt64.init) == r[line["recipient"]?.stringValue ?? ""], "\(line)")
        }
        let lineRegistrations: Set<UInt64> = [r["cmp-a"]!, r["site-a1"]!, r["ngo-1"]!, r["ngo-2"]!]
        for report in [csr, tax] {
            #expect(lineRegistrations.isSubset(of: report.seqs), "\(report.kind)")
            #expect(!report.seqs.contains(r["site-a2"]!) && !report.seqs.contains(r["cmp-b"]!), "\(report.kind)")
        }
        #expect(csr.seqs.contains(book.activation), "the factor set's carbon.yaml hash comes from the policy activation")
        #expect(try report("carbon").seqs == [r["cmp-a"]!])
        #expect(try report("certificate").seqs.contains(r["cmp-a"]!))
        let oneSite = try Reports(facts: facts, checkpointSize: size, checkpointRoot: try book.ledger.root(size: size).hex)
            .report(.csr(company: "cmp-a", site: "site-a2"))
        #expect(oneSite.lines.isEmpty && oneSite.seqs == [r["cmp-a"]!, r["site-a2"]!])
        #expect(try MirrorReports(connection: connection).report(.csr(company: "cmp-a", site: "site-a2"), checkpointSize: size, checkpointRoot: oneSite.checkpointRoot) == oneSite)
    }

    /// Totals beyond ±(2^53 − 1), the integers reports are written in (each entry's figures are
    /// within it, their sums need not be), refuse the report on both sources alike
    /// (`totalIsOutOfRange`): the ledger's side used to state them, the mirror's failed to parse.
    @Test func totalsBeyondTheReportIntegerRangeAreRefusedByBothSources() throws {
        var book = try Handwritten()
        defer {
            book.ledger.close()
            try? FileManager.default.removeItem(atPath: book.path)
        }
        try book.register(.init(id: "cmp-big", role: .company, region: "ID-JK"))
        try book.register(.init(id: "cmp-x", role: .company, region: "ID-JK"))
        try book.register(.init(id: "ngo-1", role: .recipient, region: "ID-JK", registrationNumber: "AHU-1"))
        for n: Int64 in 1...2 { try book.donate(n, site: "cmp-big", recipient: "ngo-1", grams: JSONValue.integerMagnitudeMax, cost: JSONValue.integerMagnitudeMax, dispute: nil) }
        for (owner, vintage) in [("cmp-big", 2026), ("cmp-x", 2027)] {
            let range = SerialRange(vintage: vintage, first: 1, last: JSONValue.integerMagnitudeMax)!
            try book.append(.carbonMinted(Minted(company: owner, vintage: vintage, range: range, buffer: nil, rescue: 0, basedOn: [], gramsCO2e: 0,
                                                 carriedGrams: 0, basis: .lifecycle)), at: Handwritten.start + 600_000_000)
            try book.append(.carbonRetired(owner: owner, range: range, beneficiary: "b", reason: "r"), at: Handwritten.start + 600_000_000)
        }
        try book.ledger.checkpoint()
        let (connection, mirror) = try Self.freshMirror()
        try mirror.catchUp(from: book.ledger)
        var facts = ReportFacts()
        try ReportBook.fold(book.ledger, into: &facts, to: book.ledger.size)
        let size = book.ledger.size
        let root = try book.ledger.root(size: size).hex
        let reports = Reports(facts: facts, checkpointSize: size, checkpointRoot: root)
        let sql = MirrorReports(connection: connection)
        for request: ReportRequest in [.csr(company: "cmp-big"), .tax(company: "cmp-big", year: 2026), .certificate(company: "cmp-big"), .retirements] {
            let fromLedger = #expect(throws: (any Error).self, "\(request)") { try reports.report(request) }
            let fromMirror = #expect(throws: (any Error).self, "\(request)") { try sql.report(request, checkpointSize: size, checkpointRoot: root) }
            #expect((fromLedger as? Reports.Refusal)?.rawValue == "totalIsOutOfRange", "\(request): \(String(describing: fromLedger))")
            #expect((fromMirror as? Reports.Refusal)?.rawValue == "totalIsOutOfRange", "\(request): \(String(describing: fromMirror))")
        }
        _ = try Self.compareReports(ledger: book.ledger, facts: facts, size: size, mirror: sql, year: 2026, companies: ["cmp-x"], withRetirements: false)
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
        let behind = #expect(throws: MirrorError.self) { try sql.report(.retirements, checkpointSize: size, checkpointRoot: root) }
        #expect(behind?.code == .behindCheckpoint)
        try mirror.catchUp(from: loop.ledger)
        let another = #expect(throws: MirrorError.self) {
            try sql.report(.retirements, checkpointSize: size, checkpointRoot: root, lastLeafHash: String(repeating: "0", count: 64))
        }
        #expect(another?.code == .anotherLedger)
        #expect(throws: Reports.Refusal.companyNotFound) { try sql.report(.carbon(company: "cmp-nowhere"), checkpointSize: size, checkpointRoot: root) }
    }
}
