import Dispatch
import Foundation

/// Checks a ledger directory end to end without opening it for writing (nothing is repaired):
/// every segment header and frame checksum, the chain (`seq`, `prev`, non-decreasing `time`),
/// every leaf hash, the tree against the latest signed checkpoint, and the stored index and hash
/// tiles against the log. Optionally every signature (on all cores) and every body's strict
/// canonical decoding. The first problem, by seq, is reported.
public enum LedgerVerifier {
    public struct Report: Sendable {
        public var entries: UInt64 = 0
        public var root: Hash = MerkleHash.emptyRoot
        public var checkpoint: Checkpoint?
        public var signaturesChecked = false
        public var bodiesChecked = false
        /// The first problem found; nil when everything verifies.
        public var failure: LedgerError?

        public var isValid: Bool { failure == nil }
    }

    public static func verify(
        directory: DataDirectory, key: VerifierKey, checkSignatures: Bool = false, checkBodies: Bool = false
    ) -> Report {
        var run = Run(directory: directory, key: key, checkSignatures: checkSignatures, checkBodies: checkBodies)
        return run.execute()
    }
}

/// One verification pass. Per segment: a sequential walk finds the frames, a parallel pass
/// checksums and hashes them (and folds each 256-leaf tile), then a sequential pass checks them in
/// seq order, so the failure reported is always the lowest seq.
private struct Run {
    let directory: DataDirectory
    let key: VerifierKey
    let checkSignatures: Bool
    let checkBodies: Bool
    var report = Report()
    typealias Report = LedgerVerifier.Report

    var count: UInt64 = 0
    var lastLeaf = Hash.zero
    var lastTime: Int64 = 0
    /// The tree so far: full 256-leaf tiles as level-8 nodes, then the leaves of the open tile.
    var range = CompactRange()
    var openTile = [Hash]()
    /// The root of every complete level-0 tile, for checking the upper tile levels at the end.
    var tileRoots = [Hash]()
    var checkpointRoot: Hash?

    init(directory: DataDirectory, key: VerifierKey, checkSignatures: Bool, checkBodies: Bool) {
        self.directory = directory
        self.key = key
        self.checkSignatures = checkSignatures
        self.checkBodies = checkBodies
        report.signaturesChecked = checkSignatures
        report.bodiesChecked = checkBodies
    }

    /// What the latest checkpoint covers: index entries and tiles below it must be exact.
    var trusted: UInt64 { report.checkpoint?.size ?? 0 }

    mutating func execute() -> Report {
        do throws(LedgerError) {
            // A checkpoint that fails its signature is reported after the entries: a bad entry,
            // which has a seq, is the more useful first failure.
            var checkpointError: LedgerError?
            if let note = try directory.readCheckpointNote() {
                do {
                    report.checkpoint = try Checkpoint.open(note, verifier: key)
                } catch {
                    checkpointError = LedgerError(error.code, error.reason, file: directory.checkpointFile)
                }
            }
            if trusted == 0 { checkpointRoot = MerkleHash.emptyRoot }
            try scanSegments()
            if let checkpointError { throw checkpointError }
            report.entries = count
            report.root = rootNow()
            guard let checkpoint = report.checkpoint else {
                throw LedgerError(.notFound, "there is no signed checkpoint to verify the tree against", file: directory.checkpointFile)
            }
            guard checkpoint.size <= count else {
                throw LedgerError(
                    .checkpointAhead, "the checkpoint covers \(checkpoint.size) entries but the log holds \(count)",
                    seq: count, file: directory.checkpointFile)
            }
            guard checkpointRoot == checkpoint.root else {
                throw LedgerError(
                    .checkpointMismatch, "the root of the first \(checkpoint.size) entries differs from the checkpoint's",
                    file: directory.checkpointFile)
            }
            try checkUpperTiles()
        } catch {
            report.entries = count
            report.failure = error
        }
        return report
    }

    mutating func scanSegments() throws(LedgerError) {
        let logDirectory = directory.logDirectory
        guard FileIO.isDirectory(logDirectory) else { return }
        let names = try FileIO.listDirectory(logDirectory).filter { $0.hasSuffix(".seg") }
        for (position, name) in names.enumerated() {
            let path = logDirectory + "/" + name
            let isLast = position == names.count - 1
            let bytes = try FileIO.readAll(path)
            switch SegmentFormat.parseHeader(bytes[...]) {
            case .failure(.incomplete) where isLast:
                if count < trusted { break }
                throw LedgerError(
                    .damagedRecord, "the last segment's header is cut short (a torn tail: reopening the ledger removes it)",
                    seq: count, file: path)
            case .failure:
                throw LedgerError(.damagedRecord, "segment header is damaged", seq: count, file: path)
            case .success(let stated):
                guard stated == count, name == SegmentStore.segmentName(firstSeq: stated) else {
                    throw LedgerError(
                        .missingSegment, "segment starts at seq \(stated) but seq \(count) comes next", seq: count, file: path)
                }
            }
            try checkSegment(bytes, path: path, isLast: isLast)
        }
    }

    /// Per-record results of the parallel pass.
    struct Checked {
        var checksumOK = false
        var leaf = Hash.zero
        var tail: BodyLayout.Tail?
        var key: KeyID?
        /// Checked in the parallel pass (with `--signatures`), so signatures use every core
        /// alongside the hashing instead of in separate rounds.
        var signatureOK = true
        var bodyError: LedgerError?
    }

    mutating func checkSegment(_ bytes: [UInt8], path: String, isLast: Bool) throws(LedgerError) {
        let firstSeq = count
        let (offsets, stop) = SegmentFormat.walk(bytes)
        var checked = [Checked](repeating: Checked(), count: offsets.count)
        // Tiles wholly inside this segment are folded (and compared with the stored tile) in parallel.
        let firstTile = (firstSeq + 255) / 256
        let endTile = (firstSeq + UInt64(offsets.count)) / 256
        let tileCount = endTile > firstTile ? Int(endTile - firstTile) : 0
        var tileResults = [(root: Hash, problem: String?)](repeating: (.zero, nil), count: tileCount)
        let checkBodies = checkBodies
        let checkSignatures = checkSignatures
        let signatureKey = checkSignatures ? key : nil
        let trusted = trusted
        let tileDirectory = directory.tileDirectory
        let chunkCount = max(1, min(64, offsets.count / 512))
        checked.withUnsafeMutableBufferPointer { results in
            nonisolated(unsafe) let results = results
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                let start = offsets.count * chunk / chunkCount
                let end = offsets.count * (chunk + 1) / chunkCount
                bytes.withUnsafeBytes { raw in
                    for index in start..<end {
                        results[index] = Self.check(
                            raw, frameAt: offsets[index], seq: firstSeq + UInt64(index), signatureKey: signatureKey,
                            checkBodies: checkBodies)
                    }
                }
            }
        }
        tileResults.withUnsafeMutableBufferPointer { tiles in
            nonisolated(unsafe) let tiles = tiles
            checked.withUnsafeBufferPointer { results in
                nonisolated(unsafe) let results = results
                DispatchQueue.concurrentPerform(iterations: tileCount) { position in
                    let tile = firstTile + UInt64(position)
                    let first = Int(tile * 256 - firstSeq)
                    let leaves = (first..<first + 256).map { results[$0].leaf }
                    let root = TileStore.root(of: leaves)
                    let problem = (tile + 1) * 256 <= trusted
                        ? Self.compareTile(leaves, directory: tileDirectory, level: 0, index: tile) : nil
                    tiles[position] = (root, problem)
                }
            }
        }
        let indexPath = SegmentStore.indexPath(forSegment: path)
        let index = FileIO.exists(indexPath) ? try FileIO.readAll(indexPath) : []
        // Second parallel pass: every check that needs only this entry and the one before it.
        // The sequential pass below then re-checks, with exact errors, only entries marked here.
        var fine = [Bool](repeating: false, count: checked.count)
        let keyID = key.id
        fine.withUnsafeMutableBufferPointer { fine in
            nonisolated(unsafe) let fine = fine
            checked.withUnsafeBufferPointer { results in
                nonisolated(unsafe) let results = results
                DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                    let start = max(1, offsets.count * chunk / chunkCount)
                    let end = offsets.count * (chunk + 1) / chunkCount
                    guard start < end else { return }
                    for position in start..<end {
                        let item = results[position]
                        let seq = firstSeq + UInt64(position)
                        guard item.checksumOK, item.signatureOK, item.bodyError == nil, let tail = item.tail, tail.seq == seq,
                            tail.prev == results[position - 1].leaf, let before = results[position - 1].tail, tail.time >= before.time,
                            !checkSignatures || item.key == keyID
                        else { continue }
                        if seq < trusted {
                            guard (position + 1) * 4 <= index.count, Int(index.readLittleEndianUInt32(at: position * 4)) == offsets[position]
                            else { continue }
                        }
                        fine[position] = true
                    }
                }
            }
        }
        for (position, item) in checked.enumerated() {
            let seq = firstSeq + UInt64(position)
            if fine[position] {
                lastLeaf = item.leaf
                lastTime = item.tail!.time
            } else {
                if !item.checksumOK {
                    try damage(at: seq, offset: offsets[position], reason: "record checksum mismatch", bytes: bytes, path: path, isLast: isLast)
                }
                try checkEntry(item, seq: seq, bytes: bytes, offset: offsets[position])
                if seq < trusted {
                    let stated = (position + 1) * 4 <= index.count ? Int(index.readLittleEndianUInt32(at: position * 4)) : nil
                    guard stated == offsets[position] else {
                        throw LedgerError(
                            .damagedIndex,
                            stated == nil ? "the index has no entry for this seq" : "the index says offset \(stated!), the record is at \(offsets[position])",
                            seq: seq, file: indexPath)
                    }
                }
            }
            try addLeaf(item.leaf, seq: seq, precomputed: seq % 256 == 255 && seq / 256 >= firstTile && seq / 256 < endTile
                ? tileResults[Int(seq / 256 - firstTile)] : nil)
        }
        // Zeros after the last record of the live segment are preallocated space, not damage.
        if let stop, !(isLast && SegmentFormat.isZero(bytes, from: stop.offset)) {
            try damage(at: count, offset: stop.offset, reason: stop.reason, bytes: bytes, path: path, isLast: isLast)
        }
    }

    static func check(
        _ raw: UnsafeRawBufferPointer, frameAt offset: Int, seq: UInt64, signatureKey: VerifierKey?, checkBodies: Bool
    ) -> Checked {
        var result = Checked()
        let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        let stored = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian
        var crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 4]))
        let payload = offset + SegmentFormat.frameHeaderByteCount
        crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[payload..<payload + length]), seed: crc)
        result.checksumOK = crc == stored
        let body = UnsafeRawBufferPointer(rebasing: raw[payload + SegmentFormat.signatureByteCount..<payload + length])
        result.leaf = MerkleHash.leaf(body)
        result.tail = BodyLayout.readTail(body)
        if let signatureKey {
            result.key = BodyLayout.readKey(body)
            let signature = UnsafeRawBufferPointer(rebasing: raw[payload..<payload + SegmentFormat.signatureByteCount])
            result.signatureOK = result.checksumOK
                && signatureKey.isValidSignature(signature, for: SignedEntry.signatureMessage(leafHash: result.leaf))
        }
        if checkBodies {
            do {
                _ = try LedgerEngine.decodeStored(seq: seq, signature: [], body: Array(body)[...])
            } catch {
                result.bodyError = error
            }
        }
        return result
    }

    static func compareTile(_ hashes: [Hash], directory: String, level: Int, index: UInt64) -> String? {
        let path = FileIO.parent(of: directory) + "/" + TileStore.path(level: level, index: index)
        guard let bytes = try? FileIO.readAll(path) else { return "the hash tile \(TileStore.path(level: level, index: index)) is missing" }
        guard bytes.count == TileStore.tileByteCount, bytes == hashes.flatMap(\.bytes) else {
            return "the hash tile \(TileStore.path(level: level, index: index)) disagrees with the log"
        }
        return nil
    }

    mutating func checkEntry(_ item: Checked, seq: UInt64, bytes: [UInt8], offset: Int) throws(LedgerError) {
        if let error = item.bodyError { throw error }
        guard let tail = item.tail else {
            throw LedgerError(.badEntry, "the body does not end as a canonical entry body does", seq: seq)
        }
        guard tail.seq == seq else { throw LedgerError(.wrongSeq, "the body says seq \(tail.seq)", seq: seq) }
        guard tail.prev == lastLeaf else {
            throw LedgerError(.wrongPrev, "prev does not equal the previous entry's leaf hash", seq: seq)
        }
        guard tail.time >= lastTime else {
            throw LedgerError(.timeGoesBackwards, "time \(tail.time) is earlier than the previous entry's \(lastTime)", seq: seq)
        }
        if checkSignatures {
            guard item.key == key.id else {
                throw LedgerError(.wrongKey, "signed by key \(item.key.map { "\($0)" } ?? "?"), not \(key.id)", seq: seq)
            }
            guard item.signatureOK else { throw LedgerError(.badSignature, "the entry signature does not verify", seq: seq) }
        }
        lastLeaf = item.leaf
        lastTime = tail.time
    }

    mutating func addLeaf(_ leaf: Hash, seq: UInt64, precomputed: (root: Hash, problem: String?)?) throws(LedgerError) {
        openTile.append(leaf)
        count = seq + 1
        if openTile.count == 256 {
            let root = precomputed?.root ?? TileStore.root(of: openTile)
            let tile = seq / 256
            let problem = precomputed.map(\.problem)
                ?? ((tile + 1) * 256 <= trusted ? Self.compareTile(openTile, directory: directory.tileDirectory, level: 0, index: tile) : nil)
            if let problem { throw LedgerError(.damagedTile, problem, seq: tile * 256) }
            range.append(root, level: 8)
            tileRoots.append(root)
            openTile.removeAll(keepingCapacity: true)
        }
        if count == trusted { checkpointRoot = rootNow() }
    }

    func rootNow() -> Hash {
        var copy = range
        for leaf in openTile { copy.append(leaf, level: 0) }
        return copy.root
    }

    /// A damaged record: a torn tail when it is the last thing in the last segment and beyond the
    /// checkpoint (reopening truncates it); otherwise a hole in acknowledged data.
    func damage(at seq: UInt64, offset: Int, reason: String, bytes: [UInt8], path: String, isLast: Bool) throws(LedgerError) {
        let torn = isLast && seq >= trusted && !SegmentFormat.containsValidFrame(bytes, after: offset)
        throw LedgerError(.damagedRecord, reason + (torn ? " (a torn tail: reopening the ledger would truncate it)" : ""), seq: seq, file: path)
    }

    /// Tiles above level 0 hold the roots of the tiles below; check each full one the checkpoint covers.
    func checkUpperTiles() throws(LedgerError) {
        var hashes = tileRoots
        var level = 1
        while hashes.count >= 256 {
            var next = [Hash]()
            for tile in 0..<hashes.count / 256 {
                let group = Array(hashes[tile * 256..<(tile + 1) * 256])
                let span = UInt64(1) << UInt64(8 * (level + 1))
                if UInt64(tile + 1) * span <= trusted,
                    let problem = Self.compareTile(group, directory: directory.tileDirectory, level: level, index: UInt64(tile))
                {
                    throw LedgerError(.damagedTile, problem, seq: UInt64(tile) * span)
                }
                next.append(TileStore.root(of: group))
            }
            hashes = next
            level += 1
        }
    }
}

/// The right edge of a Merkle tree being built left to right: one perfect subtree per set bit
/// of the size, so memory is O(log n).
struct CompactRange {
    private var stack: [(hash: Hash, level: Int)] = []

    /// Appends a perfect subtree of 2^level leaves; the size so far must be a multiple of 2^level.
    mutating func append(_ hash: Hash, level: Int) {
        var hash = hash
        var level = level
        while let last = stack.last, last.level == level {
            stack.removeLast()
            hash = MerkleHash.node(last.hash, hash)
            level += 1
        }
        stack.append((hash, level))
    }

    var root: Hash {
        guard var hash = stack.last?.hash else { return MerkleHash.emptyRoot }
        for item in stack.dropLast().reversed() { hash = MerkleHash.node(item.hash, hash) }
        return hash
    }
}

/// Entry signatures checked in batches on every core (recovery of the tail after a checkpoint).
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
