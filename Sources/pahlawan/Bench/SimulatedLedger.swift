import ArgumentParser
import Compliance
import Core
import Foundation
import Ledger
import Rescue

/// Realistic, replayable ledgers for benchmarks: the city simulator's events, decided against a
/// pure world, appended in large batches (far faster than through the command loop one command
/// at a time, and the same entries).
enum SimulatedLedger {
    typealias Written = (event: RescueEvent, actor: String, time: Int64)

    /// A simulator sized for `commands` commands from 2026-11-24 00:00 WIB.
    static func simulator(commands: Int, seed: UInt64) -> CitySimulator {
        let days = max(1, commands / 80_000)
        return CitySimulator(
            seed: seed, start: 1_795_453_200_000_000, days: days, commandsPerDay: commands / days, companies: 80, recipients: 600, buyers: 30
        ) { claim, code in "\(claim):\(code)" }
    }

    /// At least `entries` events of simulated traffic, in order.
    static func events(entries: Int, seed: UInt64, policy: RescuePolicy) throws -> [Written] {
        var simulator = simulator(commands: entries * 2 / 3 + 1_000, seed: seed)
        var written = [Written]()
        written.reserveCapacity(entries + 64)
        try record(&simulator, policy: policy, while: { written.count < entries }) { step, events in
            for event in events ?? [] { written.append((event, step.actor, step.now)) }
        }
        return written
    }

    /// Runs the simulator against a pure world while `wantsMore` says so, each event applied at
    /// its own seq as a ledger gives them; `visit` sees every step with its events (nil when
    /// refused). Rescues are counted by seq: with one seq for all, the first carbon mint made
    /// every later count a duplicate, every tick was refused from about 140,000 commands on, and
    /// the city froze (issue 19). Stops with an error if a tick is refused all the same: time
    /// passing is never refused in a sound world, and frozen traffic would measure nothing real.
    static func record(
        _ simulator: inout CitySimulator, policy: RescuePolicy, while wantsMore: () -> Bool,
        _ visit: (CitySimulator.Step, [RescueEvent]?) -> Void
    ) throws {
        var world = RescueWorld()
        var seq: UInt64 = 0
        var commands = 0
        while wantsMore(), let step = simulator.next(world: world) {
            commands += 1
            switch world.decide(step.command, actor: step.actor, now: step.now, policy: policy) {
            case .success(let events):
                for event in events {
                    world.apply(event, seq: seq, time: step.now)
                    seq += 1
                }
                visit(step, events)
            case .failure(let refusal):
                if case .tick = step.command {
                    printError("pahlawan: error: the simulated city's tick at command \(commands) was refused (\(refusal)); its traffic is not a benchmark")
                    throw ExitCode(1)
                }
                visit(step, nil)
            }
        }
    }

    /// Appends the events to `ledger` as entries under `policy`, 4,096 per call; the bytes of
    /// the bodies written.
    @discardableResult
    static func append(_ written: some Collection<Written>, to ledger: Ledger, policy: Hash) throws(LedgerError) -> Int {
        var bodyBytes = 0
        var batch = [EntryDraft]()
        batch.reserveCapacity(4_096)
        for item in written {
            batch.append(EntryDraft(time: item.time, kind: item.event.kind.rawValue, actor: item.actor, payload: EntryCodec.payload(of: item.event), policy: policy))
            if batch.count == 4_096 {
                bodyBytes += try ledger.append(batch).reduce(0) { $0 + $1.bodyBytes.count }
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { bodyBytes += try ledger.append(batch).reduce(0) { $0 + $1.bodyBytes.count } }
        return bodyBytes
    }
}
