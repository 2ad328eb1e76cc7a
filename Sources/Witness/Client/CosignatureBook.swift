import Ledger
import Synchronization

/// The cosignatures the log holds: those of recent checkpoints (what `/checkpoint` serves beside
/// our signature) and the newest checkpoint with a quorum, kept in a file so that offline proofs
/// can be made against it after a restart too.
public final class CosignatureBook: Sendable {
    /// Recent checkpoints remembered, by size (older ones have been superseded for serving).
    static let recentCountMax = 256

    private struct Recent {
        let root: Hash
        var note: SignedNote
        let firstSeen: Int64
    }

    private struct State {
        var recent: [UInt64: Recent] = [:]
        var witnessed: SignedNote?
        var witnessedSize: UInt64 = 0
        /// Per checkpoint that reached the quorum: µs from its publication to the quorum.
        var quorumLatencies: [Int64] = []
    }

    public let quorum: WitnessQuorum
    public let verifier: VerifierKey
    public let file: String
    private let state: Mutex<State>
    /// Checkpoints published before this (µs) are not timed: they waited for the client, not for witnesses.
    private let createdAt = Ledger.wallClockMicroseconds()

    /// Reads the newest witnessed checkpoint from `file`, if it still verifies and meets `quorum`.
    public init(quorum: WitnessQuorum, verifier: VerifierKey, file: String) throws(LedgerError) {
        self.quorum = quorum
        self.verifier = verifier
        self.file = file
        var initial = State()
        if FileIO.exists(file) {
            let text = String(decoding: try FileIO.readAll(file), as: UTF8.self)
            if let note = try? SignedNote.open(text, verifier: verifier), let checkpoint = try? Checkpoint(text: note.text),
                (try? quorum.check(note, now: UInt64(max(0, Ledger.wallClockMicroseconds() / 1_000_000)))) != nil
            {
                initial.witnessed = note
                initial.witnessedSize = checkpoint.size
            }
        }
        state = Mutex(initial)
    }

    /// Remembers when a checkpoint was first seen (for lag in seconds).
    func noteSeen(_ checkpoint: Checkpoint, note: String, publishedAt: Int64) {
        state.withLock { state in
            guard state.recent[checkpoint.size] == nil, let parsed = try? SignedNote(parsing: note) else { return }
            state.recent[checkpoint.size] = Recent(root: checkpoint.root, note: parsed, firstSeen: publishedAt > 0 ? publishedAt : Ledger.wallClockMicroseconds())
            if state.recent.count > Self.recentCountMax, let oldest = state.recent.keys.min() { state.recent[oldest] = nil }
        }
    }

    /// Adds verified cosignatures of `checkpoint` (whose note we signed is `note`); when the
    /// checkpoint reaches the quorum and is newer than the kept one, it becomes the kept one.
    func add(_ cosignatures: [SignedNote.Signature], to checkpoint: Checkpoint, note: String) {
        let witnessed: SignedNote? = state.withLock { state in
            guard var recent = state.recent[checkpoint.size] ?? (try? SignedNote(parsing: note)).map({
                Recent(root: checkpoint.root, note: $0, firstSeen: Ledger.wallClockMicroseconds())
            }), recent.root == checkpoint.root else { return nil }
            recent.note = recent.note.adding(cosignatures)
            state.recent[checkpoint.size] = recent
            if state.recent.count > Self.recentCountMax, let oldest = state.recent.keys.min() { state.recent[oldest] = nil }
            let now = UInt64(max(0, Ledger.wallClockMicroseconds() / 1_000_000))
            guard checkpoint.size >= state.witnessedSize, quorum.cosigners(of: recent.note, now: now).count >= max(1, quorum.quorum),
                recent.note != state.witnessed
            else { return nil }
            if checkpoint.size > state.witnessedSize || state.witnessed == nil, recent.firstSeen >= createdAt, state.quorumLatencies.count < 1_000_000 {
                state.quorumLatencies.append(Ledger.wallClockMicroseconds() - recent.firstSeen)
            }
            state.witnessed = recent.note
            state.witnessedSize = checkpoint.size
            return recent.note
        }
        // Outside the lock: a slow disk delays only the file, never a reader.
        if let witnessed { try? FileIO.writeAtomically(file, Array(witnessed.serialized.utf8)) }
    }

    /// Our note of `checkpoint` with every cosignature held for that exact checkpoint.
    public func cosigned(_ note: String, checkpoint: Checkpoint) -> String {
        state.withLock { state in
            guard let recent = state.recent[checkpoint.size], recent.root == checkpoint.root,
                let parsed = try? SignedNote(parsing: note)
            else { return note }
            return parsed.adding(recent.note.signatures).serialized
        }
    }

    /// The newest checkpoint carrying a quorum of cosignatures (nil until there is one).
    public var witnessed: (note: String, size: UInt64)? {
        state.withLock { state in state.witnessed.map { ($0.serialized, state.witnessedSize) } }
    }

    /// For each checkpoint that reached the quorum: µs from its publication to the quorum.
    public var quorumLatencies: [Int64] { state.withLock { $0.quorumLatencies } }

    /// When the first checkpoint larger than `size` was seen (µs), if it is still remembered.
    func firstSeen(after size: UInt64) -> Int64? {
        state.withLock { state in state.recent.filter { $0.key > size }.map(\.value.firstSeen).min() }
    }
}
