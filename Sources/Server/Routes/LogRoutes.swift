import Foundation
import Hummingbird
import Ledger
import Witness

/// The log's own reads, public like any transparency log's (ledger/FORMAT.md §10.3): the latest
/// checkpoint with the cosignatures held for it, the newest witnessed checkpoint, any checkpoint
/// ever signed by size, the C2SP tiles with cache headers a CDN can honour, the witnesses'
/// status, and offline proofs of entries (C2SP tlog-proof) for auditor roles.
extension Service {
    /// Full tiles and entry bundles never change.
    static let immutableCache = "public, max-age=604800, immutable"
    /// Partial tiles grow into full ones; a short cache spares the service repeated reads.
    static let partialTileCache = "public, max-age=10"

    func addLogRoutes(_ routes: RouteBuilder) {
        let ledger = loop.ledger
        let witnesses = witnesses
        routes.on(.get, "/checkpoint", .public) { _, _ in
            guard let (note, checkpoint) = ledger.latestCheckpoint else { throw Problem(.notFound, "noCheckpoint", "No checkpoint yet", detail: "") }
            let body = witnesses?.book.cosigned(note, checkpoint: checkpoint) ?? note
            return Self.text(body, cache: "no-cache")
        }
        routes.on(.get, "/checkpoint/cosigned", .public) { _, _ in
            let (note, _) = try Self.witnessedCheckpoint(ledger, witnesses)
            return Self.text(note, cache: "no-cache")
        }
        routes.on(.get, "/v1/checkpoints/{size}", .public) { request, context in
            try Self.refuseUnknownParameters(request.uri.queryParameters, known: [])
            let size = try PathParameters.count(context, "size")
            guard let note = try Self.ledgerRead({ try ledger.checkpointNote(size: size) }) else {
                throw Problem(.notFound, "checkpointNotFound", "No checkpoint was signed at this tree size", detail: "size \(size)")
            }
            let checkpoint = try Self.ledgerRead { try Checkpoint(text: SignedNote(parsing: note).text) }
            // A kept checkpoint never changes; the cosignatures held for it may still grow.
            return Self.text(witnesses?.book.cosigned(note, checkpoint: checkpoint) ?? note, cache: "public, max-age=60")
        }
        routes.on(.get, "/v1/keys", .public) { request, _ in
            try Self.refuseUnknownParameters(request.uri.queryParameters, known: [])
            // Proved in the latest checkpoint, with the cosignatures held for it: a rotation (a
            // compromise above all) must show at once, not once the witnesses have caught up.
            guard let (latest, checkpoint) = ledger.latestCheckpoint else {
                throw Problem(.notFound, "noCheckpoint", "No checkpoint yet", detail: "")
            }
            let note = witnesses?.book.cosigned(latest, checkpoint: checkpoint) ?? latest
            let document = try Self.ledgerRead { try KeysDocument.make(ledger, note: note) }
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        routes.on(.get, "/v1/witnesses", .public) { request, _ in
            try Self.refuseUnknownParameters(request.uri.queryParameters, known: [])
            let statuses = witnesses?.status ?? []
            var answer: [String: JSONValue] = [
                "quorum": .integer(Int64(witnesses?.quorum.quorum ?? 0)),
                "witnesses": .array(statuses.map { status in
                    var item: [String: JSONValue] = [
                        "name": .string(status.name), "key": .string(status.key), "url": .string(status.url),
                        "lagEntries": .integer(Int64(clamping: status.lagEntries)), "lagMilliseconds": .integer(Int64(status.lagSeconds * 1000)),
                        "cosignatures": .integer(Int64(clamping: status.cosignatures)), "failures": .integer(Int64(clamping: status.failures)),
                        "refusesOurTree": .bool(status.refusesOurTree),
                    ]
                    if let size = status.cosignedSize { item["cosignedSize"] = .integer(Int64(clamping: size)) }
                    if let error = status.lastError { item["lastError"] = .string(error) }
                    if let at = status.lastErrorAt { item["lastErrorAt"] = .integer(at) }
                    return .object(item)
                }),
            ]
            if let witnessed = witnesses?.book.witnessed { answer["witnessedSize"] = .integer(Int64(clamping: witnessed.size)) }
            return Response.json(.ok, answer)
        }
        routes.on(.get, "/v1/entries/{seq}/proof", .needs(.entriesRead)) { request, context in
            try Self.refuseUnknownParameters(request.uri.queryParameters, known: ["witnessed"])
            let seq = try PathParameters.count(context, "seq")
            let witnessedOnly: Bool
            switch request.uri.queryParameters.get("witnessed") {
            case nil, "true": witnessedOnly = true
            case "false": witnessedOnly = false
            case let other?: throw Problem.badRequest("witnessed is true or false, not \(other)")
            }
            return try Self.offlineProof(ledger, witnesses, seq: seq, witnessedOnly: witnessedOnly)
        }
        // C2SP tlog-tiles static reads: hash tiles and entry bundles (each entry: its length as a
        // big-endian uint16, then its exact body).
        routes.on(.get, "/tile/**", .public) { request, _ in
            let rest = String(request.uri.path.dropFirst("/tile/".count))
            guard let tile = TilePath.parse(rest) else { throw Problem.badRequest("not a C2SP tile path: \(rest)") }
            guard let bytes = try Self.ledgerRead({ try ledger.tileBytes(tile) }) else {
                throw Problem(.notFound, "tileNotFound", tile.level == nil ? "No such entry bundle" : "No such tile", detail: rest)
            }
            let cache = tile.width == TilePath.width ? Self.immutableCache : Self.partialTileCache
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream", .cacheControl: cache], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// The offline proof (C2SP tlog-proof) of entry `seq`, to the newest witnessed checkpoint or
    /// (`witnessedOnly` false) the latest, as a download.
    static func offlineProof(_ ledger: Ledger, _ witnesses: WitnessClient?, seq: UInt64, witnessedOnly: Bool) throws -> Response {
        let note: String
        if witnessedOnly {
            note = try Self.witnessedCheckpoint(ledger, witnesses).note
        } else {
            guard let (latest, checkpoint) = ledger.latestCheckpoint else { throw Problem(.notFound, "noCheckpoint", "No checkpoint yet", detail: "") }
            note = witnesses?.book.cosigned(latest, checkpoint: checkpoint) ?? latest
        }
        let size = try Self.ledgerRead { try Checkpoint(text: SignedNote(parsing: note).text).size }
        guard seq < size else {
            if witnessedOnly, seq < ledger.size {
                throw Problem(
                    .conflict, "notYetWitnessed", "The entry is not yet in a witnessed checkpoint",
                    detail: "seq \(seq); the newest witnessed checkpoint covers \(size) entries. Retry in a few seconds, or ask ?witnessed=false", retryAfterSeconds: 2)
            }
            throw Problem(.notFound, "entryNotFound", "No such entry in the checkpoint", detail: "seq \(seq); the checkpoint covers \(size)")
        }
        let proof: TlogProof
        do throws(LedgerError) {
            proof = try TlogProof.make(ledger, seq: seq, checkpointNote: note)
        } catch where error.code == .untrustedKey {
            // A proof nobody would accept: the key that signed this checkpoint was reported
            // compromised (FORMAT §10.7). The witnesses cosign a newer one within seconds.
            throw Problem(
                .conflict, "checkpointUntrusted", "The checkpoint is signed by a key reported compromised",
                detail: "\(error.reason). Retry in a few seconds, or ask ?witnessed=false", retryAfterSeconds: 2)
        } catch {
            throw Problem.ledger(error)
        }
        var response = Self.text(proof.serialized, cache: "no-store")
        response.headers[.contentDisposition] = "attachment; filename=\"pahlawan-\(seq).tlog-proof\""
        return response
    }

    /// The newest checkpoint with a quorum of cosignatures; with no witnesses configured, the
    /// latest checkpoint (our signature is then all there is).
    static func witnessedCheckpoint(_ ledger: Ledger, _ witnesses: WitnessClient?) throws -> (note: String, size: UInt64) {
        guard let witnesses, !witnesses.endpoints.isEmpty else {
            guard let (note, checkpoint) = ledger.latestCheckpoint else { throw Problem(.notFound, "noCheckpoint", "No checkpoint yet", detail: "") }
            return (note, checkpoint.size)
        }
        guard let witnessed = witnesses.book.witnessed else {
            throw Problem(
                .notFound, "noWitnessedCheckpoint", "No checkpoint carries a quorum of cosignatures yet",
                detail: "\(witnesses.quorum.quorum) of \(witnesses.endpoints.count) witnesses must cosign; see GET /v1/witnesses")
        }
        return witnessed
    }

    static func text(_ body: String, cache: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: cache], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
