import ArgumentParser
import Ledger

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Print the latest signed checkpoint (C2SP tlog-checkpoint in signed-note form).")

    @OptionGroup var data: DataDirectoryOptions

    @Flag(help: "Sign a new checkpoint of the whole log first, if entries arrived since the last one.")
    var sign = false

    func run() throws {
        let ledger = try data.openForWriting()
        if sign || ledger.latestCheckpoint == nil {
            try report { try ledger.checkpoint() }
        }
        print(ledger.latestCheckpoint!.note, terminator: "")
    }
}
