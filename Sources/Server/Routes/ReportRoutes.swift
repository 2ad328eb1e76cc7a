import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import Mirror

/// The reports (`audit/README.md`, "Reports") at the latest signed checkpoint, as JSON or CSV
/// (`?format=csv` or `Accept: text/csv`), masked for the caller's role. `?source=mirror`
/// computes them by SQL on the Postgres mirror instead (when the service keeps one), which must
/// have caught up with the checkpoint. A provider or carbon trader gets only its own company's.
extension Service {
    func addReportRoutes(_ routes: RouteBuilder) {
        let loop = loop
        let book = reportBook
        let service = self
        /// Every report takes `format` and `source`; `accepts` are the route's own parameters.
        @Sendable func answer(
            _ request: Request, _ principal: Principal?, accepts: Set<String> = [], _ build: (Parameters) throws -> ReportRequest
        ) async throws -> Response {
            let query = request.uri.queryParameters
            let known = accepts.union(["format", "source"])
            if let unknown = query.map({ String($0.key) }).first(where: { !known.contains($0) }) {
                throw Problem(.badRequest, "unknownParameter", "The query has a parameter this route does not take", detail: "\(unknown); known: \(known.sorted().joined(separator: ", "))")
            }
            if let format = query.get("format"), !["json", "csv"].contains(format) { throw Problem.badRequest("format must be json or csv") }
            let wanted = try build(query)
            if let principal, [.provider, .carbonTrader].contains(principal.role), let company = wanted.company {
                let own = loop.read { $0.participants.participants[principal.subject]?.company ?? principal.subject }
                guard own == company else {
                    throw Problem(.forbidden, "notYourCompany", "This caller may read only its own company's reports", detail: "\(principal.subject) is not part of \(company)")
                }
            }
            let source = query.get("source")
            // Off the cooperative pool: the first report folds the whole ledger, and SQL may take a while.
            let report = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Report, Error>) in
                DispatchQueue.global().async { continuation.resume(with: Result { try service.compute(wanted, book: book, source: source) }) }
            }
            let masked = report.masked(for: principal?.role.rawValue ?? "public", by: service.masker)
            let csv = query.get("format") == "csv" || (query.get("format") == nil && request.headers[.accept]?.contains("text/csv") == true)
            if csv {
                return Response(
                    status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(report.kind).csv\""],
                    body: .init(byteBuffer: ByteBuffer(string: masked.csv)))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(masked.json))))
        }
        routes.on(.get, "/v1/reports/csr/{company}", .needs(.reportsRead)) { request, context in
            let company = try PathParameters.id(context, "company")
            return try await answer(request, context.principal, accepts: ["site", "from", "until"]) { query in
                .csr(company: company, site: query.get("site"), from: try Self.integer(query, "from"), until: try Self.integer(query, "until"))
            }
        }
        routes.on(.get, "/v1/reports/tax/{company}", .needs(.reportsRead)) { request, context in
            let company = try PathParameters.id(context, "company")
            return try await answer(request, context.principal, accepts: ["year", "priorYearNetIncomeRupiah"]) { query in
                guard let year = try Self.integer(query, "year") else { throw Problem.badRequest("year is required (the fiscal year, e.g. 2026)") }
                return .tax(company: company, year: Int(year), priorYearNetIncomeRupiah: try Self.integer(query, "priorYearNetIncomeRupiah"))
            }
        }
        routes.on(.get, "/v1/reports/carbon/{company}", .needs(.reportsRead)) { request, context in
            let company = try PathParameters.id(context, "company")
            return try await answer(request, context.principal) { _ in .carbon(company: company) }
        }
        routes.on(.get, "/v1/reports/certificate/{company}", .needs(.reportsRead)) { request, context in
            let company = try PathParameters.id(context, "company")
            return try await answer(request, context.principal) { _ in .certificate(company: company) }
        }
        routes.on(.get, "/v1/reports/retirements", .public) { request, context in
            try await answer(request, context.principal) { _ in .retirements }
        }
    }

    /// A query integer in the JSON integer domain, ±(2^53 − 1): reports echo their parameters,
    /// and the reports compute with them (a year's bounds in µs, a 5 % cap) without overflowing.
    static func integer(_ query: Parameters, _ name: String) throws -> Int64? {
        guard let text = query.get(name) else { return nil }
        guard let value = Int64(text) else {
            let digits = text.utf8.drop(while: { $0 == UInt8(ascii: "-") })
            let isInteger = !digits.isEmpty && digits.count + 1 >= text.utf8.count && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            throw isInteger ? Problem.numberOutOfRange(name) : Problem.badRequest("\(name) must be an integer")
        }
        guard (-JSONValue.integerMagnitudeMax...JSONValue.integerMagnitudeMax).contains(value) else { throw Problem.numberOutOfRange(name) }
        return value
    }

    /// Computes `request` at the latest checkpoint, from the ledger or (`source=mirror`) by SQL.
    func compute(_ request: ReportRequest, book: ReportBook, source: String?) throws -> Report {
        let ledger = loop.ledger
        let tiers = loop.policies.certificateTiers
        let sign: (String) throws -> String = { try ledger.signStatement($0) }
        do {
            switch source {
            case nil, "ledger":
                return try Self.ledgerRead { try book.reports(ledger) }.report(request, tiers: tiers, sign: sign)
            case "mirror":
                guard let mirrorURL else {
                    throw Problem(.serviceUnavailable, "mirrorNotConfigured", "This service keeps no Postgres mirror", detail: "start it with --postgres URL")
                }
                do {
                    let connection = try PostgresConnection(url: mirrorURL)
                    defer { connection.close() }
                    return try Self.ledgerRead { try MirrorReports(connection: connection).report(request, atLatestCheckpointOf: ledger, tiers: tiers, sign: sign) }
                } catch let error as MirrorError {
                    throw Problem.mirror(error)
                } catch let error as PostgresError {
                    throw Problem.mirror(.postgres(error))
                }
            default:
                throw Problem.badRequest("source must be ledger or mirror")
            }
        } catch let refusal as Reports.Refusal {
            let status: HTTPResponse.Status = refusal == .companyNotFound ? .notFound : .unprocessableContent
            throw Problem(status, refusal.rawValue, "The report cannot be computed", detail: request.explain(refusal))
        }
    }
}

extension Problem {
    /// The problem for a mirror that cannot answer: each condition has its own type, and only
    /// one that passes by itself (catching up, another mirror's turn) says when to retry. All
    /// are 503: the mirror is a service this one depends on, and the caller's request was fine.
    static func mirror(_ error: MirrorError) -> Problem {
        switch error.code {
        case .behindCheckpoint:
            Problem(.serviceUnavailable, "mirrorBehind", "The Postgres mirror has not caught up with the checkpoint", detail: error.reason, retryAfterSeconds: 1)
        case .cursorMoved:
            Problem(.serviceUnavailable, "mirrorBusy", "Another mirror is writing the Postgres mirror", detail: error.reason, retryAfterSeconds: 1)
        case .anotherLedger:
            Problem(.serviceUnavailable, "mirrorOfAnotherLedger", "The Postgres mirror holds another ledger's entries", detail: "rebuild it from this ledger (pahlawan mirror rebuild)")
        case .notMigrated:
            Problem(.serviceUnavailable, "mirrorNotMigrated", "The Postgres mirror has no tables yet", detail: error.reason)
        case .reportQueryFailed:
            Problem(.serviceUnavailable, "mirrorReportFailed", "The Postgres mirror answered what no report can be", detail: error.reason)
        default:
            Problem(.serviceUnavailable, "mirrorUnavailable", "The Postgres mirror cannot answer now", detail: error.postgres?.message ?? error.reason)
        }
    }
}
