import Compliance
import Foundation
import Ledger
import Rescue
import Synchronization

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
public final class CommandLoop: Sendable {
    /// The actor of entries the loop writes on its own (time-outs, settlements, activations).
    public static let systemActor = "system"

    public let ledger: Ledger
    public let policies: PolicySet
    private let clock: @Sendable () -> Int64
    private let pickupKey: [UInt8]
    /// What commands are decided against; one lock, so the ledger's order is the order applied.
    private struct State {
        var world: RescueWorld
        var idempotency: IdempotencyIndex
        /// The seq and time the next write continues from.
        var nextSeq: UInt64
        var lastTime: Int64
        /// The write failure that stopped the loop.
        var failure: LedgerError?
    }

    private let state: Mutex<State>

    /// Replays `ledger` into the engines, then activates `policies` if they are not the ones in
    /// force (a `policy.activated` entry). `pickupKey` keys the pickup-code digests.
    public init(
        ledger: Ledger, policies: PolicySet, pickupKey: [UInt8], clock: @escaping @Sendable () -> Int64 = Ledger.wallClockMicroseconds
    ) throws(CoreError) {
        self.ledger = ledger
        self.policies = policies
        self.clock = clock
        self.pickupKey = pickupKey
        let replayed = try Self.replayWithIndex(ledger)
        let activePolicy = replayed.world.activePolicy
        state = Mutex(State(
            world: replayed.world, idempotency: replayed.idempotency, nextSeq: replayed.size,
            lastTime: max(ledger.lastEntryTime, replayed.world.time)))
        if activePolicy != policies.hash.hex {
            let activation = RescueEvent.policyActivated(policy: policies.hash.hex, files: policies.fileHashes)
            do throws(CommandError) {
                _ = try executeAndWait(events: [activation], actor: Self.systemActor)
            } catch {
                throw CoreError.activation(error)
            }
        }
    }

    /// Rebuilds the engines' state from every entry of `ledger`. Bodies are read in slices and
    /// decoded to events on the other cores while earlier slices' events are applied, in seq
    /// order, on this thread.
    /// `sliceEntries` is how many entries are read and decoded at a time.
    public static func replay(_ ledger: Ledger, sliceEntries: Int = replaySliceEntries) throws(CoreError) -> (world: RescueWorld, size: UInt64) {
        let replayed = try replayWithIndex(ledger, sliceEntries: sliceEntries)
        return (replayed.world, replayed.size)
    }

    /// Slices decoded ahead of the one being applied during a replay.
    static let replaySlicesAhead = 2
    /// Entries per replay slice. With the one being applied and those ahead, a replay holds
    /// at most 3 × 4,096 entries' bodies and events (at most 65,535 bytes each).
    public static let replaySliceEntries = 4_096

    static func replayWithIndex(_ ledger: Ledger, sliceEntries: Int = replaySliceEntries) throws(CoreError) -> (world: RescueWorld, idempotency: IdempotencyIndex, size: UInt64) {
        typealias Decoding = Handoff<Result<[(seq: UInt64, replayed: EntryCodec.Replayed)?], LedgerError>>
        var world = RescueWorld()
        var idempotency = IdempotencyIndex()
        let size = ledger.size
        func apply(_ decoding: Decoding) throws(LedgerError) {
            for decoded in try decoding.wait().get() {
                guard let (seq, replayed) = decoded else { continue }
                world.apply(replayed.event, seq: seq, time: replayed.time)
                if let record = replayed.idempotency { idempotency.insert(record) }
            }
        }
        // Slices decode in order on one serial queue (each on every core but this one), up to
        // `replaySlicesAhead` ahead of the one being applied: with only the next slice queued,
        // the decoder sat idle while this thread read the slice after it.
        let decoder = DispatchQueue(label: "replay-decode")
        var pending = [Decoding]()
        do throws(LedgerError) {
            try ledger.forEachBodySlice(from: 0, to: size, sliceCount: max(1, sliceEntries)) { (slice) throws(LedgerError) in
                let decoding = Decoding()
                decoder.async {
                    decoding.fulfil(Result { () throws(LedgerError) in try decodeConcurrently(slice) })
                }
                pending.append(decoding)
                if pending.count > replaySlicesAhead { try apply(pending.removeFirst()) }
            }
            // Taken off the list before waiting: a handoff is waited for once (the catch below
            // waits for whatever is still listed).
            while !pending.isEmpty { try apply(pending.removeFirst()) }
        } catch {
            // The first failure by seq is reported: a read failure can come while earlier slices
            // are still decoding, and one of them may hold a bad entry. Each listed decoding is
            // waited for (none is left running); the rest of the ledger is not read.
            var first = error
            for decoding in pending {
                if case .failure(let earlier) = decoding.wait(), (earlier.seq ?? .max) < (first.seq ?? .max) { first = earlier }
            }
            throw CoreError.replay(seq: first.seq ?? 0, first)
        }
        return (world, idempotency, size)
    }

    /// Decodes a slice of bodies to events on every core but the one applying; nil for entries
    /// outside the domain. The first failure (by seq) is thrown.
    private static func decodeConcurrently(
        _ slice: [(seq: UInt64, bytes: [UInt8])]
    ) throws(LedgerError) -> [(seq: UInt64, replayed: EntryCodec.Replayed)?] {
        // One core is left to the thread applying the previous slice, which is the replay's
        // critical path: with a chunk per core the three threads shared two cores and applying
        // got two thirds of one (issue 19's replay profile).
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)
        let decoded = Parallel.map(count: slice.count, chunkCount: min(cores, max(1, slice.count / 512))) {
            index -> Result<(seq: UInt64, replayed: EntryCodec.Replayed)?, CodecError> in
            let (seq, bytes) = slice[index]
            return Result { () throws(CodecError) in try EntryCodec.decodeForReplay(bodyBytes: bytes, seq: seq).map { (seq, $0) } }
        }
        var events: [(seq: UInt64, replayed: EntryCodec.Replayed)?] = []
        events.reserveCapacity(decoded.count)
        for result in decoded {
            switch result {
            case .success(let event): events.append(event)
            case .failure(let failure): throw LedgerError(.badEntry, failure.description, seq: failure.seq)
            }
        }
        return events
    }

    // MARK: Commands

    /// Runs `command` for `actor` and returns once its entries are durable. With `idempotency`,
    /// a command this actor already ran under the same key returns its original entries and
    /// writes nothing; the key is recorded in the first entry, so this holds across restarts
    /// (for `IdempotencyIndex.retentionMicroseconds`).
    @discardableResult
    public func execute(_ command: RescueCommand, actor: String, idempotency: Idempotency? = nil) async throws(CommandError) -> [SignedEntry] {
        try checkSignatures(command)
        let result: Result<[SignedEntry], CommandError> = await withCheckedContinuation { continuation in
            do throws(CommandError) {
                if let earlier = try submit(command, actor: actor, idempotency: idempotency, completion: {
                    continuation.resume(returning: $0.mapError(CommandError.ledger))
                }) {
                    continuation.resume(returning: Result { () throws(CommandError) in try self.entries(of: earlier) })
                }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// The durable entries an earlier idempotent command wrote.
    private func entries(of record: IdempotencyRecord) throws(CommandError) -> [SignedEntry] {
        do throws(LedgerError) {
            return try (record.firstSeq..<record.firstSeq + record.entries).map { (seq) throws(LedgerError) in try ledger.entry(seq) }
        } catch {
            throw .ledger(error)
        }
    }

    /// Runs `command` for `actor`, blocking until its entries are durable (command-line tools,
    /// the simulator and tests; async code uses `execute`).
    @discardableResult
    public func executeAndWait(_ command: RescueCommand, actor: String) throws(CommandError) -> [SignedEntry] {
        try checkSignatures(command)
        return try wait { completion throws(CommandError) in _ = try submit(command, actor: actor, idempotency: nil, completion: completion) }
    }

    /// Lets time pass: match time-outs, dispute deadlines, escrow releases and carbon counts due now.
    @discardableResult
    public func tick() throws(CommandError) -> [SignedEntry] { try executeAndWait(.tick, actor: Self.systemActor) }

    /// Appends an entry outside the rescue domain (an erasure, a record of access to personal
    /// data), in order with the commands and under the policies in force; returns once durable.
    /// The payload must hold pseudonymous ids and digests only, never personal data.
    @discardableResult
    public func record(kind: EntryKind, actor: String, payload: [String: JSONValue]) async throws(CommandError) -> SignedEntry {
        let result: Result<[SignedEntry], CommandError> = await withCheckedContinuation { continuation in
            do throws(CommandError) {
                try enqueueRecord(kind: kind, actor: actor, payload: payload) { continuation.resume(returning: $0.mapError(CommandError.ledger)) }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()[0]
    }

    /// `record`, blocking until durable (command-line tools and tests).
    @discardableResult
    public func recordAndWait(kind: EntryKind, actor: String, payload: [String: JSONValue]) throws(CommandError) -> SignedEntry {
        try wait { completion throws(CommandError) in try enqueueRecord(kind: kind, actor: actor, payload: payload, completion: completion) }[0]
    }

    private func enqueueRecord(
        kind: EntryKind, actor: String, payload: [String: JSONValue], completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void
    ) throws(CommandError) {
        try state.withLock { (state) throws(CommandError) in
            if let failure = state.failure { throw .loopStopped(failure) }
            let now = max(clock(), state.lastTime)
            try enqueue([EntryDraft(time: now, kind: kind.rawValue, actor: actor, payload: payload, policy: policies.hash)], now: now, state: &state, completion: completion)
        }
    }

    /// Whether commands are taken (false once a write failed, until the ledger is reopened).
    public var acceptsWrites: Bool { state.withLock { $0.failure == nil } }

    /// Reads the current state under the loop's lock.
    public func read<T: Sendable, E: Error>(_ body: (RescueWorld) throws(E) -> T) throws(E) -> T {
        try state.withLock { (state) throws(E) in try body(state.world) }
    }

    /// Reads the current state with the time the next command would be given (the engine's
    /// clock: never behind the last entry), e.g. to show an auction's price as a bid now would see it.
    public func readNow<T: Sendable>(_ body: (RescueWorld, Int64) -> T) -> T {
        state.withLock { state in body(state.world, max(clock(), state.lastTime)) }
    }

    /// The pickup code of a claim: 8 characters from an alphabet without 0/O and 1/I (40 bits),
    /// derived from the claim id under the pickup key, so a retried claim request (same
    /// idempotency key, even after a restart) gets the same code. Only its digest is recorded.
    public func pickupCode(claim: String) -> String {
        let derived = Sodium.hmacSHA256(key: pickupKey, message: Array("pickup-code\u{0}".utf8) + Array(claim.utf8))
        return String(decoding: derived.prefix(8).map { Self.pickupCodeAlphabet[Int($0 & 31)] }, as: UTF8.self)
    }

    /// 32 letters and digits without 0, 1, I and O (a code is read aloud and typed); as bytes,
    /// since an array of Characters built per claim was most of this function's time.
    private static let pickupCodeAlphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ".utf8)

    /// The digest recorded for a claim's pickup code: HMAC-SHA-256 under the data directory's
    /// pickup key, so the ledger (which auditors read) does not let anyone guess short codes.
    public func pickupCodeDigest(claim: String, code: String) -> String {
        Hex.encode(Sodium.hmacSHA256(key: pickupKey, message: Array(claim.utf8) + [0] + Array(code.uppercased().utf8)))
    }

    /// A POS connection's webhook secret (FORMAT §7.15): derived from the data directory's key
    /// and the connection id, so it is never stored, never in the ledger, and the same after a
    /// restart. A leaked secret means a new connection.
    public func posSecret(connection: String) -> [UInt8] {
        Sodium.hmacSHA256(key: pickupKey, message: Array("pos-webhook-secret\u{0}".utf8) + Array(connection.utf8))
    }

    /// The 12 letters naming a till event's offers: keyed like the secret, over the connection and
    /// the event, so two tills never collide and nobody can name one in advance.
    public func posOfferStem(connection: String, vendorEvent: String) -> String {
        let mac = Sodium.hmacSHA256(key: pickupKey, message: Array("pos-offer-stem\u{0}\(connection)\u{0}\(vendorEvent)".utf8))
        return String(mac.prefix(12).map { Character(Unicode.Scalar(UInt8(ascii: "a") + $0 % 26)) })
    }

    /// What a dispute records for a piece of evidence the caller named: `hmac:` and the
    /// HMAC-SHA-256 of the caller's reference under the pickup key (with its own label). The
    /// ledger is public and forever, and anything a caller sends could hold personal data (a
    /// digest's 64 hex digits can spell a NIK); a keyed digest commits to the reference (the
    /// service can confirm one) without letting anyone read or guess it from the entry.
    public func evidenceDigest(_ reference: String) -> String {
        "hmac:" + Hex.encode(Sodium.hmacSHA256(key: pickupKey, message: Array("evidence\u{0}".utf8) + Array(reference.utf8)))
    }

    /// Checks a scan's signature against its device's registered key, outside the lock (a
    /// device's key never changes, so the world's later checks cannot disagree with this one).
    private func checkSignatures(_ command: RescueCommand) throws(CommandError) {
        let scan: DeviceBook.Scan
        switch command {
        case .registerDevice(let device):
            // The world checks the key's form; only libsodium can tell a point from a weak one.
            if let key = Base64.decode(device.publicKey), key.count == 32, !Ed25519.isValidPublicKey(key) {
                throw .rejected(.device(.publicKeyIsMalformed))
            }
            return
        case .attestScan(let attested): scan = attested
        case .post(let post) where post.scan != nil: scan = post.scan!
        default: return
        }
        guard let key = read({ $0.devices.devices[scan.device]?.publicKey }) else { throw .rejected(.device(.deviceNotFound)) }
        guard ScanDocument.verify(scan, publicKey: key) else { throw .rejected(.device(.scanSignatureIsInvalid)) }
    }

    /// Decides and queues `command`; or, for a key this actor already used, returns that
    /// command's record without calling `completion`.
    private func submit(
        _ command: RescueCommand, actor: String, idempotency key: Idempotency?,
        completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void
    ) throws(CommandError) -> IdempotencyRecord? {
        try state.withLock { (state) throws(CommandError) -> IdempotencyRecord? in
            if let failure = state.failure { throw .loopStopped(failure) }
            if let key, let earlier = state.idempotency.record(actor: actor, key: key.key) {
                guard earlier.idempotency.request == key.request else { throw .idempotencyKeyReused }
                guard earlier.firstSeq + earlier.entries <= ledger.size else { throw .idempotentRequestInProgress }
                return earlier
            }
            let now = max(clock(), state.lastTime)
            let events: [RescueEvent]
            switch state.world.decide(command, actor: actor, now: now, policy: policies.rescue) {
            case .success(let decided): events = decided
            case .failure(let rejection): throw .rejected(rejection)
            }
            try enqueueAndApply(events, actor: actor, now: now, idempotency: key, state: &state, completion: completion)
            return nil
        }
    }

    /// Writes events that need no deciding (the policy activation).
    private func executeAndWait(events: [RescueEvent], actor: String) throws(CommandError) -> [SignedEntry] {
        try wait { completion throws(CommandError) in
            try state.withLock { (state) throws(CommandError) in
                try enqueueAndApply(events, actor: actor, now: max(clock(), state.lastTime), state: &state, completion: completion)
            }
        }
    }

    /// Under the lock: queue the entries, then apply the events at the seqs they will get.
    private func enqueueAndApply(
        _ events: [RescueEvent], actor: String, now: Int64, idempotency key: Idempotency? = nil, state: inout State,
        completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void
    ) throws(CommandError) {
        if events.isEmpty {
            completion(.success([]))
            return
        }
        var drafts = events.map {
            EntryDraft(time: now, kind: $0.kind.rawValue, actor: $0.isWrittenBySystem ? Self.systemActor : actor, payload: EntryCodec.payload(of: $0), policy: policies.hash)
        }
        if let key { drafts[0].payload[IdempotencyRecord.member] = IdempotencyRecord.payloadValue(key, entries: drafts.count) }
        let first = state.nextSeq
        try enqueue(drafts, now: now, state: &state, completion: completion)
        for (offset, event) in events.enumerated() { state.world.apply(event, seq: first + UInt64(offset), time: now) }
        if let key {
            state.idempotency.insert(IdempotencyRecord(actor: actor, idempotency: key, firstSeq: first, entries: UInt64(drafts.count), time: now))
        }
    }

    /// Under the lock: queues the drafts (all stamped `now`) and advances the seq and time the
    /// next write continues from. A write that fails later stops the loop.
    private func enqueue(
        _ drafts: [EntryDraft], now: Int64, state: inout State, completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void
    ) throws(CommandError) {
        do throws(LedgerError) {
            try ledger.enqueue(drafts) { [weak self] result in
                if case .failure(let error) = result, error.code != .pushback { self?.stop(error) }
                completion(result)
            }
        } catch {
            throw .ledger(error)
        }
        state.nextSeq += UInt64(drafts.count)
        state.lastTime = now
    }

    /// A write the state already reflects failed: nothing more may be accepted until the ledger
    /// is reopened and replayed.
    private func stop(_ error: LedgerError) {
        state.withLock { state in
            if state.failure == nil { state.failure = error }
        }
    }

    private func wait(
        _ start: (@escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void) throws(CommandError) -> Void
    ) throws(CommandError) -> [SignedEntry] {
        let written = Handoff<Result<[SignedEntry], LedgerError>>()
        try start { written.fulfil($0) }
        return try written.wait().mapError(CommandError.ledger).get()
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
    /// This actor used the idempotency key for a different request.
    case idempotencyKeyReused
    /// The first request under this key is still being written; retry shortly.
    case idempotentRequestInProgress

    public var description: String {
        switch self {
        case .rejected(let rejection): "rejected: \(rejection.name)"
        case .ledger(let error): "ledger: \(error)"
        case .loopStopped(let error): "the command loop stopped after a failed write (\(error)); reopen the ledger"
        case .idempotencyKeyReused: "the idempotency key was used for a different request"
        case .idempotentRequestInProgress: "the first request under this idempotency key is still being written"
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
