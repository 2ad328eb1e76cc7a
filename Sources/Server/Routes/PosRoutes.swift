import Core
import Hummingbird
import Ledger
import Rescue

/// Pahlawan-Connect over HTTP (FORMAT §7.15): an operator connects a site's till; the till's
/// signed webhook posts the surplus, once per vendor event.
extension Service {
    func addPosRoutes(_ routes: RouteBuilder) {
        let loop = loop
        routes.write(.post, "/v1/pos/connections", .needs(.posManage), status: .created) { bytes, _ in
            let body = try RequestBodies.decode(bytes, as: PosConnectionBody.self)
            try Field.id(body.id, "id")
            try Field.reference(body.site, "site")
            try Field.code(body.vendor, PosBook.Vendor.self, "vendor")
            guard body.mapping.utf8.count <= 64 else { throw Problem.rejected(.pos(.posMappingIsUnknown)) }
            return .connectPos(PosBook.Connection(
                id: try Self.chosenID(body.id, "pos"), site: body.site, vendor: PosBook.Vendor(rawValue: body.vendor)!, mapping: body.mapping))
        } answer: { entries in
            guard case .string(let id)? = entries.first?.body.payload["connection"] else { return [:] }
            var answer = entries.first?.body.payload ?? [:]
            // Shown to the operator to give to the till; derived, so a retry shows the same one.
            answer["secret"] = .string(Hex.encode(loop.posSecret(connection: id)))
            answer["webhook"] = .string("/v1/pos/\(id)/events")
            return answer
        }
        routes.on(.get, "/v1/pos/connections/{connection}", .needs(.posManage)) { _, context in
            let id = try PathParameters.id(context, "connection")
            guard let connection = loop.read({ $0.pos.connections[id] }) else { throw Problem.rejected(.pos(.posConnectionNotFound)) }
            return Response.json(.ok, EntryCodec.payload(of: .posConnected(connection)))
        }
        routes.on(.post, "/v1/pos/{connection}/events", .public) { request, context in
            let bytes = try await RequestBodies.bytes(request, context)
            let id = try PathParameters.id(context, "connection")
            guard let connection = loop.read({ $0.pos.connections[id] }) else { throw Problem.rejected(.pos(.posConnectionNotFound)) }
            let now = loop.readNow { _, now in now }
            try WebhookSignature.verify(
                request.headers[.pahlawanSignature], body: bytes, secret: loop.posSecret(connection: id), now: now,
                window: loop.policies.pos.replayWindowMicroseconds)
            let parsed = try PosAdapters.parse(bytes, vendor: connection.vendor)
            guard parsed.isEndOfDay else {
                // A vendor sends all its events to one webhook; only end-of-day stock is ours.
                return Response.json(.ok, ["ignored": .bool(true), "reason": .string("not an end-of-day stock report")])
            }
            let vendorEvent = SHA256.hash(Array(parsed.eventID.utf8)).hex
            let report = PosBook.Report(
                connection: id, vendorEventSha256: vendorEvent, bodySha256: SHA256.hash(bytes).hex, lines: parsed.lines,
                offerStem: loop.posOfferStem(connection: id, vendorEvent: vendorEvent))
            @Sendable func duplicate() -> Response? {
                loop.read { $0.pos.syncedSeq(connection: id, vendorEvent: report.vendorEventSha256) }.map { seq in
                    Response.json(.ok, ["duplicate": .bool(true), "synced": .integer(Int64(seq)), "vendorEvent": .string(report.vendorEventSha256)])
                }
            }
            if let earlier = duplicate() { return earlier }
            let entries: [SignedEntry]
            do throws(CommandError) {
                entries = try await loop.execute(.syncPos(report), actor: connection.site)
            } catch {
                // Two deliveries of one event racing: the second finds the first's entry.
                if case .rejected(.pos(.posEventAlreadySynced)) = error, let earlier = duplicate() { return earlier }
                throw Problem.command(error)
            }
            var answer: [String: JSONValue] = [
                "duplicate": .bool(false), "synced": .integer(Int64(entries.first?.seq ?? 0)), "vendorEvent": .string(report.vendorEventSha256),
                "offers": .array(entries.filter { $0.body.kind == EntryKind.surplusPosted.rawValue }.compactMap { $0.body.payload["offer"] }),
            ]
            answer["entries"] = .array(entries.map { .object(["seq": .integer(Int64($0.seq)), "kind": .string($0.body.kind)]) })
            return Response.json(.created, answer)
        }
    }
}

struct PosConnectionBody: StrictBody {
    static let fields: Set<String> = ["id", "site", "vendor", "mapping"]
    var id: String?
    var site: String
    var vendor: String
    var mapping: String
}
