import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import Rescue
import Witness

/// Entries per WIB day and kind, folded incrementally like the report facts (the health page's
/// chart and table read it without rescanning the ledger).
final class LedgerActivity: Sendable {
    private let fold = LedgerFold([String: [String: Int64]]()) { days, _, body in
        guard let view = try? JSONObjectView(bytes: body), let time = view.integer("time"), let kind = view.string("kind") else { return }
        let civil = Reports.civilTime(microseconds: time)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = "\(civil.year)-\(two(civil.month))-\(two(civil.day))"
        days[day, default: [:]][kind, default: 0] += 1
    }

    /// The last `count` days that have entries, oldest first, each with its counts by kind.
    func days(_ ledger: Ledger, upTo size: UInt64, last count: Int) throws(LedgerError) -> [(day: String, kinds: [String: Int64])] {
        try fold.read(ledger, upTo: size) { days in days.keys.sorted().suffix(count).map { ($0, days[$0]!) } }
    }
}

extension Service {
    func addConsoleLedgerPages(_ pages: ConsoleBuilder) {
        let service = self
        pages.on(.get, "/console", .public) { call in try Self.healthPage(call, service) }
        pages.on(.get, "/console/checkpoint.json", .public) { call in
            _ = try call.query(known: [])
            return .response(try Self.checkpointEvidence(service))
        }
        pages.on(.get, "/console/entries", .needs(.entriesRead)) { call in try Self.explorerPage(call, service) }
        pages.on(.get, "/console/entries/{seq}", .needs(.entriesRead)) { call in try Self.entryPage(call, service) }
        pages.on(.get, "/console/entries/{seq}/evidence.json", .needs(.entriesRead)) { call in
            _ = try call.query(known: [])
            return .response(try Self.entryEvidence(service, try PathParameters.count(call.context, "seq")))
        }
        pages.on(.get, "/console/entries/{seq}/proof", .needs(.entriesRead)) { call in
            _ = try call.query(known: [])
            return .response(try Self.offlineProof(service.loop.ledger, service.witnesses, seq: try PathParameters.count(call.context, "seq"), witnessedOnly: false))
        }
    }

    // MARK: Ledger health

    static func healthPage(_ call: ConsoleCall, _ service: Service) throws -> ConsoleAnswer {
        _ = try call.query(known: [])
        let ledger = service.loop.ledger
        let language = call.language
        var values: [String: Any] = ["title": call.text("health.title"), "size": ConsoleFormat.integer(Int64(clamping: ledger.size), language)]
        let now = Int64(Date().timeIntervalSince1970)
        if let (note, checkpoint) = ledger.latestCheckpoint {
            let cosigned = service.witnesses?.book.cosigned(note, checkpoint: checkpoint) ?? note
            let signed = try? SignedNote(parsing: cosigned)
            let witnessKeys = Dictionary((service.witnesses?.endpoints ?? []).map { ($0.key.id, $0.key) }, uniquingKeysWith: { first, _ in first })
            var signatures: [[String: Any]] = []
            for signature in signed?.signatures ?? [] {
                var row: [String: Any] = ["name": signature.name, "keyID": signature.keyID.hex]
                if let key = witnessKeys[signature.keyID], signature.name == key.name, signature.signature.count == Cosignature.signatureByteCount {
                    let time = signature.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    row["role"] = call.text("health.cosignature")
                    row["age"] = Self.age(seconds: now - Int64(clamping: time), call)
                } else {
                    row["role"] = call.text("health.logSignature")
                    let published = ledger.latestCheckpointPublishedAt
                    row["age"] = published > 0 ? Self.age(seconds: now - published / 1_000_000, call) : ""
                }
                signatures.append(row)
            }
            values["checkpoint"] = [
                "size": ConsoleFormat.integer(Int64(clamping: checkpoint.size), language), "sizeExact": String(checkpoint.size), "root": checkpoint.root.hex,
                "note": cosigned, "signatures": signatures,
            ]
            // Checkpoints over time: the last 24 kept, each dated by its newest entry.
            let kept = try Self.ledgerRead { try Self.recentCheckpoints(ledger, count: 24) }
            if !kept.isEmpty {
                let bars = try kept.map { size in
                    let time = try Self.ledgerRead { try ledger.entry(size - 1).body.time }
                    return BarChart.Bar(
                        label: ConsoleFormat.time(time, language), value: Int64(clamping: size), shown: ConsoleFormat.integer(Int64(clamping: size), language),
                        exact: String(size))
                }
                let chart = BarChart(id: "checkpoints", title: call.text("health.checkpointsChart"), bars: bars)
                values["checkpointsChart"] = chart.svg
                values["checkpointsTable"] = chart.table(labelHeading: call.text("chart.when"), valueHeading: call.text("health.treeSize"), exactHeading: call.text("chart.exact"))
            }
            let days = try Self.ledgerRead { try service.activity.days(ledger, upTo: checkpoint.size, last: 7) }
            let kinds = Set(days.flatMap { $0.kinds.keys }).sorted()
            values["activity"] = [
                "days": days.map { $0.day },
                "rows": kinds.map { kind in ["kind": kind, "counts": days.map { ConsoleFormat.integer($0.kinds[kind] ?? 0, language) }] as [String: Any] },
                "totals": days.map { day in ConsoleFormat.integer(day.kinds.values.reduce(0, +), language) },
            ] as [String: Any]
            let perDay = BarChart(
                id: "per-day", title: call.text("health.perDayChart"),
                bars: days.map { day in
                    let total = day.kinds.values.reduce(0, +)
                    return BarChart.Bar(label: day.day, value: total, shown: ConsoleFormat.integer(total, language), exact: String(total))
                })
            values["perDayChart"] = perDay.svg
        }
        let statuses = service.witnesses?.status ?? []
        values["witnesses"] = statuses.map { status in
            [
                "name": status.name, "key": status.key, "cosignedSize": status.cosignedSize.map { ConsoleFormat.integer(Int64(clamping: $0), language) } ?? "—",
                "lagEntries": ConsoleFormat.integer(Int64(clamping: status.lagEntries), language), "lagSeconds": String(Int(status.lagSeconds)),
                "failures": ConsoleFormat.integer(Int64(clamping: status.failures), language), "lastError": status.lastError ?? "",
                "refuses": status.refusesOurTree,
            ] as [String: Any]
        }
        values["hasWitnesses"] = !statuses.isEmpty
        values["quorum"] = service.witnesses?.quorum.quorum ?? 0
        values["logKey"] = ledger.keys.current.description
        return .page("health", values)
    }

    /// The sizes of the last `count` checkpoints kept, oldest first.
    static func recentCheckpoints(_ ledger: Ledger, count: Int) throws(LedgerError) -> [UInt64] {
        // The history has one slot per checkpoint; find its length by doubling, then bisecting.
        var high: UInt64 = 1
        while try !ledger.checkpointNotes(fromSlot: high, limit: 1).isEmpty { high *= 2 }
        var low: UInt64 = high / 2
        while low < high {
            let middle = low + (high - low) / 2
            if try ledger.checkpointNotes(fromSlot: middle, limit: 1).isEmpty { high = middle } else { low = middle + 1 }
        }
        let from = low > UInt64(count) ? low - UInt64(count) : 0
        return try ledger.checkpointNotes(fromSlot: from, limit: count).map(\.size).filter { $0 > 0 }
    }

    static func age(seconds: Int64, _ call: ConsoleCall) -> String {
        let seconds = max(0, seconds)
        if seconds < 120 { return call.text("age.seconds", String(seconds)) }
        if seconds < 7_200 { return call.text("age.minutes", String(seconds / 60)) }
        if seconds < 172_800 { return call.text("age.hours", String(seconds / 3_600)) }
        return call.text("age.days", String(seconds / 86_400))
    }

    /// The latest checkpoint with its cosignatures and the keys to check them against, for
    /// verify.js's "verify this checkpoint".
    static func checkpointEvidence(_ service: Service) throws -> Response {
        let ledger = service.loop.ledger
        guard let (note, checkpoint) = ledger.latestCheckpoint else { throw Problem(.notFound, "noCheckpoint", "No checkpoint yet", detail: "") }
        let cosigned = service.witnesses?.book.cosigned(note, checkpoint: checkpoint) ?? note
        var answer = service.trustValues(size: checkpoint.size)
        answer["note"] = .string(cosigned)
        return Response.json(.ok, answer)
    }

    /// The keys a browser checks a checkpoint of `size` entries against: the log's key for that
    /// size and the witness policy's keys and quorum.
    func trustValues(size: UInt64) -> [String: JSONValue] {
        let keys = loop.ledger.keys
        let checkpointKey = (try? keys.checkpointKey(size: size, witnessed: (witnesses?.quorum.quorum ?? 0) > 0)) ?? keys.current
        return [
            "checkpointKey": .string(checkpointKey.description),
            "witnesses": .array((witnesses?.endpoints ?? []).map { .object(["name": .string($0.key.name), "key": .string($0.key.description)]) }),
            "quorum": .integer(Int64(witnesses?.quorum.quorum ?? 0)),
        ]
    }

    // MARK: Entry explorer

    static func explorerPage(_ call: ConsoleCall, _ service: Service) throws -> ConsoleAnswer {
        let query = try call.query(known: ["seq", "kind", "actor", "company", "mentions", "from", "until", "cursor"])
        if let seq = query["seq"] {
            guard let number = UInt64(seq) else { throw Problem.badRequest(call.text("explorer.seqIsNotANumber")) }
            return .response(Response(status: .seeOther, headers: [.location: "/console/entries/\(number)"]))
        }
        for name in ["kind", "actor", "company", "mentions"] {
            if let value = query[name], value.utf8.count > 128 || !value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 }) {
                throw Problem.badRequest("\(name) must be at most 128 printable ASCII characters")
            }
        }
        let filter = EntryFilter(
            kind: query["kind"], actor: query["actor"], company: query["company"], mentions: query["mentions"],
            since: try query["from"].map { try Self.wibDate($0, "from", endOfDay: false) }, until: try query["until"].map { try Self.wibDate($0, "until", endOfDay: true) })
        guard let cursor = UInt64(query["cursor"] ?? "0") else { throw Problem.badRequest("cursor must be a seq") }
        let listing = try entryListing(service.loop, filter, cursor: cursor, limit: 50)
        let language = call.language
        let rows: [[String: Any]] = listing.entries.map { entry in
            [
                "seq": String(entry.seq), "time": ConsoleFormat.time(entry.view.integer("time") ?? 0, language), "timeExact": String(entry.view.integer("time") ?? 0),
                "kind": entry.view.string("kind") ?? "", "actor": entry.view.string("actor") ?? "",
            ]
        }
        var values: [String: Any] = ["title": call.text("explorer.title"), "rows": rows, "empty": rows.isEmpty, "form": query]
        if let next = listing.nextCursor {
            var items = query.filter { $0.key != "cursor" }.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
            items.append(("cursor", String(next)))
            values["next"] = "/console/entries?" + items.map { "\(ConsoleGate.percentEncoded($0.0))=\(ConsoleGate.percentEncoded($0.1))" }.joined(separator: "&")
            values["nextFrom"] = String(next)
        }
        values["scanned"] = ConsoleFormat.integer(Int64(clamping: listing.checkpoint.size), language)
        return .page("entries", values)
    }

    /// `YYYY-MM-DD` as the first (or, `endOfDay`, the last) µs of that WIB day.
    static func wibDate(_ text: String, _ name: String, endOfDay: Bool) throws -> Int64 {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2, let year = Int(parts[0]), let month = Int(parts[1]),
            let day = Int(parts[2]), let start = Reports.microseconds(wibYear: year, month: month, day: day)
        else { throw Problem.badRequest("\(name) must be a date YYYY-MM-DD (WIB), not \(text.prefix(40))") }
        return endOfDay ? start + Reports.dayMicroseconds - 1 : start
    }

    // MARK: One entry

    static func entryPage(_ call: ConsoleCall, _ service: Service) throws -> ConsoleAnswer {
        _ = try call.query(known: [])
        let seq = try PathParameters.count(call.context, "seq")
        let answer = try entryAnswer(service.loop, seq)
        let body = Array((answer["body"]?.stringValue ?? "").utf8)
        let decoded = try? CanonicalJSON.parse(body)
        let view = RecordView(language: call.language, linksEntries: true)
        var fields: [[String: String]] = []
        var payload = ""
        if case .object(let object)? = decoded {
            for key in ["seq", "time", "kind", "actor", "policy", "key", "prev", "v"] {
                if let value = object[key] { fields.append(["name": key, "value": view.cell(key, value)]) }
            }
            payload = view.html(object["payload"] ?? .object([:]))
        }
        let kind = answer["kind"]?.stringValue ?? ""
        var values: [String: Any] = [
            "title": call.text("entry.title", String(seq)), "seq": String(seq), "kind": kind, "fields": fields, "payload": payload,
            "body": String(decoding: body, as: UTF8.self), "leafHash": answer["leafHash"]?.stringValue ?? "",
            "signature": answer["signature"]?.stringValue ?? "",
        ]
        if seq > 0 { values["previous"] = String(seq - 1) }
        if seq + 1 < service.loop.ledger.latestCheckpoint?.checkpoint.size ?? 0 { values["nextSeq"] = String(seq + 1) }
        if let actor = answer["actor"]?.stringValue, ParticipantRegistry.isPseudonymous(actor) { values["actor"] = actor }
        return .page("entry", values)
    }

    /// What verify.js needs to check one entry: its exact body (base64), signature, leaf hash
    /// and inclusion proof to the newest checkpoint that a witness quorum cosigned (else the
    /// latest, with whatever cosignatures it has), and the keys to check them against.
    static func entryEvidence(_ service: Service, _ seq: UInt64) throws -> Response {
        let ledger = service.loop.ledger
        var answer: [String: JSONValue]
        if let witnessed = service.witnesses?.book.witnessed, seq < witnessed.size {
            let note = witnessed.note
            let checkpoint = try Self.ledgerRead { try Checkpoint(text: SignedNote(parsing: note).text) }
            answer = try Self.ledgerRead {
                let entry = try ledger.storedEntry(seq)
                return [
                    "seq": .integer(Int64(seq)), "leafHash": .string(entry.leafHash.hex), "body": .string(String(decoding: entry.body, as: UTF8.self)),
                    "signature": .string(Base64.encode(entry.signature)),
                    "checkpoint": ["size": .integer(Int64(checkpoint.size)), "root": .string(checkpoint.root.hex), "note": .string(note)],
                    "inclusionProof": .array(try ledger.inclusionProof(seq: seq, size: checkpoint.size).map { .string($0.hex) }),
                ]
            }
        } else {
            answer = try entryAnswer(service.loop, seq) { note, checkpoint in service.witnesses?.book.cosigned(note, checkpoint: checkpoint) ?? note }
        }
        let size = UInt64(answer["checkpoint"]?.objectValue?["size"]?.integerValue ?? 0)
        for (key, value) in service.trustValues(size: size) { answer[key] = value }
        answer["entryKey"] = .string(ledger.keys.key(forSeq: seq).description)
        // The exact bytes, so the browser hashes what was signed (not a re-encoding of it).
        answer["bodyBase64"] = .string(Base64.encode(Array((answer["body"]?.stringValue ?? "").utf8)))
        answer["body"] = nil
        var response = Response.json(.ok, answer)
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
