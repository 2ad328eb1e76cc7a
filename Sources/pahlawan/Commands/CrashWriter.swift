#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Synchronization
import Ledger

/// The child process of the crash test harness (`Tests/LedgerTests/Storage/CrashHarnessTests.swift`):
/// appends from several writers as fast as it can and prints `seq writer number` for every
/// acknowledged entry, until it is killed. Hidden from help: it is a test instrument.
struct CrashWriter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-writer", abstract: "Append until killed, printing each acknowledged seq (crash tests).",
        shouldDisplay: false)

    @Option(name: .customLong("data-dir")) var path: String
    @Option var writers = 8
    @Option(help: "Checkpoint interval in milliseconds (short, so that kills land inside checkpoints too).")
    var checkpointMs = 20

    func run() throws {
        let directory = DataDirectory(path)
        let (key, _) = try report { try directory.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin) }
        var options = LedgerOptions()
        options.checkpointIntervalMicroseconds = Int64(checkpointMs) * 1_000
        let ledger = try report { try Ledger(directory: directory, signer: key, options: options) }
        let writers = writers
        let output = Locked(())
        try runAsync {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var number = 0
                        while true {
                            // Some requests carry several entries, so multi-entry atomicity is exercised too.
                            let count = number % 5 == 0 ? 3 : 1
                            let drafts = (number..<number + count).map { index in
                                EntryDraft(kind: "crash.test", actor: "crash-w\(writer)", payload: ["w": .integer(Int64(writer)), "i": .integer(Int64(index))])
                            }
                            let entries = try await ledger.append(drafts)
                            let lines = entries.map { "\($0.seq) \(writer) \($0.body.payload["i"]!.integerValue!)\n" }.joined()
                            output.withLock { _ in _ = lines.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress, $0.count - 1) } }
                            number += count
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
