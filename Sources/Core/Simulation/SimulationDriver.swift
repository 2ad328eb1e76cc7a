import Ledger
import Rescue
import Synchronization

/// A clock that shows whatever time it was last set to: the simulated time of the city day.
public final class SimulatedClock: Sendable {
    private let value: Atomic<Int64>

    public init(_ start: Int64) { value = Atomic(start) }

    public func set(_ time: Int64) { value.store(time, ordering: .relaxed) }
    public func read() -> Int64 { value.load(ordering: .relaxed) }
    /// The clock as the command loop takes it.
    public var function: @Sendable () -> Int64 { { self.read() } }
}

/// What a simulated run through the command loop did.
public struct SimulationReport: Sendable {
    public var commands = 0
    public var kinds: [String: Int] = [:]
    public var rejections: [String: Int] = [:]
    /// Reference-model violations (empty when every invariant held after every step).
    public var violations: [String] = []
    public var firstSeq: UInt64 = 0
    public var endSeq: UInt64 = 0
}

/// Runs the city simulator through the real command loop (and so into the ledger).
public enum SimulationDriver {
    /// Runs every step of `simulator` through `loop`, setting `clock` to each step's time, and
    /// checks the reference model after every step; stops at the first violation.
    public static func run(_ simulator: inout CitySimulator, through loop: CommandLoop, clock: SimulatedClock) throws(CommandError) -> SimulationReport {
        var report = SimulationReport()
        var model = loop.read { ReferenceModel(policy: loop.policies.rescue, startingFrom: $0) }
        report.firstSeq = loop.ledger.size
        while let step = simulator.next(world: loop.read { $0 }) {
            clock.set(step.now)
            report.commands += 1
            let entries: [SignedEntry]
            do {
                entries = try loop.executeAndWait(step.command, actor: step.actor)
            } catch {
                guard case .rejected(let rejection) = error else { throw error }
                report.rejections[rejection.name, default: 0] += 1
                continue
            }
            var events = [RescueEvent]()
            for entry in entries {
                report.kinds[entry.body.kind, default: 0] += 1
                // The loop wrote these entries from events just now; they always decode.
                if let event = try? EntryCodec.event(of: entry.body) { events.append(event) }
            }
            let violations = model.observe(events, firstSeq: entries.first?.seq ?? 0, time: entries.first?.body.time ?? step.now, world: loop.read { $0 })
            if !violations.isEmpty {
                report.violations = ["seed \(simulator.seed), command \(report.commands) (\(step.command)) by \(step.actor):"] + violations
                break
            }
        }
        if report.violations.isEmpty { report.violations = loop.read { model.compareAll(with: $0) } }
        report.endSeq = loop.ledger.size
        return report
    }
}
