import Dispatch
import Foundation

/// How a writable ledger batches, bounds and checkpoints.
public struct LedgerOptions: Sendable {
    /// A checkpoint is signed at least this often while entries arrive (and when the ledger closes).
    public var checkpointIntervalMicroseconds: Int64 = 1_000_000
    /// Appends waiting beyond this many entries are refused with `pushback` instead of queued.
    public var queueEntriesMax = 65_536
    /// The most entries one durable write (one `fdatasync`) carries.
    public var batchEntriesMax = 16_384
    /// A segment file is closed and the next one started once it would grow past this size.
    public var segmentBytesMax: UInt64 = 64 << 20
    /// Stamps drafts that carry no time: microseconds since the Unix epoch.
    public var clock: @Sendable () -> Int64 = LedgerEngine.wallClockMicroseconds

    public init() {}
}

/// Counters since open: how the writer has batched.
public struct LedgerStatistics: Sendable {
    /// Durable writes (one `fdatasync` each).
    public var batches = 0
    public var entries = 0
    public var checkpoints = 0
}

/// Everything behind `Ledger`: storage, tiles, the writer pipeline. The writer thread holds it
/// strongly until `close()`, which the `Ledger` facade calls from its deinit, so the engine is
/// never torn down under a running writer.
///
/// The one type whose locking the compiler does not check: its writer is a three-stage pipeline
/// (signing, durable writes, checkpoints) whose queue needs a condition variable, which `Mutex`
/// does not offer, and its storage state is read by every reader and written by two stages under
/// one lock (`stateLock`), each guarded field marked below. Everything else in the service holds
/// shared state in a `Mutex` (or `Locked`, when closures share it).
final class LedgerEngine: @unchecked Sendable {
    public let directory: DataDirectory
    public let verifier: VerifierKey
    public let options: LedgerOptions
    let signer: SigningKey?

    // Guarded by `stateLock`: storage, tiles and what readers see.
    let stateLock = NSLock()
    let store: SegmentStore
    let tiles: TileStore
    /// Every checkpoint signed, by size (appended by the checkpointer; thread-safe itself).
    let history: CheckpointHistory
    var publishedSize: UInt64
    var checkpointState: (note: String, checkpoint: Checkpoint)?
    /// Wall-clock time (µs) at which `checkpointState` was published or loaded.
    var checkpointPublishedAt: Int64 = 0

    // Written by the writer thread under `stateLock`.
    var lastLeaf: Hash
    var lastTime: Int64

    // Guarded by `queueCondition`.
    let queueCondition = NSCondition()
    var queue: [Request] = []
    var queueHead = 0
    var queuedEntries = 0
    var isClosing = false
    var skipFinalCheckpoint = false
    var stopReason: LedgerError?
    let writerFinished = DispatchSemaphore(value: 0)
    /// Stage two of the writer: durable writes, publishing, acknowledgements, checkpoints.
    let storage = DispatchQueue(label: "ledger-storage", qos: .userInitiated)
    let storageSlot = DispatchSemaphore(value: 4)
    /// Stage three: syncing index and tile files and signing checkpoints, off the append path.
    let checkpointer = DispatchQueue(label: "ledger-checkpoints", qos: .userInitiated)
    /// The newest checkpoint handed to the checkpointer (published as `checkpointState` once stored).
    var preparedCheckpoint: Checkpoint?
    /// Signed batches handed from stage one to stage two.
    let signedLock = NSLock()
    var signedBatches: [SignedBatch] = []
    var writerStarted = false
    private var isClosed = false
    private let writerLock: File?

    /// The number of entries (the next seq) that are durable and readable.
    public var size: UInt64 { stateLock.withLock { publishedSize } }
    var statistics: LedgerStatistics { stateLock.withLock { counters } }
    var counters = LedgerStatistics()

    /// The time of the newest entry (microseconds since the Unix epoch), 0 when empty.
    public var lastEntryTime: Int64 { stateLock.withLock { lastTime } }
    /// The origin line of checkpoints, which is also the key's name.
    public var origin: String { verifier.name }
    /// The latest signed checkpoint (note text) and its parsed form.
    public var latestCheckpoint: (note: String, checkpoint: Checkpoint)? { stateLock.withLock { checkpointState } }
    /// When this process published (or, on open, loaded) the latest checkpoint: µs since the
    /// Unix epoch, 0 when there is none.
    public var latestCheckpointPublishedAt: Int64 { stateLock.withLock { checkpointPublishedAt } }

    /// Opens the ledger in `directory`, creating it when empty. With a `signer` it can append;
    /// without one it is read-only and checked against `verifier`.
    ///
    /// What the latest signed checkpoint covers is trusted as stored after cheap checks: the
    /// stored hash tiles must reproduce its root, and the index must point at the intact last
    /// record. Everything after it is re-read (checksums, chain, signatures on every core) and
    /// re-indexed; a torn tail is truncated, any other damage stops the open.
    public init(
        directory: DataDirectory, signer: SigningKey?, verifier: VerifierKey? = nil, options: LedgerOptions = LedgerOptions()
    ) throws(LedgerError) {
        guard let key = signer?.verifier ?? verifier else {
            preconditionFailure("a ledger needs a signing key or a verifier key")
        }
        self.directory = directory
        self.signer = signer
        self.verifier = key
        self.options = options
        var stored: (String, Checkpoint)? = nil
        if let note = try directory.readCheckpointNote() {
            do {
                stored = (note, try Checkpoint.open(note, verifier: key))
            } catch {
                throw LedgerError(error.code, error.reason, file: directory.checkpointFile)
            }
        }
        let trusted = stored?.1.size ?? 0
        let writable = signer != nil
        if writable {
            try FileIO.makeDirectories(directory.path)
            writerLock = try FileIO.lockExclusively(directory.lockFile)
        } else {
            writerLock = nil
        }
        store = try SegmentStore.open(directory: directory.logDirectory, trusted: trusted, writable: writable)
        store.segmentBytesMax = options.segmentBytesMax
        var lastLeaves = [Hash]()
        for seq in (trusted - trusted % UInt64(TileStore.width))..<trusted {
            lastLeaves.append(MerkleHash.leaf(try store.record(seq).body))
        }
        tiles = try TileStore(directory: directory.tileDirectory, size: trusted, lastLeaves: lastLeaves, writable: writable)
        history = try CheckpointHistory(path: directory.checkpointHistoryFile, writable: writable)
        lastLeaf = .zero
        lastTime = 0
        if let (note, stored) = stored {
            guard try tiles.rootHash(size: trusted) == stored.root else {
                throw LedgerError(
                    .checkpointMismatch, "the stored hash tiles do not reproduce the checkpoint's root at size \(trusted)",
                    file: directory.checkpointFile)
            }
            if trusted > 0 {
                let last = try store.record(trusted - 1)
                lastLeaf = MerkleHash.leaf(last.body)
                let tiledLeaf = try tiles.leafHash(trusted - 1)
                guard lastLeaf == tiledLeaf,
                    let tail = last.body.withUnsafeBytes({ BodyLayout.readTail($0) }), tail.seq == trusted - 1
                else {
                    throw LedgerError(
                        .damagedIndex, "the index and the hash tiles disagree about the last checkpointed entry",
                        seq: trusted - 1, file: directory.logDirectory)
                }
                lastTime = tail.time
            }
            checkpointState = (note, stored)
            checkpointPublishedAt = Ledger.wallClockMicroseconds()
            preparedCheckpoint = stored
            // A directory from before the history (or one whose slot was torn) starts it here.
            if writable { try history.append(size: stored.size, note: note) }
        }
        publishedSize = trusted
        if writable {
            try recoverTail()
            startWriter()
            // A ledger always has a signed checkpoint once opened for writing (size 0 for a new one),
            // so it verifies from the start, and after recovery the tail is covered at once.
            if publishedSize > trusted || checkpointState == nil { _ = try checkpoint() }
        }
    }

    /// Re-reads every record after the checkpoint: checksums, chain, key and (on every core)
    /// signatures, rewriting their index entries and hash tiles.
    private func recoverTail() throws(LedgerError) {
        var signatures = SignatureBatch(key: verifier)
        var chain = ChainCursor(nextSeq: publishedSize, lastLeaf: lastLeaf, lastTime: lastTime, key: verifier.id)
        do throws(LedgerError) {
            try store.recoverTail { (seq, signature, body) throws(LedgerError) in
                assert(seq == chain.nextSeq, "the store resumes reading at the checkpoint's size")
                let leaf = MerkleHash.leaf(body)
                try body.withRawBytes { (raw) throws(LedgerError) in
                    guard let tail = BodyLayout.readTail(raw), let key = BodyLayout.readKey(raw) else {
                        throw LedgerError(.badEntry, "stored body does not have the canonical layout", seq: seq)
                    }
                    try chain.advance(over: ChainCursor.Link(tail, key: key), leaf: leaf)
                }
                try signatures.add(seq: seq, leaf: leaf, signature: Array(signature))
                try tiles.append(leaf)
            }
            try signatures.flush()
        } catch {
            throw LedgerError(error.code, "recovering after the checkpoint: " + error.reason, seq: error.seq, file: error.file)
        }
        lastLeaf = chain.lastLeaf
        lastTime = chain.lastTime
        publishedSize = store.count
    }

    /// Stops accepting appends, writes everything queued, signs a final checkpoint and closes the
    /// files. Safe to call more than once.
    public func close() { shutDown(finalCheckpoint: true) }

    /// Stops the writer and closes the files without a final checkpoint, leaving the directory as
    /// a crash right after the last acknowledged append would (for recovery tests).
    func abandon() { shutDown(finalCheckpoint: false) }

    private func shutDown(finalCheckpoint: Bool) {
        queueCondition.lock()
        skipFinalCheckpoint = !finalCheckpoint
        let wasClosed = isClosed
        isClosed = true
        isClosing = true
        queueCondition.broadcast()
        queueCondition.unlock()
        guard !wasClosed else { return }
        if writerStarted { writerFinished.wait() }
        stateLock.withLock {
            store.close()
            tiles.close()
        }
        history.close()
        writerLock?.close()
    }

    // MARK: Reading

    /// The entry at `seq`, read from disk, checksum-checked and decoded strictly.
    public func entry(_ seq: UInt64) throws(LedgerError) -> SignedEntry {
        let record = try publishedRecord(seq)
        return try Self.decodeStored(seq: seq, signature: record.signature[...], body: record.body[...])
    }

    /// The stored record of a published seq, read under the state lock.
    private func publishedRecord(_ seq: UInt64) throws(LedgerError) -> (signature: [UInt8], body: [UInt8]) {
        try stateLock.locked { () throws(LedgerError) in
            guard seq < publishedSize else {
                throw LedgerError(.notFound, "no entry with this seq (the log has \(publishedSize))", seq: seq)
            }
            return try store.record(seq)
        }
    }

    /// The stored bytes of `seq` (body, signature) and the body's leaf hash, without decoding
    /// the body: for serving entries as they are (the record's checksum is still checked).
    public func storedEntry(_ seq: UInt64) throws(LedgerError) -> (body: [UInt8], signature: [UInt8], leafHash: Hash) {
        let record = try publishedRecord(seq)
        return (record.body, record.signature, MerkleHash.leaf(record.body))
    }

    /// Calls `visit` with every entry in `from..<to` in order, read sequentially. Reads the
    /// published log only; entries appended meanwhile are not visited.
    public func forEachEntry(from: UInt64, to: UInt64, _ visit: (SignedEntry) throws(LedgerError) -> Void) throws(LedgerError) {
        try forEachRecordSlice(from: from, to: to, sliceCount: 4_096) { (records) throws(LedgerError) in
            for (seq, signature, body) in records { try visit(try Self.decodeStored(seq: seq, signature: signature, body: body)) }
        }
    }

    /// Calls `visit` with the exact body bytes of the entries in `from..<to`, in order, a slice
    /// of up to `sliceCount` at a time (read sequentially; checksums checked, nothing decoded):
    /// for projections that decode bodies their own way, on as many cores as they like.
    public func forEachBodySlice(
        from: UInt64, to: UInt64, sliceCount: Int = 8_192, _ visit: ([(seq: UInt64, bytes: [UInt8])]) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        try forEachRecordSlice(from: from, to: to, sliceCount: sliceCount) { (records) throws(LedgerError) in
            try visit(records.map { (seq: $0.seq, bytes: Array($0.body)) })
        }
    }

    /// Like `forEachBodySlice`, with each entry's stored signature.
    public func forEachSignedBodySlice(
        from: UInt64, to: UInt64, sliceCount: Int = 8_192,
        _ visit: ([(seq: UInt64, signature: [UInt8], bytes: [UInt8])]) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        try forEachRecordSlice(from: from, to: to, sliceCount: sliceCount) { (records) throws(LedgerError) in
            try visit(records.map { (seq: $0.seq, signature: Array($0.signature), bytes: Array($0.body)) })
        }
    }

    /// The stored records of `from..<to` (published entries only), a slice at a time. The
    /// store's readers are shared, so each slice is read under the state lock and handed on
    /// outside it: a long range must not stall the writer.
    private func forEachRecordSlice(
        from: UInt64, to: UInt64, sliceCount: Int,
        _ visit: ([(seq: UInt64, signature: ArraySlice<UInt8>, body: ArraySlice<UInt8>)]) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        let end = min(to, size)
        var start = from
        while start < end {
            let sliceEnd = min(end, start + UInt64(max(1, sliceCount)))
            var records = [(seq: UInt64, signature: ArraySlice<UInt8>, body: ArraySlice<UInt8>)]()
            records.reserveCapacity(Int(sliceEnd - start))
            try stateLock.locked { () throws(LedgerError) in
                try store.forEachRecord(from: start, to: sliceEnd) { (seq, signature, body) throws(LedgerError) in records.append((seq, signature, body)) }
            }
            try visit(records)
            start = sliceEnd
        }
    }

    static func decodeStored(seq: UInt64, signature: ArraySlice<UInt8>, body: ArraySlice<UInt8>) throws(LedgerError) -> SignedEntry {
        let bytes = Array(body)
        let decoded: EntryBody
        do {
            decoded = try EntryBody.decode(bytes)
        } catch {
            throw LedgerError(error.code, "stored body: \(error.reason)", seq: seq)
        }
        guard decoded.seq == seq else { throw LedgerError(.wrongSeq, "the stored body says seq \(decoded.seq)", seq: seq) }
        return SignedEntry(body: decoded, bodyBytes: bytes, leafHash: MerkleHash.leaf(bytes), signature: Array(signature))
    }

    /// The leaf hash of `seq`, from the stored tiles.
    public func leafHash(_ seq: UInt64) throws(LedgerError) -> Hash {
        try withTree(size: seq + 1) { (tiles) throws(LedgerError) in try tiles.leafHash(seq) }
    }

    /// The Merkle root of the first `size` entries.
    public func root(size treeSize: UInt64) throws(LedgerError) -> Hash {
        try withTree(size: treeSize) { (tiles) throws(LedgerError) in try tiles.rootHash(size: treeSize) }
    }

    public func inclusionProof(seq: UInt64, size treeSize: UInt64) throws(LedgerError) -> [Hash] {
        guard seq < treeSize else { throw LedgerError(.badRange, "need seq < tree size; got seq \(seq), size \(treeSize)") }
        return try withTree(size: treeSize) { (tiles) throws(LedgerError) in
            try tiles.buildInclusionProof(index: seq, size: treeSize)
        }
    }

    public func consistencyProof(from size1: UInt64, to size2: UInt64) throws(LedgerError) -> [Hash] {
        guard size1 <= size2 else { throw LedgerError(.badRange, "need from ≤ to; got from \(size1), to \(size2)") }
        return try withTree(size: size2) { (tiles) throws(LedgerError) in
            try tiles.buildConsistencyProof(size1: size1, size2: size2)
        }
    }

    /// The hashes of a C2SP tlog-tiles hash tile (`width` < 256 for the partial right edge), or
    /// nil when the log has no such tile.
    public func tile(level: Int, index: UInt64, width: Int) throws(LedgerError) -> [Hash]? {
        try stateLock.locked { () throws(LedgerError) in try tiles.tile(level: level, index: index, width: width) }
    }

    private func withTree<T>(size treeSize: UInt64, _ body: (TileStore) throws(LedgerError) -> T) throws(LedgerError) -> T {
        try stateLock.locked { () throws(LedgerError) in
            guard treeSize <= publishedSize else {
                throw LedgerError(.badRange, "tree size \(treeSize) exceeds the log's \(publishedSize)")
            }
            return try body(tiles)
        }
    }

    /// Microseconds since the Unix epoch from the system's real-time clock.
    public static func wallClockMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }

    static func monotonicMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }
}

extension ContiguousBytes {
    /// `withUnsafeBytes` for closures with typed throws.
    func withRawBytes<T>(_ body: (UnsafeRawBufferPointer) throws(LedgerError) -> T) throws(LedgerError) -> T {
        let result: Result<T, LedgerError> = withUnsafeBytes { raw in Result { () throws(LedgerError) in try body(raw) } }
        return try result.get()
    }
}

extension NSLocking {
    /// Runs `body` holding the lock, passing typed errors through.
    func locked<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
