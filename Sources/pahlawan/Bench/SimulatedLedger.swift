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
    static func events(entries: Int, seed: UInt64, policy: RescuePolicy) -> [Written] {
        var simulator = simulator(commands: entries * 2 / 3 + 1_000, seed: seed)
        var world = RescueWorld()
        var written = [Written]()
        written.reserveCapacity(entries + 64)
        var seq: UInt64 = 0
        while written.count < entries, let step = simulator.next(world: world) {
            guard case .success(let events) = world.decide(step.command, actor: step.actor, now: step.now, policy: policy) else { continue }
            for event in events {
                world.apply(event, seq: seq, time: step.now)
                seq += 1
                written.append((event, step.actor, step.now))
            }
        }
        return written
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
