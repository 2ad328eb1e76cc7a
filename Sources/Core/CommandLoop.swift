import Compliance
import Foundation
import Ledger
import Rescue

/// The application's one command loop: every command runs through the rescue engines and its
/// events are appended to the ledger, in one order. Under one lock a command is decided against
/// the current state, its entries are queued on the ledger (which group-commits them with
/// everyone else's), and its events are applied; the caller is answered once the entries are
/// durable. Because queueing and applying happen under the same lock, the ledger's order is the
/// order the state saw, and a replay of the ledger rebuilds exactly this state.
///
/// State a caller reads (`read`) may include the effects of commands whose entries are not yet
/// durable; nobody has been told they succeeded until they are. A storage failure stops the
/// loop (`loopStopped`): the ledger refuses appends until reopened, and reopening replays it.
public final class CommandLoop: @unchecked Sendable {
    /// The actor of entries the loop writes on its own (time-outs, settlements, activations).
    public static let systemActor = "system"

    public let ledger: Ledger
    public let policies: PolicySet
    private let clock: @Sendable () -> Int64
    private let pickupKey: [UInt8]
    private let lock = NSLock()
    private var world: RescueWorld
    private var nextSeq: UInt64
    private var lastTime: Int64
    private var failure: LedgerError?

    /// Replays `ledger` into the engines, then activates `policies` if they are not the ones in
    /// force (a `policy.activated` entry). `pickupKey` keys the pickup-code digests.
    public init(
        ledger: Ledger, policies: PolicySet, pickupKey: [UInt8], clock: @escaping @Sendable () -> Int64 = Ledger.wallClockMicroseconds
    ) throws(CoreError) {
        self.ledger = ledger
        self.policies = policies
        self.clock = clock
        self.pickupKey = pickupKey
        let replayed = try Self.replay(ledger)
        world = replayed.world
        nextSeq = replayed.size
        lastTime = max(ledger.lastEntryTime, world.time)
        if world.activePolicy != policies.hash.hex {
            let activation = RescueEvent.policyActivated(policy: policies.hash.hex, files: policies.fileHashes)
            do throws(CommandError) {
                _ = try executeAndWait(events: [activation], actor: Self.systemActor)
            } catch {
                throw CoreError.activation(error)
            }
        }
    }

    /// Rebuilds the engines' state from every entry of `ledger`. Bodies are read in slices and
    /// decoded to events on every core while the previous slice's events are applied, in seq
    /// order, on this thread.
    public static func replay(_ ledger: Ledger) throws(CoreError) -> (world: RescueWorld, size: UInt64) {
        final class Decoding: @unchecked Sendable {
            let done = DispatchSemaphore(value: 0)
            var result: Result<[(seq: UInt64, event: RescueEvent, time: Int64)?], LedgerError> = .success([])
        }
        var world = RescueWorld()
        let size = ledger.size
        func apply(_ decoding: Decoding) throws(LedgerError) {
            decoding.done.wait()
            for decoded in try decoding.result.get() {
                if let (seq, event, time) = decoded { world.apply(event, seq: seq, time: time) }
            }
        }
        var previous: Decoding?
        do throws(LedgerError) {
            try ledger.forEachBodySlice(from: 0, to: size) { (slice) throws(LedgerError) in
                let decoding = Decoding()
                DispatchQueue.global().async {
                    do throws(LedgerError) {
                        decoding.result = .success(try decodeConcurrently(slice))
                    } catch {
                        decoding.result = .failure(error)
                    }
                    decoding.done.signal()
                }
                if let previous { try apply(previous) }
                previous = decoding
            }
            if let previous { try apply(previous) }
        } catch {
            // A decoding still running holds its own slice and result; it finishes harmlessly.
            throw CoreError.replay(seq: error.seq ?? 0, error)
        }
        return (world, size)
    }

    /// Decodes a slice of bodies to events on every core; nil for entries outside the domain.
    /// The first failure (by seq) is thrown.
    private static func decodeConcurrently(
        _ slice: [(seq: UInt64, bytes: [UInt8])]
    ) throws(LedgerError) -> [(seq: UInt64, event: RescueEvent, time: Int64)?] {
        final class Results: @unchecked Sendable {
            var decoded: [(seq: UInt64, event: RescueEvent, time: Int64)?]
            var failures: [CodecError?]
            init(_ count: Int) {
                decoded = Array(repeating: nil, count: count)
                failures = Array(repeating: nil, count: count)
            }
        }
        let results = Results(slice.count)
        let parts = min(ProcessInfo.processInfo.activeProcessorCount, max(1, slice.count / 512))
        results.decoded.withUnsafeMutableBufferPointer { decoded in
            results.failures.withUnsafeMutableBufferPointer { failures in
                nonisolated(unsafe) let (decoded, failures) = (decoded, failures)
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    for index in stride(from: part, to: slice.count, by: parts) {
                        let (seq, bytes) = slice[index]
                        do throws(CodecError) {
                            decoded[index] = try EntryCodec.decode(bodyBytes: bytes, seq: seq).map { (seq, $0.event, $0.time) }
                        } catch {
                            failures[index] = error
                        }
                    }
                }
            }
        }
        if let failure = results.failures.lazy.compactMap({ $0 }).first { throw LedgerError(.badEntry, failure.description, seq: failure.seq) }
        return results.decoded
    }

    // MARK: Commands

    /// Runs `command` for `actor` and returns once its entries are durable.
    @discardableResult
    public func execute(_ command: RescueCommand, actor: String) async throws(CommandError) -> [SignedEntry] {
        let result: Result<[SignedEntry], CommandError> = await withCheckedContinuation { continuation in
            do throws(CommandError) {
                try submit(command, actor: actor) { continuation.resume(returning: $0.mapError(CommandError.ledger)) }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Runs `command` for `actor`, blocking until its entries are durable (command-line tools,
    /// the simulator and tests; async code uses `execute`).
    @discardableResult
    public func executeAndWait(_ command: RescueCommand, actor: String) throws(CommandError) -> [SignedEntry] {
        try wait { completion throws(CommandError) in try submit(command, actor: actor, completion: completion) }
    }

    /// Lets time pass: match time-outs, dispute deadlines, escrow releases and carbon counts due now.
    @discardableResult
    public func tick() throws(CommandError) -> [SignedEntry] { try executeAndWait(.tick, actor: Self.systemActor) }

    /// Appends an entry outside the rescue domain (an erasure, a record of access to personal
    /// data), in order with the commands and under the policies in force; returns once durable.
    /// The payload must hold pseudonymous ids and digests only, never personal data.
    @discardableResult
    public func recordAndWait(kind: String, actor: String, payload: [String: JSONValue]) throws(CommandError) -> SignedEntry {
        try wait { completion throws(CommandError) in
            lock.lock()
            defer { lock.unlock() }
            if let failure { throw .loopStopped(failure) }
            let now = max(clock(), lastTime)
            try enqueue([EntryDraft(time: now, kind: kind, actor: actor, payload: payload, policy: policies.hash)], now: now, completion: completion)
        }[0]
    }

    /// Reads the current state under the loop's lock.
    public func read<T>(_ body: (RescueWorld) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(world)
    }

    /// A fresh single-use pickup code for a claim: 8 characters from an alphabet without 0/O
    /// and 1/I, 40 bits of randomness. Only its digest is recorded.
    public static func newPickupCode() -> String {
        let alphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
        return String(Sodium.randomBytes(8).map { alphabet[Int($0 & 31)] })
    }

    /// The digest recorded for a claim's pickup code: HMAC-SHA-256 under the data directory's
    /// pickup key, so the ledger (which auditors read) does not let anyone guess short codes.
    public func pickupCodeDigest(claim: String, code: String) -> String {
        Hex.encode(Sodium.hmacSHA256(key: pickupKey, message: Array(claim.utf8) + [0] + Array(code.uppercased().utf8)))
    }

    private func submit(
        _ command: RescueCommand, actor: String, completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void
    ) throws(CommandError) {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw .loopStopped(failure) }
        let now = max(clock(), lastTime)
        let events: [RescueEvent]
        switch world.decide(command, actor: actor, now: now, policy: policies.rescue) {
        case .success(let decided): events = decided
        case .failure(let rejection): throw .rejected(rejection)
        }
        try enqueueAndApply(events, actor: actor, now: now, completion: completion)
    }

    /// Writes events that need no deciding (the policy activation).
    private func executeAndWait(events: [RescueEvent], actor: String) throws(CommandError) -> [SignedEntry] {
        try wait { completion throws(CommandError) in
            lock.lock()
            defer { lock.unlock() }
            try enqueueAndApply(events, actor: actor, now: max(clock(), lastTime), completion: completion)
        }
    }

    /// Under the lock: queue the entries, then apply the events at the seqs they will get.
    private func enqueueAndApply(
        _ events: [RescueEvent], actor: String, now: Int64, completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void
    ) throws(CommandError) {
        if events.isEmpty {
            completion(.success([]))
            return
        }
        let drafts = events.map { EntryDraft(time: now, kind: $0.kind, actor: actor, payload: EntryCodec.payload(of: $0), policy: policies.hash) }
        let first = nextSeq
        try enqueue(drafts, now: now, completion: completion)
        for (offset, event) in events.enumerated() { world.apply(event, seq: first + UInt64(offset), time: now) }
    }

    /// Under the lock: queues the drafts (all stamped `now`) and advances the seq and time the
    /// next write continues from. A write that fails later stops the loop.
    private func enqueue(
        _ drafts: [EntryDraft], now: Int64, completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void
    ) throws(CommandError) {
        do throws(LedgerError) {
            try ledger.enqueue(drafts) { [weak self] result in
                if case .failure(let error) = result, error.code != .pushback { self?.stop(error) }
                completion(result)
            }
        } catch {
            throw .ledger(error)
        }
        nextSeq += UInt64(drafts.count)
        lastTime = now
    }

    /// A write the state already reflects failed: nothing more may be accepted until the ledger
    /// is reopened and replayed.
    private func stop(_ error: LedgerError) {
        lock.lock()
        defer { lock.unlock() }
        if failure == nil { failure = error }
    }

    private func wait(
        _ start: (@escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void) throws(CommandError) -> Void
    ) throws(CommandError) -> [SignedEntry] {
        final class Box: @unchecked Sendable { var result: Result<[SignedEntry], LedgerError>? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        try start { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return try box.result!.mapError(CommandError.ledger).get()
    }
}

/// Why a command did not take effect.
public enum CommandError: Error, CustomStringConvertible, Equatable {
    /// The engines refused it; nothing was written.
    case rejected(RescueRejection)
    /// The ledger refused or failed the write (`pushback`: nothing was written, retry later).
    case ledger(LedgerError)
    /// An earlier write failed; the loop accepts nothing until the ledger is reopened.
    case loopStopped(LedgerError)

    public var description: String {
        switch self {
        case .rejected(let rejection): "rejected: \(rejection.name)"
        case .ledger(let error): "ledger: \(error)"
        case .loopStopped(let error): "the command loop stopped after a failed write (\(error)); reopen the ledger"
        }
    }
}

/// Why the loop could not start.
public enum CoreError: Error, CustomStringConvertible {
    /// An entry could not be read or decoded while replaying.
    case replay(seq: UInt64, LedgerError)
    case activation(CommandError)

    public var description: String {
        switch self {
        case .replay(let seq, let error): "replaying the ledger failed at seq \(seq): \(error)"
        case .activation(let error): "activating the policies failed: \(error)"
        }
    }
}
