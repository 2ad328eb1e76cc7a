import ArgumentParser
import Foundation
import Ledger

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a verifiable bundle (pahlawan-bundle/v1) of entries FROM ..< TO.")

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "First seq to include.") var from: UInt64
    @Option(help: "Seq to stop before (exclusive), so --from 0 --to 100 exports 100 entries.") var to: UInt64
    @Option(help: "File to write the bundle to.") var out: String

    func run() throws {
        let ledger = try data.openForWriting()
        let bundle: Data = try report {
            guard to <= ledger.size else {
                throw LedgerError(.badRange, "--to \(to) is beyond the log's \(ledger.size) entries")
            }
            if (ledger.latestCheckpoint?.checkpoint.size ?? 0) < to { try ledger.checkpoint() }
            return try Bundle.export(from: ledger, from: from, to: to)
        }
        guard FileManager.default.createFile(atPath: out, contents: bundle) else {
            printError("pahlawan: error: \(out): cannot write the bundle")
            throw ExitCode(1)
        }
        printError("exported seqs \(from)..<\(to) (\(to - from) entries) against checkpoint size \(ledger.latestCheckpoint!.checkpoint.size) to \(out)")
    }
}
