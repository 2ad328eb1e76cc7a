import Dispatch

/// Checks a ledger directory end to end without opening it for writing (nothing is repaired):
/// every frame, every body's canonical form, the chain, the signatures, and the tree against
/// the latest signed checkpoint.
public enum LedgerVerifier {
    public struct Report: Sendable {
        public var entries: UInt64 = 0
        public var root: Hash = MerkleHash.emptyRoot
        public var checkpoint: Checkpoint?
        public var signaturesChecked = false
        /// The first problem found; nil when everything verifies.
        public var failure: LedgerError?

        public var isValid: Bool { failure == nil }
    }

    public static func verify(directory: DataDirectory, key: VerifierKey, checkSignatures: Bool = true) -> Report {
        var report = Report()
        report.signaturesChecked = checkSignatures
        var tree = MerkleTree()
        var lastTime: Int64 = 0
        var signatures = SignatureBatch(key: key)
        do throws(LedgerError) {
            let scan = try SegmentScanner.scan(directory: directory.logDirectory) {
                (seq, signature, body) throws(LedgerError) in
                let entry = try Ledger.decodeStored(seq: seq, signature: signature, body: body)
                try Ledger.checkLink(entry.body, expectedSeq: seq, prev: seq == 0 ? .zero : tree.leaf(seq - 1), lastTime: lastTime)
                if checkSignatures {
                    guard entry.body.key == key.id else {
                        throw LedgerError(.wrongKey, "signed by key \(entry.body.key), not \(key.id)", seq: seq)
                    }
                    try signatures.add(seq: seq, leaf: entry.leafHash, signature: entry.signature)
                }
                tree.append(entry.leafHash)
                lastTime = entry.body.time
            }
            report.entries = tree.size
            try signatures.flush()
            if let damage = scan.damage {
                let tail = damage.isInLastSegment && !damage.isFollowedByValidFrame ? " (a torn tail: reopening the ledger would truncate it)" : ""
                throw LedgerError(.damagedRecord, damage.reason + tail, seq: damage.seq, file: damage.path)
            }
            report.root = tree.root(size: tree.size)
            guard let note = try directory.readCheckpointNote() else {
                throw LedgerError(.notFound, "there is no signed checkpoint to verify the tree against", file: directory.checkpointFile)
            }
            let checkpoint: Checkpoint
            do {
                checkpoint = try Checkpoint.open(note, verifier: key)
            } catch {
                throw LedgerError(error.code, error.reason, file: directory.checkpointFile)
            }
            report.checkpoint = checkpoint
            guard checkpoint.size <= tree.size else {
                throw LedgerError(
                    .checkpointAhead, "the checkpoint covers \(checkpoint.size) entries but the log holds \(tree.size)",
                    seq: tree.size, file: directory.checkpointFile)
            }
            guard tree.root(size: checkpoint.size) == checkpoint.root else {
                throw LedgerError(
                    .checkpointMismatch, "the root of the first \(checkpoint.size) entries differs from the checkpoint's",
                    file: directory.checkpointFile)
            }
        } catch {
            report.entries = tree.size
            // A bad signature earlier in the unchecked batch is the first failure, not this one.
            do throws(LedgerError) {
                try signatures.flush()
                report.failure = error
            } catch let earlier {
                report.failure = earlier.seq ?? .max < error.seq ?? .max ? earlier : error
            }
        }
        return report
    }
}

/// Entry signatures checked in batches on every core: Ed25519 verification dominates a full verify.
struct SignatureBatch {
    static let entryCountMax = 8_192
    let key: VerifierKey
    private var pending: [(seq: UInt64, leaf: Hash, signature: [UInt8])] = []

    init(key: VerifierKey) { self.key = key }

    mutating func add(seq: UInt64, leaf: Hash, signature: [UInt8]) throws(LedgerError) {
        pending.append((seq, leaf, signature))
        if pending.count >= Self.entryCountMax { try flush() }
    }

    /// Verifies everything pending; throws for the lowest seq whose signature fails.
    mutating func flush() throws(LedgerError) {
        guard !pending.isEmpty else { return }
        let work = pending
        pending.removeAll(keepingCapacity: true)
        let key = self.key
        let chunkCount = min(work.count, 64)
        var valid = [Bool](repeating: true, count: work.count)
        valid.withUnsafeMutableBufferPointer { results in
            nonisolated(unsafe) let results = results
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                var index = chunk
                while index < work.count {
                    let item = work[index]
                    results[index] = key.isValidSignature(item.signature, for: SignedEntry.signatureMessage(leafHash: item.leaf))
                    index += chunkCount
                }
            }
        }
        if let bad = valid.firstIndex(of: false) {
            throw LedgerError(.badSignature, "the entry signature does not verify", seq: work[bad].seq)
        }
    }
}
