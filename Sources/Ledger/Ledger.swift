/// The append-only, hash-chained, signed ledger over one data directory.
///
/// One writer: a `Ledger` is not safe to share between threads. It MUST NOT return from
/// `append` before the entries are durable, and MUST NOT sign a checkpoint inconsistent with
/// the previous one.
public final class Ledger {
    public let directory: DataDirectory
    public let verifier: VerifierKey
    private let signer: SigningKey?
    private let store: SegmentStore
    private var tree = MerkleTree()
    public private(set) var lastTime: Int64 = 0
    /// The latest signed checkpoint (note text) and its parsed form.
    public private(set) var latestCheckpoint: (note: String, checkpoint: Checkpoint)?

    /// The number of entries (the next seq).
    public var size: UInt64 { tree.size }
    /// The origin line of checkpoints, which is also the key's name.
    public var origin: String { verifier.name }

    /// Opens the ledger in `directory`, creating it when empty. With a `signer` it can append;
    /// without one it is read-only and checked against `verifier`.
    ///
    /// Every stored record is checksum-checked, decoded and chained; the stored checkpoint must
    /// be signed, no larger than the log, and match the recomputed root.
    public init(directory: DataDirectory, signer: SigningKey?, verifier: VerifierKey? = nil) throws(LedgerError) {
        guard let key = signer?.verifier ?? verifier else {
            preconditionFailure("a ledger needs a signing key or a verifier key")
        }
        self.directory = directory
        self.signer = signer
        self.verifier = key
        var checkpoint: (String, Checkpoint)? = nil
        if let note = try directory.readCheckpointNote() {
            do {
                checkpoint = (note, try Checkpoint.open(note, verifier: key))
            } catch {
                throw LedgerError(error.code, error.reason, file: directory.checkpointFile)
            }
        }
        var tree = MerkleTree()
        var lastTime: Int64 = 0
        store = try SegmentStore.open(directory: directory.logDirectory, protectedCount: checkpoint?.1.size ?? 0) {
            (seq, signature, body) throws(LedgerError) in
            let entry = try Ledger.decodeStored(seq: seq, signature: signature, body: body)
            try Ledger.checkLink(entry.body, expectedSeq: seq, prev: seq == 0 ? .zero : tree.leaf(seq - 1), lastTime: lastTime)
            tree.append(entry.leafHash)
            lastTime = entry.body.time
        }
        self.tree = tree
        self.lastTime = lastTime
        if let (note, stored) = checkpoint {
            guard stored.size <= tree.size else {
                throw LedgerError(
                    .checkpointAhead, "the checkpoint covers \(stored.size) entries but the log holds \(tree.size)",
                    file: directory.checkpointFile)
            }
            guard tree.root(size: stored.size) == stored.root else {
                throw LedgerError(
                    .checkpointMismatch, "the log's root at size \(stored.size) differs from the checkpoint's",
                    file: directory.checkpointFile)
            }
            latestCheckpoint = (note, stored)
        }
    }

    deinit { store.close() }

    // MARK: Appending

    /// Appends the drafts as consecutive entries, signed, in one durable write.
    @discardableResult
    public func append(_ drafts: [EntryDraft]) throws(LedgerError) -> [SignedEntry] {
        guard let signer else { throw LedgerError(.readOnly, "this ledger was opened without its signing key") }
        var prev = size == 0 ? Hash.zero : tree.leaf(size - 1)
        var bodies = [[UInt8]]()
        for (offset, draft) in drafts.enumerated() {
            let body = EntryBody(
                seq: size + UInt64(offset), time: draft.time, kind: draft.kind, actor: draft.actor,
                payload: draft.payload, policy: draft.policy, prev: prev, key: signer.verifier.id)
            try body.validateFields()
            let bytes = body.canonicalBytes()
            prev = MerkleHash.leaf(bytes)
            bodies.append(bytes)
        }
        return try appendBodies(bodies)
    }

    /// Appends caller-built bodies after checking each against the contract: canonical form,
    /// size, no floats or nulls, the next seq, the right `prev`, non-decreasing time, our key id.
    @discardableResult
    public func appendBodies(_ bodies: [[UInt8]]) throws(LedgerError) -> [SignedEntry] {
        guard let signer else { throw LedgerError(.readOnly, "this ledger was opened without its signing key") }
        var entries = [SignedEntry]()
        var prev = size == 0 ? Hash.zero : tree.leaf(size - 1)
        var time = lastTime
        for (offset, bytes) in bodies.enumerated() {
            let seq = size + UInt64(offset)
            let body: EntryBody
            do {
                body = try EntryBody.decode(bytes)
            } catch {
                throw LedgerError(error.code, error.reason, seq: seq)
            }
            try Ledger.checkLink(body, expectedSeq: seq, prev: prev, lastTime: time)
            guard body.key == signer.verifier.id else {
                throw LedgerError(.wrongKey, "key is \(body.key) but this ledger signs with \(signer.verifier.id)", seq: seq)
            }
            let leaf = MerkleHash.leaf(bytes)
            let signature = signer.sign(SignedEntry.signatureMessage(leafHash: leaf))
            entries.append(SignedEntry(body: body, bodyBytes: bytes, leafHash: leaf, signature: signature))
            prev = leaf
            time = body.time
        }
        guard !entries.isEmpty else { return [] }
        try store.append(entries.map { ($0.signature, $0.bodyBytes) })
        for entry in entries { tree.append(entry.leafHash) }
        lastTime = time
        return entries
    }

    static func checkLink(_ body: EntryBody, expectedSeq: UInt64, prev: Hash, lastTime: Int64) throws(LedgerError) {
        guard body.seq == expectedSeq else {
            throw LedgerError(.wrongSeq, "seq is \(body.seq) but \(expectedSeq) comes next", seq: expectedSeq)
        }
        guard body.prev == prev else {
            throw LedgerError(.wrongPrev, "prev does not equal the previous entry's leaf hash", seq: expectedSeq)
        }
        guard body.time >= lastTime else {
            throw LedgerError(
                .timeGoesBackwards, "time \(body.time) is earlier than the previous entry's \(lastTime)", seq: expectedSeq)
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
        return SignedEntry(body: decoded, bodyBytes: bytes, leafHash: MerkleHash.leaf(bytes), signature: Array(signature))
    }

    // MARK: Reading

    /// The entry at `seq`, read from disk and checksum-checked.
    public func entry(_ seq: UInt64) throws(LedgerError) -> SignedEntry {
        let record = try store.record(seq)
        return try Ledger.decodeStored(seq: seq, signature: record.signature[...], body: record.body[...])
    }

    public func leafHash(_ seq: UInt64) -> Hash { tree.leaf(seq) }

    /// The Merkle root of the first `size` entries.
    public func root(size treeSize: UInt64) throws(LedgerError) -> Hash {
        guard treeSize <= size else { throw LedgerError(.badRange, "tree size \(treeSize) exceeds the log's \(size)") }
        return tree.root(size: treeSize)
    }

    public func inclusionProof(seq: UInt64, size treeSize: UInt64) throws(LedgerError) -> [Hash] {
        guard treeSize <= size, seq < treeSize else {
            throw LedgerError(.badRange, "need seq < tree size ≤ \(size); got seq \(seq), size \(treeSize)")
        }
        return tree.inclusionProof(index: seq, size: treeSize)
    }

    public func consistencyProof(from size1: UInt64, to size2: UInt64) throws(LedgerError) -> [Hash] {
        guard size1 <= size2, size2 <= size else {
            throw LedgerError(.badRange, "need from ≤ to ≤ \(size); got from \(size1), to \(size2)")
        }
        return tree.consistencyProof(size1: size1, size2: size2)
    }

    // MARK: Checkpoints

    /// Signs and durably stores a checkpoint of the whole log, after checking it extends the previous one.
    @discardableResult
    public func checkpoint() throws(LedgerError) -> String {
        guard let signer else { throw LedgerError(.readOnly, "this ledger was opened without its signing key") }
        if let previous = latestCheckpoint?.checkpoint {
            guard previous.size <= size, tree.root(size: previous.size) == previous.root else {
                throw LedgerError(.inconsistentCheckpoint, "refusing to sign a checkpoint that does not extend the previous one")
            }
            if previous.size == size, let note = latestCheckpoint?.note { return note }
        }
        let checkpoint = Checkpoint(origin: origin, size: size, root: tree.root(size: size))
        let note = try checkpoint.sign(with: signer).serialized
        try FileIO.writeAtomically(directory.checkpointFile, Array(note.utf8))
        latestCheckpoint = (note, checkpoint)
        return note
    }
}
