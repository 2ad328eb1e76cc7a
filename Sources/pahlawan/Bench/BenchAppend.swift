import ArgumentParser
import Foundation
import Ledger

struct BenchAppend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Durable appends from concurrent writers: throughput, acknowledge latency, peak RSS, against the raw sign and fdatasync rates.")

    @Option(help: "Entries to append in total.") var entries = 200_000
    @Option(help: "Concurrent writers (async tasks), each appending one entry at a time.") var writers = 64
    @Option(help: "Offered load in appends per second across all writers (open loop); 0 = as fast as they can.")
    var rate = 0
    @OptionGroup var bench: BenchOptions

    func validate() throws {
        guard entries > 0, writers > 0, writers <= 10_000, rate >= 0 else {
            throw ValidationError("--entries and --writers must be positive, --rate non-negative")
        }
    }

    func run() throws {
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        let rawSign = PhysicalLimits.signaturesPerSecond()
        let rawSync = PhysicalLimits.fdatasyncsPerSecond(directory: directory.path)
        let (key, _) = try report { try directory.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin) }
        let ledger = try report { try Ledger(directory: directory, signer: key) }
        let startSize = ledger.size
        let startBatches = ledger.statistics.batches
        let (entries, writers, rate) = (entries, writers, rate)
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
        ledger.close()
        let appended = ledger.size - startSize
        let latencies = results.flatMap(\.latencies).sorted()
        let perSecond = Double(appended) / seconds
        bench.emit(
            "bench append: \(appended) entries, \(writers) writers, \(rate == 0 ? "closed loop" : "offered \(rate)/s")",
            [
                ("entries", .integer(Int(appended))),
                ("writers", .integer(writers)),
                ("offered_per_second", .integer(rate)),
                ("seconds", .number(seconds, digits: 3)),
                ("entries_per_second", .number(perSecond, digits: 0)),
                ("ack_p50_ms", .number(percentile(latencies, 0.50) * 1000, digits: 3)),
                ("ack_p99_ms", .number(percentile(latencies, 0.99) * 1000, digits: 3)),
                ("ack_max_ms", .number((latencies.last ?? 0) * 1000, digits: 3)),
                ("batches", .integer(batches)),
                ("entries_per_batch", .number(Double(appended) / Double(max(batches, 1)), digits: 1)),
                ("pushbacks", .integer(results.reduce(0) { $0 + $1.pushbacks })),
                ("peak_rss_bytes", .integer(PhysicalLimits.peakResidentBytes())),
                ("raw_sign_per_second", .number(rawSign, digits: 0)),
                ("raw_fdatasync_per_second", .number(rawSync, digits: 0)),
                ("ratio_to_sign", .number(perSecond / rawSign, digits: 3)),
                ("ratio_batches_to_fdatasync", .number(Double(batches) / seconds / rawSync, digits: 3)),
                ("cores", .integer(ProcessInfo.processInfo.activeProcessorCount)),
            ])
    }
}
