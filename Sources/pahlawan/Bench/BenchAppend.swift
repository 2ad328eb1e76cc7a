import ArgumentParser
import Foundation
import Ledger
import Witness

struct BenchAppend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Durable appends from concurrent writers: throughput, acknowledge latency, peak RSS, against the raw sign and fdatasync rates.")

    @Option(help: "Entries to append in total.") var entries = 200_000
    @Option(help: "Concurrent writers (async tasks), each appending one entry at a time.") var writers = 64
    @Option(help: "Offered load in appends per second across all writers (open loop); 0 = as fast as they can.")
    var rate = 0
    @Option(help: "Also run the same appends with this many loopback witnesses cosigning every checkpoint (quorum: all), and compare.")
    var witnesses = 0
    @OptionGroup var bench: BenchOptions

    func validate() throws {
        guard entries > 0, writers > 0, writers <= 10_000, rate >= 0, (0...32).contains(witnesses) else {
            throw ValidationError("--entries and --writers must be positive, --rate non-negative, --witnesses 0…32")
        }
    }

    func run() throws {
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        let rawSignBefore = PhysicalLimits.signaturesPerSecond()
        let rawSync = PhysicalLimits.fdatasyncsPerSecond(directory: directory.path)
        let (key, _) = try report { try directory.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin) }
        let ledger = try report { try Ledger(directory: directory, signer: key) }
        let baseline = try measure(ledger)
        var witnessed: (run: Measured, latencies: [Int64], checkpoints: Int)?
        if witnesses > 0 {
            let count = witnesses
            let running = try runAsync { try await LoopbackWitnesses.start(count: count, logs: [ledger.verifier], directory: directory.path) }
            let client = try report {
                try WitnessClient(
                    ledger: ledger, endpoints: running.endpoints, quorum: try WitnessQuorum(keys: running.endpoints.map(\.key), quorum: count),
                    cosignedFile: directory.cosignedCheckpointFile)
            }
            let following = Task { await client.run() }
            let run = try measure(ledger)
            // The last checkpoint too: wait (at most 10 s) until the quorum has it.
            let last = try report { try ledger.checkpoint() }
            let lastSize = try report { try Checkpoint(text: SignedNote(parsing: last).text).size }
            let deadline = monotonicSeconds() + 10
            while (client.book.witnessed?.size ?? 0) < lastSize, monotonicSeconds() < deadline { usleep(5_000) }
            client.stop()
            _ = try runAsync { await following.value }
            running.stop()
            let latencies = client.book.quorumLatencies.sorted()
            witnessed = (run, latencies, latencies.count)
        }
        ledger.close()
        // Measured again after the appends, and the higher rate taken as the limit: one second's
        // rate moves by a third here between runs, and the ratio should not profit from a slow one.
        let rawSignAfter = PhysicalLimits.signaturesPerSecond()
        let rawSign = max(rawSignBefore, rawSignAfter)
        let perSecond = baseline.perSecond
        var figures: [(String, BenchValue)] = [
            ("entries", .integer(Int(baseline.appended))),
            ("writers", .integer(writers)),
            ("offered_per_second", .integer(rate)),
            ("seconds", .number(baseline.seconds, digits: 3)),
            ("entries_per_second", .number(perSecond, digits: 0)),
            ("ack_p50_ms", .number(percentile(baseline.latencies, 0.50) * 1000, digits: 3)),
            ("ack_p99_ms", .number(percentile(baseline.latencies, 0.99) * 1000, digits: 3)),
            ("ack_max_ms", .number((baseline.latencies.last ?? 0) * 1000, digits: 3)),
            ("batches", .integer(baseline.batches)),
            ("entries_per_batch", .number(Double(baseline.appended) / Double(max(baseline.batches, 1)), digits: 1)),
            ("pushbacks", .integer(baseline.pushbacks)),
            ("peak_rss_bytes", .integer(PhysicalLimits.peakResidentBytes())),
            ("raw_sign_per_second", .number(rawSign, digits: 0)),
            ("raw_sign_before_after", .text("\(Int(rawSignBefore)) / \(Int(rawSignAfter))")),
            ("raw_fdatasync_per_second", .number(rawSync, digits: 0)),
            ("ratio_to_sign", .number(perSecond / rawSign, digits: 3)),
            ("ratio_batches_to_fdatasync", .number(Double(baseline.batches) / baseline.seconds / rawSync, digits: 3)),
            ("cores", .integer(ProcessInfo.processInfo.activeProcessorCount)),
        ]
        if let witnessed {
            let latencies = witnessed.latencies.map { Double($0) / 1_000_000 }
            figures += [
                ("witnesses", .integer(witnesses)),
                ("witnessed_entries_per_second", .number(witnessed.run.perSecond, digits: 0)),
                ("witnessed_ack_p99_ms", .number(percentile(witnessed.run.latencies, 0.99) * 1000, digits: 3)),
                ("ratio_witnessed_to_unwitnessed", .number(witnessed.run.perSecond / perSecond, digits: 3)),
                ("checkpoints_witnessed", .integer(witnessed.checkpoints)),
                ("quorum_after_checkpoint_p50_ms", .number(percentile(latencies, 0.50) * 1000, digits: 1)),
                ("quorum_after_checkpoint_p99_ms", .number(percentile(latencies, 0.99) * 1000, digits: 1)),
                ("quorum_after_checkpoint_max_ms", .number((latencies.last ?? 0) * 1000, digits: 1)),
            ]
        }
        bench.emit("bench append: \(baseline.appended) entries, \(writers) writers, \(rate == 0 ? "closed loop" : "offered \(rate)/s")"
            + (witnesses > 0 ? "; then the same with \(witnesses) loopback witnesses" : ""), figures)
    }

    struct Measured {
        let appended: UInt64
        let seconds: Double
        let latencies: [Double]
        let batches: Int
        let pushbacks: Int
        var perSecond: Double { Double(appended) / seconds }
    }

    /// Appends `entries` from `writers` concurrent writers and measures them.
    func measure(_ ledger: Ledger) throws -> Measured {
        let (entries, writers, rate) = (entries, writers, rate)
        let startSize = ledger.size
        let startBatches = ledger.statistics.batches
        // Realistic bodies, generated before the clock starts so that the generator is not measured.
        let pools = (0..<writers).map { writer in
            var day = SyntheticDay(seed: UInt64(writer + 1), start: 0, entries: 256)
            return day.next(256).map { draft in
                var draft = draft
                draft.time = nil
                return draft
            }
        }
        let started = monotonicSeconds()
        let results = try runAsync {
            try await withThrowingTaskGroup(of: (latencies: [Double], pushbacks: Int).self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        let share = entries / writers + (writer < entries % writers ? 1 : 0)
                        let pool = pools[writer]
                        var latencies = [Double]()
                        latencies.reserveCapacity(share)
                        var pushbacks = 0
                        for number in 0..<share {
                            let draft = pool[number % pool.count]
                            // Open loop: latency counts from when the append was due, so a slow
                            // acknowledgement cannot hide the queueing it causes.
                            var due = monotonicSeconds()
                            if rate > 0 {
                                due = started + Double(number * writers + writer) / Double(rate)
                                let wait = due - monotonicSeconds()
                                if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                            }
                            while true {
                                do {
                                    try await ledger.append(draft)
                                    break
                                } catch let error as LedgerError where error.code == .pushback {
                                    pushbacks += 1
                                    try await Task.sleep(nanoseconds: 1_000_000)
                                }
                            }
                            latencies.append(monotonicSeconds() - due)
                        }
                        return (latencies, pushbacks)
                    }
                }
                var all = [(latencies: [Double], pushbacks: Int)]()
                for try await result in group { all.append(result) }
                return all
            }
        }
        let seconds = monotonicSeconds() - started
        let batches = ledger.statistics.batches - startBatches
        return Measured(
            appended: ledger.size - startSize, seconds: seconds, latencies: results.flatMap(\.latencies).sorted(), batches: batches,
            pushbacks: results.reduce(0) { $0 + $1.pushbacks })
    }
}
