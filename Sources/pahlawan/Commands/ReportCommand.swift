import ArgumentParser
import Compliance
import Core
import Foundation
import Ledger
import Mirror

/// `pahlawan report KIND`: the reports of `audit/README.md` ("Reports") at the ledger's latest
/// checkpoint, as JSON or CSV, from the ledger itself or (`--postgres`) by SQL on the mirror.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "CSR donation report, tax donation register, carbon statement, retirement register or impact certificate, at the latest checkpoint.",
        discussion: """
            KIND is csr, tax, carbon, retirements or certificate. The ledger is opened read-only (a running service may keep \
            writing). With --postgres the same report is computed by SQL on the mirror, which must hold every entry of the \
            checkpoint (run `pahlawan mirror --once` first). --role masks recipients and free text as masking.yaml says \
            for that role (the masking key is read from --secrets); without it the report is unmasked, as for an operator.
            """)

    @Argument(help: "csr, tax, carbon, retirements or certificate.") var kind: String
    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "The company (csr, tax, carbon, certificate).") var company: String?
    @Option(help: "csr: one site of the company only.") var site: String?
    @Option(help: "csr: first entry time, µs since the Unix epoch (inclusive).") var from: Int64?
    @Option(help: "csr: last entry time, µs since the Unix epoch (inclusive).") var until: Int64?
    @Option(help: "tax: the fiscal year (a WIB calendar year).") var year: Int?
    @Option(name: .customLong("prior-year-net-income"), help: "tax: the donor's declared prior-year net income in rupiah (sets the 5 % cap).")
    var priorYearNetIncome: Int64?
    @Option(help: "json or csv.") var format = "json"
    @Option(help: "Mask for this role (masking.yaml).") var role: String?
    /// `--policies` (all of them, masking.yaml among them) and `--secrets` (the masking key, with --role).
    @OptionGroup var masking: MaskingOptions
    @Option(help: "Compute by SQL on this PostgreSQL mirror (or PAHLAWAN_POSTGRES_URL with --mirror).") var postgres: String?
    @Flag(help: "Compute by SQL on the mirror at PAHLAWAN_POSTGRES_URL.") var mirror = false

    func validate() throws {
        guard ["json", "csv"].contains(format) else { throw ValidationError("--format must be json or csv") }
        _ = try request()
    }

    func request() throws -> ReportRequest {
        func needCompany() throws -> String {
            guard let company else { throw ValidationError("\(kind) needs --company") }
            return company
        }
        switch kind {
        case "csr": return .csr(company: try needCompany(), site: site, from: from, until: until)
        case "tax":
            guard let year else { throw ValidationError("tax needs --year") }
            return .tax(company: try needCompany(), year: year, priorYearNetIncomeRupiah: priorYearNetIncome)
        case "carbon": return .carbon(company: try needCompany())
        case "retirements": return .retirements
        case "certificate": return .certificate(company: try needCompany())
        default: throw ValidationError("KIND must be csr, tax, carbon, retirements or certificate, not \(kind)")
        }
    }

    /// The report, from the ledger or by SQL on the mirror; refusals are the caller's to word.
    func compute(_ request: ReportRequest, ledger: Ledger, policySet: PolicySet) throws -> Report {
        let sign: (String) throws -> String = { text in
            try report { try Ledger.signStatement(text, with: try data.directory.loadSigningKey()) }
        }
        return try report { () throws -> Report in
            let url = postgres ?? (mirror ? ProcessInfo.processInfo.environment["PAHLAWAN_POSTGRES_URL"] : nil)
            if mirror, url == nil { throw ValidationError("--mirror needs PAHLAWAN_POSTGRES_URL") }
            guard let url else { return try ReportBook().reports(ledger).report(request, tiers: policySet.certificateTiers, sign: sign) }
            return try MirrorReports(connection: try PostgresConnection(url: url))
                .report(request, atLatestCheckpointOf: ledger, tiers: policySet.certificateTiers, sign: sign)
        }
    }

    func run() throws {
        let request = try request()
        let policySet = try report { try PolicySet.load(directory: masking.policies) }
        let ledger = try data.openReadOnly()
        defer { ledger.close() }
        var result: Report
        do {
            result = try compute(request, ledger: ledger, policySet: policySet)
        } catch let refusal as Reports.Refusal {
            printError("pahlawan: error: \(refusal.rawValue): \(request.explain(refusal)) (\(data.path))")
            throw ExitCode(1)
        }
        if let role {
            guard MaskingPolicy.roles.contains(role) else { throw ValidationError("--role must be one of \(MaskingPolicy.roles.joined(separator: ", "))") }
            result = result.masked(for: role, by: try masking.masker())
        }
        if format == "csv" {
            print(result.csv, terminator: "")
        } else {
            print(String(decoding: CanonicalJSON.encode(result.json), as: UTF8.self))
        }
    }
}
