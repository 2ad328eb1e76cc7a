import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import NIOCore
import Rescue

/// The company pages (CSR report, tax register, carbon statement) and the public carbon
/// registry (serials, retirements, certificates). Every figure is the report's own integer, as
/// the report API computes and masks it for the caller's role; the console only writes it out.
extension Service {
    /// The columns each report page shows (the downloads carry every column).
    static let shownColumns: [String: [String]] = [
        "csr": [
            "seq", "time", "site", "recipient", "category", "gramsRescued", "meals", "lifecycleGramsCO2e", "channel", "disputeOutcome", "inTotals",
            "tillBodySha256", "attestedScore", "couriers",
        ],
        "tax": ["seq", "date", "site", "recipient", "recipientTaxNumber", "goods", "gramsRescued", "costRupiah", "eligible", "reasons", "offerSeq", "claimSeq", "pickupSeq", "deliverySeq"],
        "carbon": Reports.carbonColumns,
        "retirements": Reports.retirementColumns,
    ]

    func addConsoleReportPages(_ pages: ConsoleBuilder) {
        let service = self
        pages.on(.get, "/console/companies", .needs(.reportsRead)) { call in
            let query = try call.query(known: ["company"])
            if let company = query["company"] {
                guard ParticipantRegistry.isPseudonymous(company) else { throw Problem.badRequest(call.text("company.notAnID")) }
                return .response(Response(status: .seeOther, headers: [.location: "/console/companies/\(company)"]))
            }
            let companies = service.loop.read { world in
                world.participants.participants.values.filter { $0.role == .company }.map(\.id).sorted()
            }
            let own = try service.ownCompany(call)
            return .page("companies", ["title": call.text("companies.title"), "companies": companies.filter { own == nil || $0 == own }])
        }
        for kind in ["csr", "tax", "carbon"] {
            let path = kind == "csr" ? "/console/companies/{company}" : "/console/companies/{company}/\(kind)"
            pages.on(.get, path, .needs(.reportsRead)) { call in
                try await Self.reportPage(call, service, kind: kind, download: nil)
            }
            for format in ["csv", "json"] {
                pages.on(.get, "/console/companies/{company}/\(kind).\(format)", .needs(.reportsRead)) { call in
                    try await Self.reportPage(call, service, kind: kind, download: format)
                }
            }
        }
        pages.on(.get, "/console/carbon/serials", .public) { call in
            let query = try call.query(known: ["q"])
            guard let wanted = query["q"] else { return .page("serials", ["title": call.text("serials.title")]) }
            let parts = wanted.trimmingCharacters(in: .whitespaces).uppercased().split(separator: "-")
            guard parts.count >= 3, parts[0] == "PPG", let vintage = Int(parts[1]), let serial = Int64(parts[2]), serial >= 1 else {
                throw Problem(.badRequest, "malformedRequest", call.text("serials.malformed"), detail: String(wanted.prefix(60)))
            }
            return .response(Response(status: .seeOther, headers: [.location: "/console/carbon/serials/\(vintage)/\(serial)"]))
        }
        pages.on(.get, "/console/carbon/serials/{vintage}/{serial}", .public) { call in try Self.serialPage(call, service) }
        pages.on(.get, "/console/carbon/retirements", .public) { call in try await Self.reportPage(call, service, kind: "retirements", download: nil) }
        for format in ["csv", "json"] {
            pages.on(.get, "/console/carbon/retirements.\(format)", .public) { call in try await Self.reportPage(call, service, kind: "retirements", download: format) }
        }
        pages.on(.get, "/console/carbon/retirements/{seq}", .public) { call in try await Self.certificatePage(call, service) }
        pages.on(.get, "/console/carbon/holdings", .public) { call in try Self.holdingsPage(call, service) }
    }

    /// A provider or carbon trader reads only its own company (as the report API); nil: any.
    func ownCompany(_ call: ConsoleCall) throws -> String? {
        guard let principal = call.principal, [.provider, .carbonTrader].contains(principal.role) else { return nil }
        return loop.read { $0.participants.participants[principal.subject]?.company ?? principal.subject }
    }

    /// The report as the API computes it, off the cooperative pool, masked for the caller; with
    /// `page`, only that page's lines are kept (and masked: masking every line of a large
    /// report to show 200 was most of the page's cost), and `lineCount` is the whole report's.
    func consoleReport(_ call: ConsoleCall, _ wanted: ReportRequest, page: Int? = nil) async throws -> (report: Report, lineCount: Int) {
        if let company = wanted.company, let own = try ownCompany(call), own != company {
            throw Problem(.forbidden, "notYourCompany", call.text("error.notYourCompany"), detail: "\(call.principal?.subject ?? "") is not part of \(company)")
        }
        let book = reportBook
        let service = self
        let report = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Report, Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try service.compute(wanted, book: book, source: nil) }) }
        }
        var kept = report
        if let page {
            let first = min(report.lines.count, (page - 1) * Self.linesPerPage)
            kept.lines = Array(report.lines[first..<min(report.lines.count, first + Self.linesPerPage)])
        }
        return (kept.masked(for: call.principal?.role.rawValue ?? "public", by: masker), report.lines.count)
    }

    /// Report lines per page of the console (the downloads have them all).
    static let linesPerPage = 200

    static func reportPage(_ call: ConsoleCall, _ service: Service, kind: String, download: String?) async throws -> ConsoleAnswer {
        let parameters: Set<String> = kind == "tax" ? ["year", "priorYearNetIncomeRupiah"] : kind == "csr" ? ["from", "until"] : []
        var query = try call.query(known: parameters.union(download == nil ? ["page"] : []))
        // Pages of lines, so a company with 100,000 rescues is still a page a browser opens; the
        // totals, charts and downloads are always the whole report's.
        let pageText = query.removeValue(forKey: "page") ?? "1"
        guard let pageNumber = Int(pageText), pageNumber >= 1, pageNumber <= 1_000_000 else { throw Problem.badRequest(call.text("report.pageInvalid")) }
        let company = kind == "retirements" ? "" : try PathParameters.id(call.context, "company")
        let wanted: ReportRequest
        var values: [String: Any] = ["company": company, "kind": kind]
        switch kind {
        case "csr":
            let from = try query["from"].map { try wibDate($0, "from", endOfDay: false) }
            let until = try query["until"].map { try wibDate($0, "until", endOfDay: true) }
            wanted = .csr(company: company, site: nil, from: from, until: until)
            values["from"] = query["from"] ?? ""
            values["until"] = query["until"] ?? ""
        case "tax":
            let thisYear = Reports.civilYear(microseconds: Int64(Date().timeIntervalSince1970) * 1_000_000)
            guard let year = Int(query["year"] ?? String(thisYear)), (1...9999).contains(year) else { throw Problem.badRequest(call.text("tax.yearInvalid")) }
            var income: Int64?
            if let text = query["priorYearNetIncomeRupiah"] {
                guard let value = Int64(text), (0...JSONValue.integerMagnitudeMax).contains(value) else { throw Problem.numberOutOfRange("priorYearNetIncomeRupiah") }
                income = value
            }
            wanted = .tax(company: company, year: year, priorYearNetIncomeRupiah: income)
            values["year"] = String(year)
            values["income"] = query["priorYearNetIncomeRupiah"] ?? ""
        case "carbon": wanted = .carbon(company: company)
        default: wanted = .retirements
        }
        let (report, lineCount) = try await service.consoleReport(call, wanted, page: download == nil ? pageNumber : nil)
        if let download {
            if download == "csv" {
                return .response(Response(
                    status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(report.kind)-\(company).csv\""],
                    body: .init(byteBuffer: ByteBuffer(string: report.csv))))
            }
            return .response(Response(
                status: .ok, headers: [.contentType: "application/json", .contentDisposition: "attachment; filename=\"\(report.kind)-\(company).json\""],
                body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(report.json)))))
        }
        let language = call.language
        let view = RecordView(language: language, linksEntries: call.allows(.entriesRead))
        let columns = shownColumns[kind] ?? report.columns
        values["title"] = call.text("report.\(kind).title", company)
        values["headings"] = columns.map { call.text("col.\($0)") }
        let first = min(lineCount, (pageNumber - 1) * Self.linesPerPage)
        let shown = report.lines
        if shown.isEmpty, pageNumber > 1 { throw Problem(.notFound, "pageNotFound", call.text("report.pageBeyond"), detail: "page \(pageNumber)") }
        values["lines"] = shown.map { (line: [String: JSONValue]) -> [String: Any] in
            ["cells": columns.map { column in line[column].map { view.cell(column, $0) } ?? "" }, "excluded": line["inTotals"] == JSONValue.bool(false)]
        }
        values["empty"] = lineCount == 0
        values["lineCount"] = ConsoleFormat.integer(Int64(lineCount), language)
        if lineCount > Self.linesPerPage {
            func pageLink(_ number: Int) -> String {
                let items = (query.map { ($0.key, $0.value) } + [("page", String(number))]).sorted { $0.0 < $1.0 }
                return call.request.uri.path + "?" + items.map { "\(ConsoleGate.percentEncoded($0.0))=\(ConsoleGate.percentEncoded($0.1))" }.joined(separator: "&")
            }
            let range = shown.isEmpty ? "0" : "\(ConsoleFormat.integer(Int64(first + 1), language))–\(ConsoleFormat.integer(Int64(first + shown.count), language))"
            values["linePager"] = [
                "shown": call.text("report.linesShown", range + " / " + ConsoleFormat.integer(Int64(lineCount), language)),
                "previous": pageNumber > 1 ? pageLink(pageNumber - 1) : "", "next": first + shown.count < lineCount ? pageLink(pageNumber + 1) : "",
            ]
        }
        values["totals"] = report.totals.keys.sorted().compactMap { key -> [String: String]? in
            guard let value = report.totals[key] else { return nil }
            if case .object = value { return nil }
            if case .array = value { return ["name": call.text("total.\(key)"), "value": view.html(value)] }
            return ["name": call.text("total.\(key)"), "value": view.cell(key, value)]
        }
        values["checkpointSize"] = String(report.checkpointSize)
        values["checkpointRoot"] = report.checkpointRoot
        let downloadBase = kind == "retirements" ? "/console/carbon/retirements" : "/console/companies/\(company)/\(kind)"
        let queryString = call.request.uri.queryParameters.filter { $0.key != "lang" && $0.key != "page" }.map { "\(ConsoleGate.percentEncoded(String($0.key)))=\(ConsoleGate.percentEncoded(String($0.value)))" }
            .joined(separator: "&")
        values["csv"] = downloadBase + ".csv" + (queryString.isEmpty ? "" : "?" + queryString)
        values["json"] = downloadBase + ".json" + (queryString.isEmpty ? "" : "?" + queryString)
        if kind == "csr" {
            let charts = csrCharts(report, call)
            values["charts"] = charts
            values["hasCharts"] = !charts.isEmpty
        }
        values["isTax"] = kind == "tax"
        values["hasTabs"] = kind != "retirements"
        if kind != "retirements" {
            values["tabs"] = [
                ["href": "/console/companies/\(company)", "name": call.text("report.csr.tab"), "current": kind == "csr"],
                ["href": "/console/companies/\(company)/tax", "name": call.text("report.tax.tab"), "current": kind == "tax"],
                ["href": "/console/companies/\(company)/carbon", "name": call.text("report.carbon.tab"), "current": kind == "carbon"],
            ]
        }
        if let companyTaxNumber = report.parameters["companyTaxNumber"]?.stringValue { values["companyTaxNumber"] = companyTaxNumber }
        return .page("report", values)
    }

    /// The CSR report's charts: grams and CO2e per month, grams by category and by channel,
    /// each from the report's own totals.
    static func csrCharts(_ report: Report, _ call: ConsoleCall) -> [[String: String]] {
        let language = call.language
        func object(_ key: String) -> [String: JSONValue] { if case .object(let o)? = report.totals[key] { o } else { [:] } }
        let months = object("byMonth").sorted { $0.key < $1.key }
        func monthly(_ field: String) -> [BarChart.Bar] {
            months.map { month, value in
                let number = value.objectValue?[field]?.integerValue ?? 0
                let shown = field == "gramsRescued" ? ConsoleFormat.mass(number, language) : ConsoleFormat.co2e(number, language)
                return BarChart.Bar(label: ConsoleFormat.month(month, language), value: number, shown: shown, exact: ConsoleFormat.exact(number, unit: "g", language))
            }
        }
        func grouped(_ key: String, _ prefix: String) -> [BarChart.Bar] {
            object(key).sorted { $0.key < $1.key }.map { name, value in
                let number = value.integerValue ?? 0
                return BarChart.Bar(
                    label: call.strings["\(prefix).\(name)"] ?? name, value: number, shown: ConsoleFormat.mass(number, language),
                    exact: ConsoleFormat.exact(number, unit: "g", language))
            }
        }
        let charts = [
            BarChart(id: "grams-per-month", title: call.text("chart.gramsPerMonth"), bars: monthly("gramsRescued")),
            BarChart(id: "co2e-per-month", title: call.text("chart.co2ePerMonth"), bars: monthly("lifecycleGramsCO2e")),
            BarChart(id: "grams-by-category", title: call.text("chart.gramsByCategory"), bars: grouped("gramsByCategory", "category")),
            BarChart(id: "grams-by-channel", title: call.text("chart.gramsByChannel"), bars: grouped("gramsByChannel", "channel")),
        ]
        return charts.filter { !$0.bars.isEmpty }.map { chart in
            [
                "title": chart.title, "svg": chart.svg,
                "table": chart.table(labelHeading: call.text("chart.label"), valueHeading: call.text("chart.value"), exactHeading: call.text("chart.exact")),
            ]
        }
    }

    static func serialPage(_ call: ConsoleCall, _ service: Service) throws -> ConsoleAnswer {
        _ = try call.query(known: [])
        guard let vintage = call.context.parameters.get("vintage", as: Int.self), let serial = call.context.parameters.get("serial", as: Int64.self), serial >= 1,
            (1...9999).contains(vintage), serial <= JSONValue.integerMagnitudeMax
        else { throw Problem.badRequest(call.text("serials.malformed")) }
        let checkpoint = try Self.checkpoint(service.loop)
        let history = try Self.ledgerRead { try service.carbonIndex.history(vintage: vintage, serial: serial, ledger: service.loop.ledger, upTo: checkpoint.size) }
        guard !history.isEmpty else {
            throw Problem(.notFound, "serialNotFound", call.text("serials.notFound"), detail: "PPG-\(vintage)-\(serial)")
        }
        // Free text (a beneficiary, a reason) is masked for the reader's role, as in the reports.
        let role = call.principal?.role.rawValue ?? "public"
        let view = RecordView(language: call.language, linksEntries: call.allows(.entriesRead))
        let rows: [[String: String]] = history.map { movement in
            var masked = movement
            for key in ["beneficiary", "reason"] { if let text = movement[key]?.stringValue { masked[key] = .string(service.masker.maskFreeText(text, role: role)) } }
            return [
                "seq": view.cell("seq", masked["seq"] ?? 0), "time": view.cell("time", masked["time"] ?? 0), "kind": masked["kind"]?.stringValue ?? "",
                "details": view.html(.object(masked.filter { !["seq", "time", "kind"].contains($0.key) })),
            ]
        }
        let status: String = switch history.last?["kind"]?.stringValue {
        case "carbon.retired": call.text("serials.retired")
        case "carbon.cancelled": call.text("serials.cancelled")
        default: call.text("serials.active")
        }
        return .page("serial", [
            "title": "PPG-\(vintage)-\(serial)", "rows": rows, "status": status, "checkpointSize": String(checkpoint.size), "checkpointRoot": checkpoint.root.hex,
        ])
    }

    static func certificatePage(_ call: ConsoleCall, _ service: Service) async throws -> ConsoleAnswer {
        _ = try call.query(known: [])
        let seq = try PathParameters.count(call.context, "seq")
        let register = try await service.consoleReport(call, .retirements).report
        guard let line = register.lines.first(where: { $0["seq"]?.integerValue == Int64(clamping: seq) }) else {
            throw Problem(.notFound, "retirementNotFound", call.text("certificate.notFound"), detail: "seq \(seq)")
        }
        let view = RecordView(language: call.language, linksEntries: call.allows(.entriesRead))
        let tokens = line["tokens"]?.integerValue ?? 0
        return .page("certificate", [
            "title": call.text("certificate.title", String(seq)), "seq": String(seq), "owner": line["owner"]?.stringValue ?? "",
            "serials": "PPG-\(line["vintage"]?.integerValue ?? 0)-\(line["first"]?.integerValue ?? 0)-\(line["last"]?.integerValue ?? 0)",
            "tokens": ConsoleFormat.integer(tokens, call.language),
            "beneficiary": line["beneficiary"]?.stringValue ?? "", "reason": line["reason"]?.stringValue ?? "",
            "time": view.cell("time", line["time"] ?? 0), "checkpointSize": String(register.checkpointSize), "checkpointRoot": register.checkpointRoot,
            "linksEntries": call.allows(.entriesRead),
        ])
    }

    /// Holdings by company (public, like a registry's account view): the tokens each account
    /// holds now, by vintage, and its running totals, from the serials at the latest checkpoint.
    static func holdingsPage(_ call: ConsoleCall, _ service: Service) throws -> ConsoleAnswer {
        _ = try call.query(known: [])
        let reports = try Self.ledgerRead { try service.reportBook.reports(service.loop.ledger) }
        let carbon = reports.facts.carbon
        var held: [String: [Int: Int64]] = [:]
        for holding in carbon.holdings {
            guard case .held(let owner) = holding.status else { continue }
            let (sum, overflow) = held[owner, default: [:]][holding.range.vintage, default: 0].addingReportingOverflow(holding.range.count)
            guard !overflow else { throw Problem(.internalServerError, "internalError", call.text("error.internal"), detail: "a holding total overflows") }
            held[owner, default: [:]][holding.range.vintage] = sum
        }
        let language = call.language
        let linksCompanies = call.allows(.reportsRead)
        let owners = Set(held.keys).union(carbon.accounts.keys).sorted()
        let rows: [[String: Any]] = owners.map { owner in
            let vintages = (held[owner] ?? [:]).sorted { $0.key < $1.key }
            let account = carbon.accounts[owner]
            let total = vintages.reduce(Int64(0)) { $0.addingReportingOverflow($1.value).partialValue }
            return [
                "owner": owner, "linksCompany": linksCompanies && owner != CarbonRegistry.bufferAccount,
                "vintages": vintages.map { "\($0.key): \(ConsoleFormat.integer($0.value, language))" }.joined(separator: " · "),
                "held": ConsoleFormat.integer(total, language), "minted": ConsoleFormat.integer(account?.minted ?? 0, language),
                "received": ConsoleFormat.integer(account?.received ?? 0, language), "sent": ConsoleFormat.integer(account?.sent ?? 0, language),
                "retired": ConsoleFormat.integer(account?.retired ?? 0, language), "cancelled": ConsoleFormat.integer(account?.cancelled ?? 0, language),
            ]
        }
        return .page("holdings", [
            "title": call.text("holdings.title"), "rows": rows, "empty": rows.isEmpty,
            "checkpointSize": String(reports.checkpointSize), "checkpointRoot": reports.checkpointRoot,
        ])
    }
}
