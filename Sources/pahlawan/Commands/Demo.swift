import ArgumentParser
import Foundation
import Ledger

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append a synthetic day of rescue entries to a ledger, checkpoint it, verify it and say what happened.")

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "How many entries to append.") var entries: Int = 20_000
    @Option(help: "Seed of the synthetic day (the same seed gives the same entries).") var seed: UInt64 = 1
    @Option(help: "Entries per durable write (one fdatasync each).") var batch: Int = 256

    func validate() throws {
        guard entries > 0, entries <= 100_000_000 else { throw ValidationError("--entries must be 1…100,000,000") }
        guard batch > 0, batch <= 10_000 else { throw ValidationError("--batch must be 1…10,000") }
    }

    func run() throws {
        let directory = data.directory
        let (key, created) = try report { try directory.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin) }
        if created {
            print("created a new signing key in \(directory.signingKeyFile) (mode 0600)")
        }
        print("verifier key: \(key.verifier.text)")
        let ledger = try report { try Ledger(directory: directory, signer: key) }
        let startSize = ledger.size
        // 2026-11-24 00:00 WIB (UTC+7), or just after the last entry when the ledger already has some.
        let dayStart = max(Int64(1_795_453_200) * 1_000_000, ledger.lastEntryTime)
        var day = SyntheticDay(seed: seed, start: dayStart, entries: entries)
        let started = monotonicSeconds()
        var kinds: [String: Int] = [:]
        var remaining = entries
        try report {
            while remaining > 0 {
                let drafts = day.next(min(batch, remaining))
                for draft in drafts { kinds[draft.kind, default: 0] += 1 }
                try ledger.append(drafts)
                remaining -= drafts.count
            }
            try ledger.checkpoint()
        }
        ledger.close()
        let appendSeconds = monotonicSeconds() - started
        print("appended \(entries) entries (seq \(startSize)..<\(ledger.size)) in \(String(format: "%.2f", appendSeconds)) s, \(Int(Double(entries) / appendSeconds)) entries/s, \(batch) per fdatasync")
        for (kind, count) in kinds.sorted(by: { $0.key < $1.key }) {
            print("  \(kind.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count)")
        }
        print("checkpoint:")
        print(ledger.latestCheckpoint!.note, terminator: "")
        let verifyStarted = monotonicSeconds()
        let result = LedgerVerifier.verify(directory: directory, key: key.verifier, checkSignatures: true)
        let verifySeconds = monotonicSeconds() - verifyStarted
        if let failure = result.failure {
            print("verify FAILED: \(failure)")
            throw ExitCode(1)
        }
        print("verified \(result.entries) entries (checksums, chain, hashes, index, tiles, signatures, tree against the checkpoint) in \(String(format: "%.2f", verifySeconds)) s")
        print("next: \(CommandLine.arguments[0]) verify --data-dir \(data.path) --key '\(key.verifier.text)'")
    }
}
