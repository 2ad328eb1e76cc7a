import ArgumentParser
import Foundation
import Ledger

struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild the seq→offset index files and the hash tiles from the segments, then verify against the checkpoint.")

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let directory = data.directory
        let key = try report { try directory.loadVerifierKey() }
        let result = try report { try Reindex.run(directory: directory, key: key) }
        print("rebuilt the index of \(result.segments) segments and the tiles of \(result.entries) entries")
        if let failure = result.verification.failure {
            print("FAIL after rebuilding: \(failure)")
            throw ExitCode(1)
        }
        print("OK verified against checkpoint size \(result.verification.checkpoint?.size ?? 0)")
    }
}
