import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Ledger
import Logging
import NIOCore
import Synchronization
import Witness

/// Witnesses started in this process on loopback ports, for benchmarks.
struct LoopbackWitnesses {
    let witnesses: [Witness]
    let urls: [String]
    let tasks: [Task<Void, Error>]

    static func start(count: Int, logs: [VerifierKey], directory: String) async throws -> LoopbackWitnesses {
        var witnesses = [Witness]()
        var urls = [String]()
        var tasks = [Task<Void, Error>]()
        let quiet = Logger(label: "bench-witness", factory: { _ in SwiftLogNoOpLogHandler() })
        for index in 0..<count {
            let key = try SigningKey.generate(name: "witness\(index).bench.example/w", type: .cosignature)
            let witness = try Witness(key: key, logKeys: logs, directory: directory + "/witness-\(index)")
            let port = Mutex<Int?>(nil)
            let app = witness.application(host: "127.0.0.1", port: 0, logger: quiet) { channel in port.withLock { $0 = channel.localAddress?.port } }
            tasks.append(Task { try await app.runService() })
            for _ in 0..<1_000 where port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(5)) }
            guard let bound = port.withLock({ $0 }) else { throw ValidationError("witness \(index) did not start") }
            witnesses.append(witness)
            urls.append("http://127.0.0.1:\(bound)")
        }
        return LoopbackWitnesses(witnesses: witnesses, urls: urls, tasks: tasks)
    }

    var endpoints: [WitnessClient.Endpoint] { zip(witnesses, urls).map { .init(key: $0.key.verifier, url: $1) } }

    func stop() {
        for task in tasks { task.cancel() }
        for witness in witnesses { witness.close() }
    }
}

struct BenchWitness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "add-checkpoint requests one witness answers per second over loopback HTTP, against the raw fdatasync rate (each answer is stored durably first).",
        discussion: """
            Each log submits a chain of checkpoints of growing size, each with the consistency proof from the one \
            before (as a real log does, one request at a time per log); --logs logs do so concurrently, as the \
            witness of a whole ecosystem of logs would see them. Checkpoints are signed before the clock starts.
            """)

    @Option(help: "add-checkpoint requests in total.") var requests = 20_000
    @Option(help: "Logs submitting concurrently (each its own origin and key).") var logs = 8
    @OptionGroup var bench: BenchOptions

    func validate() throws {
        guard requests >= logs, logs >= 1, logs <= 256 else { throw ValidationError("--logs is 1…256 and at most --requests") }
    }

    func run() async throws {
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        let rawSync = PhysicalLimits.fdatasyncsPerSecond(directory: directory.path)
        // Each log: a ledger whose checkpoints at sizes 1…per are prepared with their proofs.
        let perLog = requests / logs
        var chains = [[[UInt8]]]()
        var keys = [VerifierKey]()
        for log in 0..<logs {
            let key = try SigningKey.generate(name: "log\(log).bench.example/ledger")
            keys.append(key.verifier)
            let data = DataDirectory(directory.path + "/log-\(log)")
            let ledger = try report { try Ledger(directory: data, signer: key) }
            var bodies = [[UInt8]]()
            var previous: UInt64 = 0
            for size in 1...UInt64(perLog) {
                try report { try ledger.append([EntryDraft(kind: "bench.entry", actor: "bench", payload: ["n": .integer(Int64(size))])]) }
                let checkpoint = Checkpoint(origin: key.verifier.name, size: size, root: try report { try ledger.root(size: size) })
                let note = try report { try checkpoint.sign(with: key).serialized }
                let proof = previous == 0 ? [] : try report { try ledger.consistencyProof(from: previous, to: size) }
                bodies.append(AddCheckpoint(oldSize: previous, proof: proof, note: note).body)
                previous = size
            }
            ledger.close()
            chains.append(bodies)
        }
        let running = try await LoopbackWitnesses.start(count: 1, logs: keys, directory: directory.path)
        defer { running.stop() }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: logs)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let url = running.urls[0] + "/add-checkpoint"
        let started = monotonicSeconds()
        let outcomes = try await withThrowingTaskGroup(of: (cosigned: Int, latencies: [Double]).self) { group in
            for chain in chains {
                group.addTask {
                    var cosigned = 0
                    var latencies = [Double]()
                    for body in chain {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.body = .bytes(ByteBuffer(bytes: body))
                        let sent = monotonicSeconds()
                        let response = try await client.execute(request, timeout: .seconds(10))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        latencies.append(monotonicSeconds() - sent)
                        if response.status == .ok { cosigned += 1 }
                    }
                    return (cosigned, latencies)
                }
            }
            var all = [(cosigned: Int, latencies: [Double])]()
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let seconds = monotonicSeconds() - started
        try await client.shutdown()
        let cosigned = outcomes.reduce(0) { $0 + $1.cosigned }
        let latencies = outcomes.flatMap(\.latencies).sorted()
        let perSecond = Double(cosigned) / seconds
        bench.emit("bench witness: \(cosigned) of \(perLog * logs) add-checkpoint requests cosigned, \(logs) logs at once", [
            ("requests", .integer(perLog * logs)),
            ("cosigned", .integer(cosigned)),
            ("logs", .integer(logs)),
            ("seconds", .number(seconds, digits: 3)),
            ("add_checkpoint_per_second", .number(perSecond, digits: 0)),
            ("target_per_second", .integer(2_000)),
            ("latency_p50_ms", .number(percentile(latencies, 0.50) * 1000, digits: 3)),
            ("latency_p99_ms", .number(percentile(latencies, 0.99) * 1000, digits: 3)),
            ("raw_fdatasync_per_second", .number(rawSync, digits: 0)),
            ("ratio_to_fdatasync", .number(perSecond / rawSync, digits: 3)),
            ("cores", .integer(ProcessInfo.processInfo.activeProcessorCount)),
        ])
    }
}
