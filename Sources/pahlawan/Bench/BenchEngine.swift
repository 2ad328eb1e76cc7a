import ArgumentParser
import Compliance
import Core
import Foundation
import Ledger
import Rescue

struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "The pure rescue engines on one core (commands decided and applied per second), and a ledger replayed into engine state.",
        discussion: """
            Commands come from the seeded city simulator, recorded first so that generating them is not measured, then \
            decided and applied against a fresh state, --passes times (each pass must reach the same state). The \
            first pass's events are appended to a ledger, which is then replayed from the files into a fresh state. \
            Limits measured in the same run: String-keyed dictionary insert+lookup pairs per second (the least any \
            command does) and SHA-256 leaf hashes per second over the average body (which every replayed entry costs).
            """)

    @Option(help: "Commands to run.") var commands = 300_000
    @Option(help: "Seed of the simulated traffic.") var seed: UInt64 = 1
    @Option(help: "Replays of the same ledger; the median and the best are reported (runs on these machines move by ±30%).")
    var replays = 3
    @Option(help: "Passes of the commands, each against a fresh state; the median and the best are reported.")
    var passes = 3
    @Option(help: "The policy directory.") var policies = "policies"
    @OptionGroup var bench: BenchOptions

    func validate() throws {
        guard (1_000...50_000_000).contains(commands) else { throw ValidationError("--commands must be 1,000…50,000,000") }
        guard (1...20).contains(replays) else { throw ValidationError("--replays must be 1…20") }
        guard (1...20).contains(passes) else { throw ValidationError("--passes must be 1…20") }
    }

    func run() throws {
        let policySet = try report { try PolicySet.load(directory: policies) }
        let policy = policySet.rescue

        // Record the traffic against a pure world first.
        var simulator = SimulatedLedger.simulator(commands: commands, seed: seed)
        var steps = [CitySimulator.Step]()
        steps.reserveCapacity(commands)
        try SimulatedLedger.record(&simulator, policy: policy, while: { steps.count < commands }) { step, _ in steps.append(step) }

        // The measured runs: decide and apply every command against a fresh world, `passes`
        // times (each writes its events as the first does, so each does the same work).
        var world = RescueWorld()
        var written = [(event: RescueEvent, actor: String, time: Int64)]()
        var rejected = 0
        var commandSeconds = [Double]()
        for pass in 0..<passes {
            var passWorld = RescueWorld()
            var passWritten = [(event: RescueEvent, actor: String, time: Int64)]()
            passWritten.reserveCapacity(steps.count * 2)
            var passRejected = 0
            var seq: UInt64 = 0
            let started = monotonicSeconds()
            for step in steps {
                switch passWorld.decide(step.command, actor: step.actor, now: step.now, policy: policy) {
                case .success(let events):
                    for event in events {
                        passWorld.apply(event, seq: seq, time: step.now)
                        seq += 1
                        passWritten.append((event, step.actor, step.now))
                    }
                case .failure:
                    passRejected += 1
                }
            }
            commandSeconds.append(monotonicSeconds() - started)
            if pass == 0 {
                world = passWorld
                written = passWritten
                rejected = passRejected
            } else if passWorld != world || passWritten.count != written.count || passRejected != rejected {
                printError("pahlawan: error: command pass \(pass + 1) reached a different state from the first")
                throw ExitCode(1)
            }
        }
        let (commandsPerSecond, bestCommandsPerSecond) = Self.medianAndBestRate(of: steps.count, in: commandSeconds)
        // Commands per second by kind (one more pass, timing each command): auctions and bids
        // must keep the rate of the rest (issue 16).
        var costs: [String: (count: Int, seconds: Double)] = [:]
        do {
            var profile = RescueWorld()
            var profileSeq: UInt64 = 0
            for step in steps {
                let name = String(describing: step.command).prefix { $0 != "(" }
                let begin = monotonicSeconds()
                if case .success(let events) = profile.decide(step.command, actor: step.actor, now: step.now, policy: policy) {
                    for event in events {
                        profile.apply(event, seq: profileSeq, time: step.now)
                        profileSeq += 1
                    }
                }
                let elapsed = monotonicSeconds() - begin
                costs[String(name), default: (0, 0)].count += 1
                costs[String(name), default: (0, 0)].seconds += elapsed
            }
            if !bench.json {
                print("time by command: " + costs.sorted { $0.value.seconds > $1.value.seconds }.map {
                "\($0.key) \($0.value.count)× \(String(format: "%.1f", $0.value.seconds / Double($0.value.count) * 1e6)) µs"
            }.joined(separator: ", "))
            }
        }
        let byKind = costs.keys.sorted().map { name in
            ("commands_per_second_\(name)", BenchValue.number(Double(costs[name]!.count) / max(costs[name]!.seconds, 1e-9), digits: 0))
        }
        // Applying the same events alone: what a replay costs beyond reading and decoding.
        var applied = RescueWorld()
        let applyStarted = monotonicSeconds()
        for (seq, item) in written.enumerated() { applied.apply(item.event, seq: UInt64(seq), time: item.time) }
        let applyPerSecond = Double(written.count) / (monotonicSeconds() - applyStarted)
        let dictionaryFloor = Self.dictionaryPairsPerSecond()

        // Replay: the same events as a ledger, read back from the files into a fresh state.
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        try? FileManager.default.removeItem(atPath: directory.path)
        let key = try report { try directory.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin).key }
        let writer = try report { try Ledger(directory: directory, signer: key) }
        let bodyBytes = try report { try SimulatedLedger.append(written, to: writer, policy: policySet.hash) }
        writer.close()
        let reader = try report { try Ledger(directory: directory, signer: nil, verifier: key.verifier) }
        var replaySeconds = [Double]()
        var replayedSize: UInt64 = 0
        for _ in 0..<replays {
            let replayStarted = monotonicSeconds()
            let replayed = try report { try CommandLoop.replay(reader) }
            replaySeconds.append(monotonicSeconds() - replayStarted)
            guard replayed.world == world else {
                printError("pahlawan: error: the replayed state differs from the live one")
                throw ExitCode(1)
            }
            replayedSize = replayed.size
        }
        let (replayPerSecond, bestReplayPerSecond) = Self.medianAndBestRate(of: Int(replayedSize), in: replaySeconds)
        // Reading alone (sequential reads, checksums): the floor under any replay.
        let readStarted = monotonicSeconds()
        var readCount = 0
        try report { try reader.forEachBodySlice(from: 0, to: reader.size) { readCount += $0.count } }
        let readPerSecond = Double(readCount) / (monotonicSeconds() - readStarted)
        // Decoding bodies to events on one core, alone.
        var bodies = [(seq: UInt64, bytes: [UInt8])]()
        try report { try reader.forEachBodySlice(from: 0, to: min(reader.size, 100_000)) { bodies += $0 } }
        let decodeStarted = monotonicSeconds()
        for body in bodies { _ = try? EntryCodec.decode(bodyBytes: body.bytes, seq: body.seq) }
        let decodePerSecond = Double(bodies.count) / (monotonicSeconds() - decodeStarted)
        let averageBody = bodyBytes / max(1, written.count)
        let leafHashes = PhysicalLimits.leafHashesPerSecond(byteCount: averageBody)
        if !bench.json {
            let kinds = written.reduce(into: [String: Int]()) { $0[$1.event.kind.rawValue, default: 0] += 1 }
            print("events by kind: " + kinds.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        bench.emit(
            "bench engine: \(steps.count) commands (seed \(seed)), \(written.count) events, replayed from \(replayedSize) entries",
            [
                ("commands", .integer(steps.count)),
                ("rejected", .integer(rejected)),
                ("events", .integer(written.count)),
                ("passes", .integer(passes)),
                ("commands_per_second", .number(commandsPerSecond, digits: 0)),
                ("commands_per_second_best", .number(bestCommandsPerSecond, digits: 0)),
                ("target_commands_per_second", .integer(300_000)),
            ] + byKind + [
                ("raw_dictionary_pairs_per_second", .number(dictionaryFloor, digits: 0)),
                ("ratio_commands_to_dictionary_pairs", .number(commandsPerSecond / dictionaryFloor, digits: 3)),
                ("replay_entries", .integer(Int(replayedSize))),
                ("replays", .integer(replays)),
                ("replay_entries_per_second", .number(replayPerSecond, digits: 0)),
                ("replay_entries_per_second_best", .number(bestReplayPerSecond, digits: 0)),
                ("target_replay_entries_per_second", .integer(500_000)),
                ("apply_events_per_second", .number(applyPerSecond, digits: 0)),
                ("decode_entries_per_second_one_core", .number(decodePerSecond, digits: 0)),
                ("raw_read_entries_per_second", .number(readPerSecond, digits: 0)),
                ("ratio_replay_to_read", .number(replayPerSecond / readPerSecond, digits: 3)),
                ("average_body_bytes", .integer(averageBody)),
                ("raw_leaf_hashes_per_second", .number(leafHashes, digits: 0)),
                ("ratio_replay_to_leaf_hash", .number(replayPerSecond / leafHashes, digits: 3)),
                ("replay_equals_live", .text("true")),
                ("peak_rss_bytes", .integer(PhysicalLimits.peakResidentBytes())),
            ])
    }

    /// `count` items per second at the median and at the fastest of `seconds` (runs of the same
    /// work); with an even number of runs the median is the slower of the middle two.
    static func medianAndBestRate(of count: Int, in seconds: [Double]) -> (median: Double, best: Double) {
        let sorted = seconds.sorted()
        return (Double(count) / sorted[sorted.count / 2], Double(count) / sorted[0])
    }

    /// Inserts and looks up String keys shaped like the engines' ids, per second: the least
    /// work any command does (it at least finds one record and writes one).
    static func dictionaryPairsPerSecond() -> Double {
        let keys = (0..<200_000).map { "clm-\($0)" }
        var table = [String: Int]()
        table.reserveCapacity(keys.count)
        let started = monotonicSeconds()
        var found = 0
        for (number, key) in keys.enumerated() {
            table[key] = number
            found &+= table[keys[number / 2]] ?? 0
        }
        let seconds = monotonicSeconds() - started
        precondition(found != -1)
        return Double(keys.count) / seconds
    }
}
