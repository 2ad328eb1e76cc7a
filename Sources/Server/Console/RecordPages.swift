import Compliance
import Hummingbird
import Ledger
import NIOCore

/// Auctions, groups, devices and couriers: each page shows what its API route answers the same
/// caller (the same function, the same permission, the same object-level rule), written out.
extension Service {
    func addConsoleRecordPages(_ pages: ConsoleBuilder) {
        let service = self
        let loop = loop
        let records: [(path: String, parameter: String, permission: Permission, read: @Sendable (ConsoleCall, String) throws -> [String: JSONValue])] = [
            ("auctions", "auction", .auctionsRead, { _, id in try Self.auctionRecord(loop, id) }),
            ("groups", "group", .groupsRead, { _, id in try Self.groupRecord(loop, id) }),
            ("devices", "device", .devicesRead, { _, id in try Self.deviceRecord(loop, id) }),
            ("couriers", "courier", .couriersRead, { call, id in
                // The gate let only a signed-in caller this far; its principal is the cookie's.
                guard let principal = call.principal else { throw Problem(.unauthorized, "signInRequired", call.text("error.signInRequired"), detail: "") }
                return try Self.courierRecord(loop, service.settings.access, principal, id)
            }),
        ]
        for record in records {
            pages.on(.get, "/console/\(record.path)/{\(record.parameter)}", .needs(record.permission)) { call in
                _ = try call.query(known: [])
                let id = try PathParameters.id(call.context, record.parameter)
                let answer = try record.read(call, id)
                let view = RecordView(language: call.language, linksEntries: call.allows(.entriesRead))
                return .page("record", [
                    "title": call.text("record.\(record.parameter).title", id), "record": view.html(.object(answer)), "id": id,
                    "linksEntries": call.allows(.entriesRead),
                ])
            }
        }
    }

    /// The stylesheet and verify.js, from the binary; cacheable for an hour.
    func addConsoleAssets(_ pages: ConsoleBuilder) {
        pages.on(.get, "/console/assets/{file}", .public) { call in
            guard let name = call.context.parameters.get("file"), let asset = ConsolePages.shared.assets[name] else {
                throw Problem(.notFound, "assetNotFound", call.text("error.notFound"), detail: call.context.parameters.get("file") ?? "")
            }
            return .response(Response(
                status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "public, max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes))))
        }
        // Any other console path is a console 404 page (with the console's headers), not the API's.
        pages.on(.get, "/console/**", .public) { call in
            throw Problem(.notFound, "pageNotFound", call.text("error.notFound"), detail: String(call.request.uri.path.prefix(200)))
        }
    }
}
