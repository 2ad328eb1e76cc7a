/// The append-only, hash-chained, signed ledger over one data directory.
///
/// Many callers may append concurrently (it is `Sendable`): a writer pipeline batches what they
/// submit, signs each batch on every core, writes it with one `fdatasync`, and only then answers
/// each caller (group commit). Reads and proofs may run at the same time. Opened without a
/// signing key, the ledger is read-only and shows exactly what the latest checkpoint covers.
/// One process writes a data directory at a time (an exclusive lock on `<data dir>/lock`).
public final class Ledger: Sendable {
    let engine: LedgerEngine

    /// Opens the ledger in `directory`, creating it when empty. With a `signer` it can append;
    /// without one it is read-only and checked against `verifier`. `keys`, a chain followed
    /// from the log itself (as `LedgerVerifier` does), stands in for the keys file (§10.7). See
    /// `ledger/FORMAT.md` for what open checks and what it recovers.
    ///
    /// - Throws: `LedgerError` with `locked` when another writer holds the directory; `badNote`,
    ///   `badCheckpoint` or `badSignature` for a stored checkpoint that does not open under the key;
    ///   `checkpointMismatch`, `damagedIndex`, `damagedTile`, `damagedRecord` or `missingSegment`
    ///   when the stored log disagrees with it; `wrongSeq`, `wrongPrev`, `timeGoesBackwards`,
    ///   `wrongKey`, `badEntry` or `badSignature` for an entry after the checkpoint that breaks the
    ///   chain or its signature (with its `seq`); `storageFailure` when the file system fails.
    public init(
        directory: DataDirectory, signer: SigningKey?, verifier: VerifierKey? = nil, keys: KeyChain? = nil,
        options: LedgerOptions = LedgerOptions()
    ) throws(LedgerError) {
        engine = try LedgerEngine(directory: directory, signer: signer, verifier: verifier, keys: keys, options: options)
    }

    deinit { engine.close() }

    public var directory: DataDirectory { engine.directory }
    /// The log's initial key: the one an auditor trusts, from which later keys follow (FORMAT §10.7).
    public var verifier: VerifierKey { engine.verifier }
    /// Every key the log has signed with, in order; the last signs now.
    public var keys: KeyChain { engine.keys }
    public var options: LedgerOptions { engine.options }
    /// The number of entries (the next seq) that are durable and readable.
    public var size: UInt64 { engine.size }
    /// The origin line of checkpoints, which is also the key's name.
    public var origin: String { engine.origin }
    /// The latest signed checkpoint (note text) and its parsed form.
    public var latestCheckpoint: (note: String, checkpoint: Checkpoint)? { engine.latestCheckpoint }
    /// When this process published (or on open loaded) the latest checkpoint, µs since the Unix epoch; 0 when none.
    public var latestCheckpointPublishedAt: Int64 { engine.latestCheckpointPublishedAt }
    /// The time of the newest entry (microseconds since the Unix epoch), 0 when empty.
    public var lastEntryTime: Int64 { engine.lastEntryTime }
    /// What the writer has done since the ledger was opened.
    public var statistics: LedgerStatistics { engine.statistics }

    /// Signs a statement about the log (an impact certificate, say) as a C2SP signed note under
    /// the log's key. Its first line must not be the origin, so no statement can ever be read
    /// as one of the log's checkpoints.
    public func signStatement(_ text: String) throws(LedgerError) -> String {
        guard let signer = engine.currentSigner else { throw LedgerError(.readOnly, "a read-only ledger cannot sign") }
        return try Self.signStatement(text, with: signer)
    }

    /// Signs a statement with the log's key `signer` (see `signStatement(_:)`), without opening
    /// the ledger (a running service holds its lock).
    public static func signStatement(_ text: String, with signer: SigningKey) throws(LedgerError) -> String {
        guard text.hasSuffix("\n"), text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) != signer.verifier.name else {
            throw LedgerError(.badNote, "a statement ends with a newline and does not start with the log's origin")
        }
        return try SignedNote.sign(text: text, with: signer).serialized
    }

    /// Appends the drafts as consecutive entries, returning once they are durable.
    ///
    /// - Throws: `LedgerError` with `pushback` at once when the queue is full (retry later);
    ///   `readOnly` without a signing key; `badEntry` or `bodyTooLarge` for an invalid draft, and
    ///   `timeGoesBackwards` for a draft time earlier than the previous entry's (nothing of the
    ///   call is written); `closed` or `storageFailure` once the ledger has stopped.
    @discardableResult
    public func append(_ drafts: [EntryDraft]) async throws(LedgerError) -> [SignedEntry] { try await engine.append(drafts) }

    /// Appends one draft, returning once it is durable.
    ///
    /// - Throws: `LedgerError` as `append(_:)` with an array does.
    @discardableResult
    public func append(_ draft: EntryDraft) async throws(LedgerError) -> SignedEntry { try await engine.append([draft])[0] }

    /// Appends the drafts, blocking the calling thread until they are durable (for command-line
    /// tools and tests; async code uses the async form).
    ///
    /// - Throws: `LedgerError` as the async form does.
    @discardableResult
    public func append(_ drafts: [EntryDraft]) throws(LedgerError) -> [SignedEntry] { try engine.append(drafts) }

    /// Queues the drafts and returns at once; `completion` runs once they are durable (or failed).
    /// Throws, queueing nothing, when the drafts are invalid or the queue is full (`pushback`).
    /// Requests are written in the order they are queued.
    ///
    /// - Throws: `LedgerError` with `pushback`, `readOnly`, `closed` or a draft's validation code;
    ///   failures after queueing (`timeGoesBackwards`, `storageFailure`) reach `completion` instead.
    public func enqueue(_ drafts: [EntryDraft], completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void) throws(LedgerError) {
        try engine.enqueue(drafts, completion: completion)
    }

    /// Appends caller-built bodies after checking each against the contract: canonical form,
    /// size, no floats or nulls, the next seq, the right `prev`, non-decreasing time, our key id.
    ///
    /// - Throws: `LedgerError` with `wrongSeq`, `wrongPrev`, `timeGoesBackwards` or `wrongKey` (and
    ///   the seq that was due) for a body that does not continue the chain; the decoder's codes
    ///   (`bodyNotCanonical`, `bodyTooLarge`, `floatNotAllowed`, `nullNotAllowed`, `badEntry`) for
    ///   one that breaks the contract; `pushback`, `readOnly`, `closed` or `storageFailure` as
    ///   `append(_:)` does. A rejected call writes none of its bodies.
    @discardableResult
    public func appendBodies(_ bodies: [[UInt8]]) throws(LedgerError) -> [SignedEntry] { try engine.appendBodies(bodies) }

    /// Rotates the log's signing key (FORMAT §10.7): appends a `key.rotated` entry, signed by the
    /// current key, naming `next` and the reason; every later entry and checkpoint is signed by
    /// `next`, which also replaces `signing.key` in the data directory. Crash-safe at any instant:
    /// reopening either finishes the rotation or finds it never happened.
    ///
    /// - Throws: `LedgerError` with `badKeyRotation` when `next` is not a new Ed25519 key named as
    ///   the origin, or `untrustedFrom` lies outside the seqs the current key signed; `readOnly`,
    ///   `closed`, `pushback` or `storageFailure` as `append(_:)` does.
    @discardableResult
    public func rotateKey(to next: SigningKey, reason: KeyRotation.Reason, actor: String = "operator") throws(LedgerError) -> SignedEntry {
        try engine.rotateKey(to: next, reason: reason, actor: actor)
    }

    /// Signs and durably stores a checkpoint of everything appended before the call, after
    /// checking that it extends the previous checkpoint.
    ///
    /// - Throws: `LedgerError` with `inconsistentCheckpoint` (the ledger then stops rather than
    ///   sign two inconsistent checkpoints), `readOnly`, `closed` or `storageFailure`.
    @discardableResult
    public func checkpoint() throws(LedgerError) -> String { try engine.checkpoint() }

    /// The async form of `checkpoint()`.
    ///
    /// - Throws: `LedgerError` as `checkpoint()` does.
    @discardableResult
    public func checkpoint() async throws(LedgerError) -> String { try await engine.checkpoint() }

    /// Stops accepting appends, writes everything queued, signs a final checkpoint and closes the
    /// files. Safe to call more than once; also done when the last reference goes away.
    public func close() { engine.close() }

    /// Stops the writer and closes the files without a final checkpoint, leaving the directory as
    /// a crash right after the last acknowledged append would (for recovery tests).
    func abandon() { engine.abandon() }

    /// The entry at `seq`, read from disk, checksum-checked and decoded strictly.
    public func entry(_ seq: UInt64) throws(LedgerError) -> SignedEntry { try engine.entry(seq) }

    /// The stored body bytes, signature and leaf hash of `seq`, the body not decoded (serving
    /// entries as they are; the record's checksum is checked).
    public func storedEntry(_ seq: UInt64) throws(LedgerError) -> (body: [UInt8], signature: [UInt8], leafHash: Hash) {
        try engine.storedEntry(seq)
    }

    /// Calls `visit` with every entry in `from..<to` in order, read sequentially (replay, export).
    public func forEachEntry(from: UInt64, to: UInt64, _ visit: (SignedEntry) throws(LedgerError) -> Void) throws(LedgerError) {
        try engine.forEachEntry(from: from, to: to, visit)
    }

    /// Calls `visit` with the exact body bytes of the entries in `from..<to`, in order, in
    /// slices (sequential reads, checksums checked, nothing decoded): for fast projections.
    public func forEachBodySlice(
        from: UInt64, to: UInt64, sliceCount: Int = 8_192, _ visit: ([(seq: UInt64, bytes: [UInt8])]) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        try engine.forEachBodySlice(from: from, to: to, sliceCount: sliceCount, visit)
    }

    /// Like `forEachBodySlice`, with each entry's stored signature (for projections that keep
    /// whole entries, like the Postgres mirror).
    public func forEachSignedBodySlice(
        from: UInt64, to: UInt64, sliceCount: Int = 8_192,
        _ visit: ([(seq: UInt64, signature: [UInt8], bytes: [UInt8])]) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        try engine.forEachSignedBodySlice(from: from, to: to, sliceCount: sliceCount, visit)
    }

    /// The leaf hash of `seq`, from the stored tiles.
    public func leafHash(_ seq: UInt64) throws(LedgerError) -> Hash { try engine.leafHash(seq) }

    /// The Merkle root of the first `size` entries.
    public func root(size: UInt64) throws(LedgerError) -> Hash { try engine.root(size: size) }

    /// Prepares the proof caches in the background of a start (see `LedgerEngine.warmProofs`).
    public func warmProofs() throws(LedgerError) { try engine.warmProofs() }

    /// RFC 9162 inclusion proof of `seq` in the tree of `size` entries.
    public func inclusionProof(seq: UInt64, size: UInt64) throws(LedgerError) -> [Hash] {
        try engine.inclusionProof(seq: seq, size: size)
    }

    /// RFC 9162 consistency proof between the trees of `from` and `to` entries.
    public func consistencyProof(from: UInt64, to: UInt64) throws(LedgerError) -> [Hash] {
        try engine.consistencyProof(from: from, to: to)
    }

    /// The hashes of a C2SP tlog-tiles hash tile (`width` < 256 for the partial right edge), or
    /// nil when the log has no such tile.
    /// The checkpoint note signed at exactly tree `size`, or nil when none was.
    public func checkpointNote(size: UInt64) throws(LedgerError) -> String? { try engine.history.note(size: size) }

    /// The checkpoints kept, in increasing size, from slot `from` (at most `limit`).
    public func checkpointNotes(fromSlot from: UInt64, limit: Int) throws(LedgerError) -> [(size: UInt64, note: String)] {
        try engine.history.notes(fromSlot: from, limit: limit)
    }

    public func tile(level: Int, index: UInt64, width: Int) throws(LedgerError) -> [Hash]? {
        try engine.tile(level: level, index: index, width: width)
    }

    /// The bytes of a C2SP tlog-tiles read as the log serves it: a hash tile's hashes (32 bytes
    /// each), or an entry bundle (each entry's body length as a big-endian uint16, then its exact
    /// body bytes); nil when the log has no such tile (yet). A partial entry bundle is served for
    /// any width the log has reached, also once its tile is full.
    public func tileBytes(_ tile: TilePath.Parsed) throws(LedgerError) -> [UInt8]? {
        var bytes = [UInt8]()
        if let level = tile.level {
            guard let hashes = try self.tile(level: level, index: tile.index, width: tile.width) else { return nil }
            bytes.reserveCapacity(hashes.count * Hash.byteCount)
            for hash in hashes { hash.withUnsafeBytes { bytes += $0 } }
            return bytes
        }
        // The index is the caller's: checked arithmetic, so a huge one is no bundle, not a trap.
        let size = self.size
        let (first, overflowed) = tile.index.multipliedReportingOverflow(by: UInt64(TilePath.width))
        guard !overflowed, first <= size, UInt64(tile.width) <= size - first else { return nil }
        try forEachBodySlice(from: first, to: first + UInt64(tile.width)) { slice in
            for (_, body) in slice {
                bytes.append(UInt8(body.count >> 8))
                bytes.append(UInt8(body.count & 0xFF))
                bytes += body
            }
        }
        return bytes
    }

    /// Microseconds since the Unix epoch from the system's real-time clock.
    public static func wallClockMicroseconds() -> Int64 { LedgerEngine.wallClockMicroseconds() }
}
