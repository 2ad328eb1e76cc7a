import Ledger
import Rescue
import Testing
@testable import Compliance

/// The report's own rules, apart from any ledger: CSV quoting, WIB dates, cost shares, range
/// merging, tiers and masking.
@Suite struct ReportTests {
    static func report(lines: [[String: JSONValue]]) -> Report {
        Report(kind: "csr", parameters: [:], checkpointSize: 7, checkpointRoot: "ab", columns: ["seq", "recipient", "note", "flags"],
               lines: lines, totals: [:], seqs: [3, 1, 3])
    }

    @Test func csvQuotesFieldsNeutralisesFormulasAndStatesTheCheckpoint() {
        let csv = Self.report(lines: [
            ["seq": 1, "recipient": "ngo-1", "note": "a, \"b\"", "flags": .array(["x", "y"])],
            ["seq": -2, "recipient": "=HYPERLINK(\"x\")", "note": "line\nbreak", "flags": .bool(true)],
        ]).csv
        let expected = [
            "seq,recipient,note,flags,checkpointSize,checkpointRoot",
            #"1,ngo-1,"a, ""b""",x;y,7,ab"#,
            #"-2,"'=HYPERLINK(""x"")","line"# + "\n" + #"break",true,7,ab"#,
        ]
        #expect(csv == expected.map { $0 + "\r\n" }.joined())
        #expect(Self.report(lines: []).seqs == [1, 3], "seqs are unique and ascending")
    }

    /// OWASP's CSV-injection list is = + - @, TAB and CR: a cell starting with any of them is
    /// quoted and prefixed with `'`, judged by its first code point (a CRLF, or an = carrying a
    /// combining mark, is one Swift `Character` but starts with CR or =). A quote or line break
    /// inside any cell is quoted and escaped, whatever characters it joins.
    @Test func csvNeutralisesTabAndCarriageReturnAsItDoesFormulas() {
        let cells = ["\tcmd", "\r=1+1", "\r\n=1+1", "=\u{301}1+1", "-\u{301}", "a\r\nb", "x\"\u{301}y", "@\u{301}", "plain"]
        let expected = ["\"'\tcmd\"", "\"'\r=1+1\"", "\"'\r\n=1+1\"", "\"'=\u{301}1+1\"", "\"'-\u{301}\"", "\"a\r\nb\"", "\"x\"\"\u{301}y\"", "\"'@\u{301}\"", "plain"]
        for (cell, want) in zip(cells, expected) {
            let csv = Self.report(lines: [["seq": 1, "recipient": "ngo-1", "note": .string(cell), "flags": .array([])]]).csv
            let scalars = Array(csv.unicodeScalars)
            let row = Array(scalars[(scalars.firstIndex(of: "\n")! + 1)...])
            #expect(row == Array(("1,ngo-1," + want + ",,7,ab\r\n").unicodeScalars), "\(Array(cell.unicodeScalars)) → \(row)")
        }
    }

    @Test func datesAreWIBCalendarDays() {
        // 2026-12-31 17:00 UTC is 2027-01-01 00:00 WIB; one µs earlier is still 2026.
        let newYear: Int64 = 1_798_736_400_000_000
        #expect(Reports.civilDate(microseconds: newYear).text == "2027-01-01")
        #expect(Reports.civilDate(microseconds: newYear - 1).text == "2026-12-31")
        #expect(Reports.civilYear(microseconds: newYear - 1) == 2026)
        #expect(Reports.civilDate(microseconds: 0).text == "1970-01-01")
        #expect(Reports.civilDate(microseconds: 951_782_400_000_000 - 7 * 3_600_000_000).text == "2000-02-29")
    }

    @Test func aCostShareRoundsDownWithoutOverflow() {
        #expect(Reports.share(of: 10, grams: 1, outOf: 3) == 3)
        #expect(Reports.share(of: 1_000_000_000_000, grams: 40_000_000, outOf: 40_000_001) == 999_999_975_000)
        #expect(Reports.share(of: 5, grams: 1, outOf: 0) == 0)
    }

    /// Events whose figures are each the largest an entry may hold (2^53 − 1) but whose sums are
    /// not: two donations of that many grams (and rupiah of cost) by one company, and two
    /// retirements of that many tokens (two companies, two vintages).
    static func oversizedFacts() -> ReportFacts {
        var facts = ReportFacts()
        let time: Int64 = 1_795_453_200_000_000
        let huge = JSONValue.integerMagnitudeMax
        var events: [RescueEvent] = [
            .registered(.init(id: "cmp-big", role: .company, region: "ID-JK")), .registered(.init(id: "cmp-x", role: .company, region: "ID-JK")),
            .registered(.init(id: "ngo-1", role: .recipient, region: "ID-JK", registrationNumber: "AHU-1")),
        ]
        for n in 1...2 {
            events += [
                .posted(.init(id: "off-\(n)", provider: "cmp-big", category: "mixedMeals", grams: huge, portions: 1, latitude: 0, longitude: 0, temperature: .ambient,
                              postedAt: time, expiresAt: time + 1, priceRupiah: 0, version: 1, remainingPortions: 1, remainingGrams: huge, costRupiah: huge)),
                .claimPlaced(.init(id: "clm-\(n)", offer: "off-\(n)", claimant: "ngo-1", portions: 1, grams: huge, priceRupiah: 0, pickupCodeDigest: "", status: .placed)),
                .rescueCompleted(Completion(claim: "clm-\(n)", offer: "off-\(n)", provider: "cmp-big", claimant: "ngo-1", category: "mixedMeals", gramsRescued: huge,
                                            portionsServed: 1, meals: 1, lifecycleGramsCO2e: 1, downstreamGramsCO2e: 1, at: time)),
            ]
        }
        for (owner, vintage) in [("cmp-big", 2026), ("cmp-x", 2027)] {
            let range = SerialRange(vintage: vintage, first: 1, last: huge)!
            events += [
                .carbonMinted(Minted(company: owner, vintage: vintage, range: range, buffer: nil, rescue: 0, basedOn: [], gramsCO2e: 0, carriedGrams: 0, basis: .lifecycle)),
                .carbonRetired(owner: owner, range: range, beneficiary: "b", reason: "r"),
            ]
        }
        for (seq, event) in events.enumerated() { facts.apply(seq: UInt64(seq), time: time, policy: "", event: event) }
        return facts
    }

    /// A total beyond ±(2^53 − 1) refuses the report (`totalIsOutOfRange`) rather than state a
    /// figure JSON readers round, or (past Int64.max, a thousand such rescues) trap the service.
    @Test func totalsBeyondTheReportIntegerRangeRefuseTheReport() throws {
        let facts = Self.oversizedFacts()
        let reports = Reports(facts: facts, checkpointSize: facts.size, checkpointRoot: "ab")
        for request: ReportRequest in [.csr(company: "cmp-big"), .tax(company: "cmp-big", year: 2026), .certificate(company: "cmp-big"), .retirements] {
            let error = #expect(throws: (any Error).self, "\(request)") { try reports.report(request) }
            #expect((error as? Reports.Refusal)?.rawValue == "totalIsOutOfRange", "\(request)")
        }
        #expect(try reports.report(.carbon(company: "cmp-x")).totals["retired"] == .integer(JSONValue.integerMagnitudeMax), "a total at the bound is stated")
    }

    @Test func rangesMergeOnlyWhenTheyTouchInOneVintage() {
        let ranges = [(2026, 5, 9), (2026, 1, 4), (2026, 11, 12), (2027, 13, 20)].map { SerialRange(vintage: $0.0, first: Int64($0.1), last: Int64($0.2))! }
        #expect(Reports.merged(ranges).map(\.description) == ["PPG-2026-1-9", "PPG-2026-11-12", "PPG-2027-13-20"])
    }

    @Test func recipientsAreMaskedPerRoleAndTotalsAreNot() throws {
        let masking = try MaskingPolicy.load(path: PolicySetTests.repository + "/policies/masking.yaml")
        let masker = Masker(policy: masking, secret: Array("secret".utf8))
        var report = Self.report(lines: [["seq": 1, "recipient": "ngo-jkt-1", "note": "x", "flags": .bool(false)]])
        report.totals = ["recipients": 1]
        report.sections = ["retirements": [["beneficiary": "call +6281234567890", "reason": "offset"]]]
        #expect(report.masked(for: "auditor", by: masker).lines[0]["recipient"] == "ngo-jkt-1")
        let trader = report.masked(for: "carbon_trader", by: masker)
        #expect(trader.lines[0]["recipient"]?.stringValue?.hasPrefix("psn_") == true)
        #expect(trader.lines[0]["recipient"] == report.masked(for: "carbon_trader", by: masker).lines[0]["recipient"], "stable")
        #expect(trader.lines[0]["recipient"] != report.masked(for: "courier", by: masker).lines[0]["recipient"], "per role")
        #expect(trader.totals == report.totals)
        let beneficiary = trader.sections["retirements"]?.arrayValue?.first?["beneficiary"]?.stringValue ?? ""
        #expect(!beneficiary.contains("34567890"), "free text through the scanner: \(beneficiary)")
    }

    @Test func theTierIsTheHighestReachedByTokensRetired() throws {
        func certificate(retired: Int64) throws -> Report {
            let csr = Report(kind: "csr", parameters: ["company": "cmp-1"], checkpointSize: 9, checkpointRoot: "cd", columns: [], lines: [], totals: ["rescues": 4], seqs: [2])
            let carbon = Report(kind: "carbon", parameters: ["company": "cmp-1"], checkpointSize: 9, checkpointRoot: "cd", columns: [], lines: [], totals: ["retired": .integer(retired)], seqs: [5])
            return ImpactCertificate.make(csr: csr, carbon: carbon, tiers: [("bronze", 10), ("gold", 1_000), ("silver", 100)]) { $0 }
        }
        #expect(try certificate(retired: 9).lines[0]["tier"] == "none")
        #expect(try certificate(retired: 10).lines[0]["tier"] == "bronze")
        #expect(try certificate(retired: 999).lines[0]["tier"] == "silver")
        let gold = try certificate(retired: 1_000)
        #expect(gold.lines[0]["tier"] == "gold" && gold.seqs == [2, 5])
        #expect(gold.sections["note"]?.stringValue == "Pahlawan Trust impact certificate v1\ncompany cmp-1\ntier gold\ntokensRetired 1000\ntokensMinted 0\nrescues 4\ngramsRescued 0\nmeals 0\nlifecycleGramsCO2e 0\ndownstreamGramsCO2e 0\ncheckpoint 9 cd\n")
    }
}
