import ArgumentParser
import Foundation
import Ledger
import Witness

/// `pahlawan monitor`: follows a log from outside through its public reads (`/checkpoint` and
/// the C2SP tiles) and stops with the evidence at the first thing that does not verify.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Follow a log through /checkpoint and its tiles: signatures, witness quorum, rollbacks, forks, every entry body and the chain, every hash tile, the root.",
        discussion: """
            State (the last verified checkpoint and the tree's right edge, a few KB) is kept in --state; \
            a second run continues from it. Exit status: 0 all verified (--once: caught up); 1 evidence \
            against the log (rollback, fork, bad checkpoint, quorum not met, bad or changed entry, changed \
            or missing tile, root mismatch), printed and written to <state>/evidence-<time>.txt; 2 the log \
            could not be read (--once) or the state directory is unusable. Without --once, read failures \
            are retried (the interval doubles up to a minute) and the monitor runs until stopped.
            """)

    @Option(help: "The log's base URL, e.g. https://trust.pahlawan-pangan.id.") var url: String
    @Option(help: "The log's verifier key (text or a file holding it), obtained from somewhere other than the log.") var key: String
    @Option(name: .customLong("witness"), help: "A trusted witness's verifier key (type 0x04; text or file); repeat for each.")
    var witnesses: [String] = []
    @Option(help: "Cosignatures of distinct trusted witnesses a checkpoint needs (default: every --witness).") var quorum: Int?
    @Option(help: "The monitor's state directory (created; one monitor at a time).") var state: String
    @Option(name: .customLong("interval-ms"), help: "Milliseconds between polls.") var intervalMilliseconds = 1_000
    @Flag(help: "Catch up with the log's current checkpoint, print what was verified, and exit.") var once = false

    func run() async throws {
        let logKey = try loadVerifierKey(key)
        let witnessKeys = try witnesses.map { try loadVerifierKey($0, type: .cosignature) }
        let policy = try report { try WitnessQuorum(keys: witnessKeys, quorum: quorum ?? witnessKeys.count) }
        let monitor: Monitor
        do {
            monitor = try Monitor(Monitor.Configuration(url: url, logKey: logKey, witnesses: policy, stateDirectory: state))
        } catch {
            throw Self.stop(error)
        }
        let started = monotonicSeconds()
        if once {
            let before = await monitor.state.size
            do {
                let progress = try await monitor.poll()
                let seconds = monotonicSeconds() - started
                guard let progress else {
                    print("the log has published no checkpoint yet; nothing to verify")
                    return
                }
                let rate = progress.verifiedEntries > 0 ? String(format: " in %.2f s (%.0f entries/s)", seconds, Double(progress.verifiedEntries) / seconds) : ""
                print("verified \(progress.verifiedEntries) new entries\(rate); \(progress.checkpoint.size) entries verified in all (\(before) before)")
                print("checkpoint (size \(progress.checkpoint.size), root \(progress.checkpoint.root.base64)):")
                print(progress.note, terminator: progress.note.hasSuffix("\n") ? "" : "\n")
            } catch {
                throw Self.stop(error)
            }
            return
        }
        Self.line("monitoring \(url) for \(logKey.name) (state \(state), verified so far: \(await monitor.state.size) entries)")
        let interval = max(1, intervalMilliseconds)
        var wait = interval
        while !Task.isCancelled {
            do {
                if let progress = try await monitor.poll(), progress.verifiedEntries > 0 {
                    Self.line("verified \(progress.verifiedEntries) new entries: checkpoint size \(progress.checkpoint.size), root \(progress.checkpoint.root.base64)")
                }
                wait = interval
            } catch where error.kind == .unavailable {
                printError("pahlawan monitor: \(error.message); retrying in \(wait) ms")
                wait = min(wait * 2, max(interval, 60_000))
            } catch {
                throw Self.stop(error)
            }
            try? await Task.sleep(for: .milliseconds(wait))
        }
    }

    /// Prints one line at once, also when standard output is a pipe (a service manager's log).
    static func line(_ text: String) {
        print(text)
        fflush(nil)
    }

    /// Prints a failure (with the evidence it names) and the exit status for it.
    static func stop(_ failure: MonitorFailure) -> ExitCode {
        printError(failure.report)
        return ExitCode(failure.isEvidence ? 1 : 2)
    }
}
