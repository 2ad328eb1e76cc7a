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
    /// Runs on the storage queue just before each batch's data `fdatasync` (tests hold a sync
    /// open with it, to see what waits for the disk and what does not).
    var beforeDataSync: (@Sendable () -> Void)?

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
    /// The log's initial key, from which every later key follows (FORMAT §10.7).
    public let verifier: VerifierKey
    public let options: LedgerOptions
    /// Whether this ledger was opened with its signing key.
    let writable: Bool

    // Guarded by `stateLock`: storage, tiles and what readers see.
    let stateLock = NSLock()
    let store: SegmentStore
    let tiles: TileStore
    /// Every checkpoint signed, by size (appended by the checkpointer; thread-safe itself).
    let history: CheckpointHistory
    var publishedSize: UInt64
    var checkpointState: (note: String, checkpoint: Checkpoint)?
    /// The keys the log has signed with, as far as durable (a rotation joins it with its entry).
    var keyChain: KeyChain
    /// The keys this process signs with, the current one last (empty when read-only).
    var signingKeys: [SigningKey]
    /// The current signing key, apart from `stateLock`: callers read it for every append, and
    /// must not wait while the writer holds the state lock.
    let currentSigningKey: Locked<SigningKey?>
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
        directory: DataDirectory, signer: SigningKey?, verifier: VerifierKey? = nil, keys known: KeyChain? = nil,
        options: LedgerOptions = LedgerOptions()
    ) throws(LedgerError) {
        guard let given = verifier ?? signer?.verifier else {
            preconditionFailure("a ledger needs a signing key or a verifier key")
        }
        // After a rotation the keys file names every key; its first is the initial key, which a
        // caller-given verifier (the key an auditor trusts) must be. Its links are checked against
        // the log's rotation entries below, once the log is open.
        // A chain the caller followed through the log itself (`pahlawan verify`) is checked
        // against the log like the keys file would be, and needs no keys file.
        let keyLinks: [(firstSeq: UInt64, key: VerifierKey)]?
        if let known {
            keyLinks = known.links.map { ($0.firstSeq, $0.key) }
        } else {
            keyLinks = try directory.readKeyChainLinks()
        }
        if keyLinks == nil, verifier == nil, let signer, FileIO.exists(directory.verifierKeyFile),
            try directory.loadVerifierKey() != signer.verifier
        {
            // signing.key is not the initial key, so the log has rotated; without the keys file
            // the chain from verifier.key cannot be found cheaply. Never guess.
            throw LedgerError(
                .badKey, "signing.key is not the key in verifier.key, and the keys file that names the keys in between is missing",
                file: directory.keysFile)
        }
        let initial = keyLinks?[0].key ?? given
        if let verifier, verifier != initial {
            throw LedgerError(
                .wrongKey, "the log's initial key is \(initial.id), not the key \(verifier.id) it was opened with", file: directory.keysFile)
        }
        self.directory = directory
        self.verifier = initial
        self.options = options
        let writable = signer != nil
        self.writable = writable
        var stored: (String, Checkpoint)? = nil
        if let note = try directory.readCheckpointNote() {
            do {
                let size = try Checkpoint(text: try SignedNote(parsing: note).text).size
                let key = keyLinks?.last { $0.firstSeq <= size }?.key ?? initial
                stored = (note, try Checkpoint.open(note, verifier: key))
            } catch {
                let hint = keyLinks == nil
                    ? " (if the log has rotated its key, \(directory.keysFile), which names its keys, is missing)"
                    : " (the key for its size is taken from \(directory.keysFile), which may be out of date)"
                throw LedgerError(error.code, error.reason + hint, file: directory.checkpointFile)
            }
        }
        let trusted = stored?.1.size ?? 0
        keyChain = KeyChain(initial: initial)
        signingKeys = signer.map { [$0] } ?? []
        currentSigningKey = Locked(signer)
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
        try followRotations(keyLinks ?? [], below: trusted)
        if writable {
            try recoverTail(keyLinks: keyLinks ?? [])
            try settleSigningKey()
            startWriter()
            // A ledger always has a signed checkpoint once opened for writing (size 0 for a new one),
            // so it verifies from the start, and after recovery the tail is covered at once.
            if publishedSize > trusted || checkpointState == nil { _ = try checkpoint() }
        }
    }

    /// Follows the keys file's rotations that the checkpoint covers, each checked against its
    /// entry in the log (signed by the key before it): a few record reads, not a scan.
    private func followRotations(_ links: [(firstSeq: UInt64, key: VerifierKey)], below trusted: UInt64) throws(LedgerError) {
        for link in links.dropFirst() where link.firstSeq <= trusted {
            let seq = link.firstSeq - 1
            let record = try store.record(seq)
            let entry = try Self.decodeStored(seq: seq, signature: record.signature[...], body: record.body[...])
            do {
                try keyChain.follow(entry)
            } catch {
                throw LedgerError(error.code, "the keys file names a rotation here: \(error.reason)", seq: seq, file: directory.keysFile)
            }
            guard keyChain.current == link.key else {
                throw LedgerError(
                    .badKey, "the keys file says key \(link.key.id) signs from seq \(link.firstSeq), the log's rotation names \(keyChain.current.id)",
                    seq: seq, file: directory.keysFile)
            }
        }
    }

    /// Re-reads every record after the checkpoint: checksums, chain, key and (on every core)
    /// signatures, rewriting their index entries and hash tiles. Follows the rotations it meets,
    /// and makes the keys file say exactly what the log says (a rotation whose entry never
    /// became durable is dropped from it).
    private func recoverTail(keyLinks: [(firstSeq: UInt64, key: VerifierKey)]) throws(LedgerError) {
        var signatures = SignatureBatch()
        var chain = ChainCursor(nextSeq: publishedSize, lastLeaf: lastLeaf, lastTime: lastTime, key: keyChain.current.id)
        do throws(LedgerError) {
            try store.recoverTail { (seq, signature, body) throws(LedgerError) in
                assert(seq == chain.nextSeq, "the store resumes reading at the checkpoint's size")
                let leaf = MerkleHash.leaf(body)
                let isKeyRotation = try body.withRawBytes { (raw) throws(LedgerError) -> Bool in
                    guard let tail = BodyLayout.readTail(raw), let head = BodyLayout.readHead(raw) else {
                        throw LedgerError(.badEntry, "stored body does not have the canonical layout", seq: seq)
                    }
                    try chain.advance(over: ChainCursor.Link(tail, key: head.key), leaf: leaf)
                    return head.isKeyRotation
                }
                if isKeyRotation {
                    try signatures.flush()
                    try keyChain.follow(try Self.decodeStored(seq: seq, signature: signature[...], body: body[...]))
                    chain.rotateKey(to: keyChain.current.id)
                } else {
                    try signatures.add(seq: seq, leaf: leaf, signature: Array(signature), key: keyChain.current)
                }
                try tiles.append(leaf)
            }
            try signatures.flush()
        } catch {
            throw LedgerError(error.code, "recovering after the checkpoint: " + error.reason, seq: error.seq, file: error.file)
        }
        lastLeaf = chain.lastLeaf
        lastTime = chain.lastTime
        publishedSize = store.count
        let written = keyLinks.map { "\($0.firstSeq) \($0.key.text)" }
        let actual = keyChain.links.map { "\($0.firstSeq) \($0.key.text)" }
        if written != actual, !(written.isEmpty && actual.count == 1) { try directory.writeKeyChain(keyChain) }
    }

    /// Makes the signing key the log's current key. A rotation writes the incoming key to
    /// `signing.key.next` before its entry, and renames it over `signing.key` once the entry is
    /// durable; a crash in between is finished here (or, when the entry never became durable,
    /// the stale incoming key is removed).
    private func settleSigningKey() throws(LedgerError) {
        let current = keyChain.current
        let next = try directory.loadNextSigningKey()
        if signingKeys.last?.verifier == current {
            if next != nil { try FileIO.remove(directory.nextSigningKeyFile) }
            return
        }
        guard let next, next.verifier == current else {
            throw LedgerError(
                .wrongKey,
                "the signing key is \(signingKeys.last?.verifier.id.hex ?? "?"), but the log's current key is \(current.id) (rotated at seq \(keyChain.links[keyChain.links.count - 1].firstSeq - 1)); put that key's signing key in signing.key",
                file: directory.signingKeyFile)
        }
        try FileIO.replace(directory.signingKeyFile, with: directory.nextSigningKeyFile)
        signingKeys.append(next)
        currentSigningKey.withLock { $0 = next }
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

    /// Folds the proof summaries of the full leaf tiles, newest first, until their cache is
    /// full: otherwise each of the first reads of a tile after a start folds all its 256 leaves
    /// (most of an entry read's time until every tile has been read once). One tile per hold of
    /// the state lock, so appends and reads go on meanwhile.
    public func warmProofs() throws(LedgerError) {
        var index = stateLock.withLock { publishedSize } / UInt64(TileStore.width)
        while index > 0 {
            index -= 1
            let room = try stateLock.locked { () throws(LedgerError) in try tiles.warmLeafTile(index) }
            if !room { break }
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
