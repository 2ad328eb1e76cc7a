import Ledger
import Synchronization

/// The cosignatures the log holds: those of recent checkpoints (what `/checkpoint` serves beside
/// our signature), the newest checkpoint with a quorum (kept in a file so that offline proofs
/// can be made against it after a restart too), and every checkpoint's cosigned note once it is
/// settled (the cosigned history: witnesses keep only their latest checkpoint, so cosignatures
/// of older ones exist only here).
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

        /// Keeps `recent` for `size`, forgetting the oldest beyond `recentCountMax`.
        mutating func remember(_ size: UInt64, _ recent: Recent) {
            self.recent[size] = recent
            if self.recent.count > CosignatureBook.recentCountMax, let oldest = self.recent.keys.min() { self.recent[oldest] = nil }
        }
    }

    public let quorum: WitnessQuorum
    public let file: String
    /// Cosigned notes by size, appended once a checkpoint is settled (a newer one reached the
    /// quorum, or the client stopped).
    public let history: CheckpointHistory?
    private let state: Mutex<State>
    /// Checkpoints published before this (µs) are not timed: they waited for the client, not for witnesses.
    private let createdAt = Ledger.wallClockMicroseconds()

    /// Reads the newest witnessed checkpoint from `file`, if it still verifies (with the key
    /// `keys` name for its size) and meets `quorum`.
    public init(quorum: WitnessQuorum, keys: KeyChain, file: String, historyFile: String? = nil) throws(LedgerError) {
        self.quorum = quorum
        self.file = file
        history = try historyFile.map { (path) throws(LedgerError) in
            try CheckpointHistory(path: path, writable: true, slotByteCount: CheckpointHistory.cosignedSlotByteCount)
        }
        var initial = State()
        if FileIO.exists(file) {
            let text = String(decoding: try FileIO.readAll(file), as: UTF8.self)
            if let stated = try? Checkpoint(text: SignedNote(parsing: text).text),
                let note = try? SignedNote.open(text, verifier: keys.key(forSeq: stated.size)), let checkpoint = try? Checkpoint(text: note.text),
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
            state.remember(checkpoint.size, Recent(root: checkpoint.root, note: parsed, firstSeen: publishedAt > 0 ? publishedAt : Ledger.wallClockMicroseconds()))
        }
    }

    /// Adds verified cosignatures of `checkpoint` (whose note we signed is `note`); when the
    /// checkpoint reaches the quorum and is newer than the kept one, it becomes the kept one.
    func add(_ cosignatures: [SignedNote.Signature], to checkpoint: Checkpoint, note: String) {
        var settled: [(UInt64, SignedNote)] = []
        let witnessed: SignedNote? = state.withLock { state in
            guard var recent = state.recent[checkpoint.size] ?? (try? SignedNote(parsing: note)).map({
                Recent(root: checkpoint.root, note: $0, firstSeen: Ledger.wallClockMicroseconds())
            }), recent.root == checkpoint.root else { return nil }
            recent.note = recent.note.adding(cosignatures)
            state.remember(checkpoint.size, recent)
            let now = UInt64(max(0, Ledger.wallClockMicroseconds() / 1_000_000))
            guard checkpoint.size >= state.witnessedSize, quorum.cosigners(of: recent.note, now: now).count >= max(1, quorum.quorum),
                recent.note != state.witnessed
            else { return nil }
            if checkpoint.size > state.witnessedSize || state.witnessed == nil, recent.firstSeen >= createdAt, state.quorumLatencies.count < 1_000_000 {
                state.quorumLatencies.append(Ledger.wallClockMicroseconds() - recent.firstSeen)
            }
            state.witnessed = recent.note
            state.witnessedSize = checkpoint.size
            // Older checkpoints get no more cosignatures: the client submits only the latest.
            settled = Self.cosignedRecent(state, below: checkpoint.size)
            return recent.note
        }
        // Outside the lock: a slow disk delays only the files, never a reader.
        if let witnessed { try? FileIO.writeAtomically(file, Array(witnessed.serialized.utf8)) }
        keep(settled)
    }

    /// Appends every remembered checkpoint with a cosignature to the cosigned history (the
    /// client stops; what it collected must outlive the process).
    public func settleAll() {
        keep(state.withLock { Self.cosignedRecent($0, below: UInt64.max) })
    }

    /// Remembered checkpoints below `size` that carry at least one cosignature, by size.
    private static func cosignedRecent(_ state: State, below size: UInt64) -> [(UInt64, SignedNote)] {
        state.recent.filter { $0.key < size && $0.value.note.signatures.count > 1 }.map { ($0.key, $0.value.note) }.sorted { $0.0 < $1.0 }
    }

    /// Appends `notes` (increasing sizes) to the cosigned history; a note too large for a slot
    /// keeps as many cosignatures as fit.
    private func keep(_ notes: [(UInt64, SignedNote)]) {
        guard let history else { return }
        for (size, note) in notes where size > history.lastSize ?? 0 || history.count == 0 {
            var kept = note
            while kept.serialized.utf8.count > history.slotByteCount - 14, kept.signatures.count > 1 {
                kept = SignedNote(text: kept.text, signatures: Array(kept.signatures.dropLast()))
            }
            try? history.append(size: size, note: kept.serialized)
        }
    }

    /// Our note of `checkpoint` with every cosignature held for that exact checkpoint.
    public func cosigned(_ note: String, checkpoint: Checkpoint) -> String {
        let remembered: SignedNote? = state.withLock { state in
            guard let recent = state.recent[checkpoint.size], recent.root == checkpoint.root else { return nil }
            return recent.note
        }
        guard let parsed = try? SignedNote(parsing: note) else { return note }
        if let remembered { return parsed.adding(remembered.signatures).serialized }
        // Settled long ago: from the cosigned history.
        guard let history, let kept = try? Self.addingKept(to: parsed, size: checkpoint.size, from: history) else { return note }
        return kept.serialized
    }

    /// `note` with the cosignatures `history` keeps for this very checkpoint (the same text at
    /// `size`); `note` itself when it keeps none.
    /// - Throws: the history's error for a slot it cannot read, or `badNote` for one that does not parse.
    public static func addingKept(to note: SignedNote, size: UInt64, from history: CheckpointHistory) throws(LedgerError) -> SignedNote {
        guard let kept = try history.note(size: size) else { return note }
        let keptNote = try SignedNote(parsing: kept)
        return keptNote.text == note.text ? note.adding(keptNote.signatures) : note
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
