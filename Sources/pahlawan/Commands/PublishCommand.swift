import ArgumentParser
import Foundation
import Ledger

/// `pahlawan publish`: the log's read path as static files, so nginx, object storage or a CDN
/// serves every monitor, witness and mirror and none of them touches the writer.
struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Write the checkpoint and every C2SP tlog-tiles tile and entry bundle it covers as static files.",
        discussion: """
            Serve <out> as the web root: /checkpoint, /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>] are the \
            same bytes the service answers. Full tiles never change and are written once (later runs skip them); \
            partial tiles of the right edge are written for the published size. The checkpoint is written last, so \
            a reader never sees a checkpoint whose tiles are missing. Give full tiles \
            `Cache-Control: public, max-age=604800, immutable` and the checkpoint `no-cache` (ledger/FORMAT.md §10.3).
            """)

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "The web root to write into.") var out: String
    @Flag(help: "Publish the latest checkpoint even when no quorum of witnesses has cosigned it (default: the newest cosigned one, when witnesses are configured).")
    var unwitnessed = false

    func run() throws {
        // Read-only: publishing runs beside the service, which holds the writer's lock.
        let ledger = try data.openReadOnly()
        defer { ledger.close() }
        let cosignedFile = data.directory.cosignedCheckpointFile
        let note: String
        if !unwitnessed, FileManager.default.fileExists(atPath: cosignedFile) {
            note = String(decoding: try report { try FileIO.readAll(cosignedFile) }, as: UTF8.self)
        } else if let latest = ledger.latestCheckpoint {
            note = latest.note
        } else {
            printError("pahlawan: error: \(data.path): the ledger has no checkpoint yet")
            throw ExitCode(1)
        }
        let checkpoint = try report { try Checkpoint(text: SignedNote(parsing: note).text) }
        let (written, skipped) = try report { try Self.publish(ledger, checkpoint: checkpoint, note: note, into: out) }
        print("published size \(checkpoint.size) to \(out): \(written) files written, \(skipped) full tiles already there")
    }

    /// Writes the tiles and bundles of `checkpoint`, then `note` as the checkpoint; returns the
    /// files written and the full tiles that were already there. The bytes are the ones the
    /// service answers (`Ledger.tileBytes`).
    private static func publish(_ ledger: Ledger, checkpoint: Checkpoint, note: String, into out: String) throws(LedgerError) -> (Int, Int) {
        var written = 0
        var skipped = 0
        // The entry bundles cover every entry; hash level L holds count(L) hashes, and
        // count(L+1) = count(L) / 256 (one hash per full tile below).
        var levels: [(level: Int?, count: UInt64)] = [(nil, checkpoint.size)]
        var count = checkpoint.size
        var level = 0
        while count > 0 {
            levels.append((level, count))
            count /= UInt64(TilePath.width)
            level += 1
        }
        for (level, count) in levels {
            let full = count / UInt64(TilePath.width)
            let partial = Int(count % UInt64(TilePath.width))
            for index in 0..<full + (partial > 0 ? 1 : 0) {
                let tile = TilePath.Parsed(level: level, index: index, width: index < full ? TilePath.width : partial)
                let path = out + "/" + tile.path
                if tile.width == TilePath.width, FileIO.exists(path) {
                    skipped += 1
                    continue
                }
                var bytes = try ledger.tileBytes(tile)
                if bytes == nil, level != nil, let completed = try ledger.tileBytes(TilePath.Parsed(level: level, index: index, width: TilePath.width)) {
                    // A checkpoint behind the log's edge: its partial hash tile is a prefix of
                    // the tile the log has since completed (tiles only ever grow).
                    bytes = Array(completed.prefix(tile.width * Hash.byteCount))
                }
                guard let bytes else { throw LedgerError(.notFound, "the ledger has no \(tile.path)") }
                try Self.write(path, bytes)
                written += 1
            }
        }
        // The keys document too, so a monitor reading these files can follow key rotations (their
        // signatures are not in the tiles); before the checkpoint, which is written last.
        try FileIO.makeDirectories(out + "/v1")
        // Proved in the latest checkpoint (not the published, witnessed one), as GET /v1/keys is,
        // so that a rotation shows at once.
        var keysNote = note
        if let (latest, latestCheckpoint) = ledger.latestCheckpoint, latestCheckpoint.size > checkpoint.size {
            keysNote = try CheckpointCommand.withCosignatures(latest, size: latestCheckpoint.size, historyFile: ledger.directory.cosignedHistoryFile)
        }
        try Self.write(out + "/v1/keys", Array(try KeysDocument.make(ledger, note: keysNote)))
        try Self.write(out + "/checkpoint", Array(note.utf8))
        return (written, skipped)
    }

    private static func write(_ path: String, _ bytes: [UInt8]) throws(LedgerError) {
        try FileIO.makeDirectories(FileIO.parent(of: path))
        try FileIO.writeAtomically(path, bytes)
    }
}
