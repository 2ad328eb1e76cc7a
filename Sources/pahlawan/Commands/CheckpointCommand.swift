import ArgumentParser
import Foundation
import Ledger
import Witness

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Print the latest signed checkpoint (C2SP tlog-checkpoint in signed-note form), or one kept from the past.")

    @OptionGroup var data: DataDirectoryOptions

    @Flag(help: "Sign a new checkpoint of the whole log first, if entries arrived since the last one.")
    var sign = false

    @Option(help: "Print the checkpoint signed at exactly this tree size (every one signed is kept).")
    var size: UInt64?

    @Flag(help: "Print the newest checkpoint that carries a quorum of witness cosignatures.")
    var cosigned = false

    func validate() throws {
        if sign && (size != nil || cosigned) { throw ValidationError("--sign prints the latest checkpoint; do not combine it with --size or --cosigned") }
        if size != nil && cosigned { throw ValidationError("--size and --cosigned each choose the checkpoint; give one") }
    }

    func run() throws {
        if cosigned {
            guard FileManager.default.fileExists(atPath: data.directory.cosignedCheckpointFile) else {
                printError("pahlawan: error: \(data.directory.cosignedCheckpointFile): no checkpoint has a quorum of cosignatures yet (policies/witnesses.yaml; GET /v1/witnesses)")
                throw ExitCode(1)
            }
            print(String(decoding: try report { try FileIO.readAll(data.directory.cosignedCheckpointFile) }, as: UTF8.self), terminator: "")
            return
        }
        if let size {
            // Read-only: it runs beside the service, which holds the writer's lock.
            let ledger = try data.openReadOnly()
            guard let note = try report({ try ledger.checkpointNote(size: size) }) else {
                printError("pahlawan: error: \(data.directory.checkpointHistoryFile): no checkpoint was signed at tree size \(size)")
                throw ExitCode(1)
            }
            // With the cosignatures the service collected for it, when it kept them.
            print(try report { try Self.withCosignatures(note, size: size, historyFile: data.directory.cosignedHistoryFile) }, terminator: "")
            return
        }
        let ledger = try data.openForWriting()
        defer { ledger.close() }
        if sign || ledger.latestCheckpoint == nil {
            try report { try ledger.checkpoint() }
        }
        print(ledger.latestCheckpoint!.note, terminator: "")
    }

    /// `note` with the cosignature lines the cosigned history holds for the same checkpoint.
    static func withCosignatures(_ note: String, size: UInt64, historyFile: String) throws(LedgerError) -> String {
        guard FileManager.default.fileExists(atPath: historyFile) else { return note }
        let history = try CheckpointHistory(path: historyFile, writable: false, slotByteCount: CheckpointHistory.cosignedSlotByteCount)
        defer { history.close() }
        return try CosignatureBook.addingKept(to: SignedNote(parsing: note), size: size, from: history).serialized
    }
}
