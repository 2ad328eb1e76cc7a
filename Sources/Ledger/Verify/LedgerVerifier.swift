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
        /// The keys the log signed with, followed from the trusted key through its rotations.
        public var keys: KeyChain
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

/// One verification run. Per segment: a sequential walk finds the frames, parallel passes
/// checksum, hash and link them (and fold each 256-leaf tile), then a sequential pass walks the
/// chain in seq order, so the failure reported is always the lowest seq.
private struct Run {
    let directory: DataDirectory
    let key: VerifierKey
    let checkSignatures: Bool
    let checkBodies: Bool
    var report: Report
    typealias Report = LedgerVerifier.Report

    var count: UInt64 = 0
    /// The chain as far as verified; keys are checked only alongside signatures.
    var chain: ChainCursor
    /// The rotations followed so far (each entry checked and signed by the key before it).
    var keys: KeyChain
    /// Keys entries may be signed with, for the parallel signature checks: the chain's keys and
    /// those that rotation entries ahead name (confirmed or not in seq order). Index by id in `candidateIndex`.
    var candidates: [VerifierKey]
    var candidateIndex: [KeyID: Int]
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
        report = Report(keys: KeyChain(initial: key))
        chain = ChainCursor(key: key.id)
        keys = KeyChain(initial: key)
        candidates = [key]
        candidateIndex = [key.id: 0]
        report.keys = keys
        report.signaturesChecked = checkSignatures
        report.bodiesChecked = checkBodies
    }

    /// What the latest checkpoint covers: index entries and tiles below it must be exact.
    var trusted: UInt64 { report.checkpoint?.size ?? 0 }

    mutating func execute() -> Report {
        do throws(LedgerError) {
            // A checkpoint that fails its signature is reported after the entries: a bad entry,
            // which has a seq, is the more useful first failure.
            // Its signature is checked after the scan: the key that signs it follows from the
            // rotations among the entries it covers.
            var checkpointError: LedgerError?
            let note = try directory.readCheckpointNote()
            if let note {
                do {
                    report.checkpoint = try Checkpoint(text: try SignedNote(parsing: note).text)
                } catch {
                    checkpointError = LedgerError(error.code, error.reason, file: directory.checkpointFile)
                }
            }
            if trusted == 0 { checkpointRoot = MerkleHash.emptyRoot }
            try scanSegments()
            report.keys = keys
            if let checkpointError { throw checkpointError }
            if let note, let checkpoint = report.checkpoint {
                do {
                    _ = try Checkpoint.open(note, verifier: try keys.checkpointKey(size: checkpoint.size, witnessed: false))
                } catch {
                    throw LedgerError(error.code, error.reason, file: directory.checkpointFile)
                }
            }
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
        var isKeyRotation = false
        /// The candidate key the signature was checked with (-1: none had the entry's key id).
        var signedBy = -1
        /// Checked in the parallel pass (with `--signatures`), so signatures use every core
        /// alongside the hashing instead of in separate rounds.
        var signatureOK = true
        var bodyError: LedgerError?
    }

    /// The root of a 256-leaf tile, and what is wrong with its stored copy (if anything).
    typealias TileCheck = (root: Hash, problem: String?)

    /// The tiles that lie wholly inside one segment, folded ahead of the sequential pass.
    struct WholeTiles {
        var first: UInt64
        var checks: [TileCheck]

        /// The check of the tile that `seq` completes, when that tile is one of these.
        func check(completedBy seq: UInt64) -> TileCheck? {
            guard seq % 256 == 255, seq / 256 >= first, seq / 256 < first + UInt64(checks.count) else { return nil }
            return checks[Int(seq / 256 - first)]
        }
    }

    mutating func checkSegment(_ bytes: [UInt8], path: String, isLast: Bool) throws(LedgerError) {
        let firstSeq = count
        let (offsets, stop) = SegmentFormat.walk(bytes)
        let chunkCount = max(1, min(64, offsets.count / 512))
        if checkSignatures { addCandidates(bytes, offsets: offsets) }
        let checked = Self.checkRecords(
            bytes, offsets: offsets, firstSeq: firstSeq, signatureKeys: checkSignatures ? (candidates, candidateIndex) : nil,
            checkBodies: checkBodies, chunkCount: chunkCount)
        let tiles = Self.foldWholeTiles(checked, firstSeq: firstSeq, trusted: trusted, tileDirectory: directory.tileDirectory)
        let indexPath = SegmentStore.indexPath(forSegment: path)
        let index = FileIO.exists(indexPath) ? try FileIO.readAll(indexPath) : []
        let linked = Self.findEntriesLinkedToTheirPredecessors(
            checked, offsets: offsets, index: index, firstSeq: firstSeq, trusted: trusted, checkSignatures: checkSignatures,
            chunkCount: chunkCount)
        try checkInSeqOrder(
            checked, linked: linked, tiles: tiles, offsets: offsets, index: index, indexPath: indexPath, bytes: bytes, path: path,
            isLast: isLast)
        // Zeros after the last record of the live segment are preallocated space, not damage.
        if let stop, !(isLast && SegmentFormat.isZero(bytes, from: stop.offset)) {
            try damage(at: count, offset: stop.offset, reason: stop.reason, bytes: bytes, path: path, isLast: isLast)
        }
    }

    /// The keys that the segment's rotation entries name, so the parallel pass can check the
    /// signatures after a rotation too. Unconfirmed: the sequential pass follows each rotation
    /// by the rules and uses a candidate's result only when it is the key the chain names.
    mutating func addCandidates(_ bytes: [UInt8], offsets: [Int]) {
        for offset in offsets {
            let body = SegmentFormat.body(bytes, frameAt: offset)
            guard body.withUnsafeBytes({ BodyLayout.readHead($0)?.isKeyRotation ?? false }),
                let decoded = try? EntryBody.decode(Array(body)), let rotation = try? KeyRotation(payload: decoded.payload),
                candidateIndex[rotation.newKey.id] == nil
            else { continue }
            candidateIndex[rotation.newKey.id] = candidates.count
            candidates.append(rotation.newKey)
        }
    }

    /// First parallel pass: each record's checksum, leaf hash, tail, key and (when asked) signature
    /// and strict decoding. Signatures are checked here so they use every core alongside the hashing.
    static func checkRecords(
        _ bytes: [UInt8], offsets: [Int], firstSeq: UInt64, signatureKeys: ([VerifierKey], [KeyID: Int])?, checkBodies: Bool,
        chunkCount: Int
    ) -> [Checked] {
        Parallel.map(count: offsets.count, chunkCount: chunkCount) { index in
            bytes.withUnsafeBytes { raw in
                check(raw, frameAt: offsets[index], seq: firstSeq + UInt64(index), signatureKeys: signatureKeys, checkBodies: checkBodies)
            }
        }
    }

    /// Second parallel pass: folds each tile wholly inside the segment and compares it with the
    /// stored tile when the checkpoint covers it.
    static func foldWholeTiles(_ checked: [Checked], firstSeq: UInt64, trusted: UInt64, tileDirectory: String) -> WholeTiles {
        let firstTile = (firstSeq + 255) / 256
        let endTile = (firstSeq + UInt64(checked.count)) / 256
        let tileCount = endTile > firstTile ? Int(endTile - firstTile) : 0
        let checks = Parallel.map(count: tileCount, chunkCount: max(1, tileCount)) { position -> TileCheck in
            let tile = firstTile + UInt64(position)
            let first = Int(tile * 256 - firstSeq)
            let leaves = (first..<first + 256).map { checked[$0].leaf }
            let problem = (tile + 1) * 256 <= trusted ? compareTile(leaves, directory: tileDirectory, level: 0, index: tile) : nil
            return (TileStore.root(of: leaves), problem)
        }
        return WholeTiles(first: firstTile, checks: checks)
    }

    /// Third parallel pass: every check that needs only an entry and the one before it (the chain
    /// rule from its predecessor, and its index entry). The sequential pass re-checks, with exact
    /// errors, only the entries not marked here; the first entry of a segment is always among them,
    /// and so are a key rotation and the entry after it. An entry names the key its predecessor
    /// names, and with `checkSignatures` was checked with the same candidate key.
    static func findEntriesLinkedToTheirPredecessors(
        _ checked: [Checked], offsets: [Int], index: [UInt8], firstSeq: UInt64, trusted: UInt64, checkSignatures: Bool, chunkCount: Int
    ) -> [Bool] {
        Parallel.map(count: checked.count, chunkCount: chunkCount) { position in
            guard position > 0 else { return false }
            let item = checked[position]
            let before = checked[position - 1]
            guard item.checksumOK, item.signatureOK, item.bodyError == nil, let tail = item.tail, let beforeTail = before.tail,
                !item.isKeyRotation, !before.isKeyRotation, !checkSignatures || item.signedBy == before.signedBy
            else {
                return false
            }
            let seq = firstSeq + UInt64(position)
            let chain = ChainCursor(nextSeq: seq, lastLeaf: before.leaf, lastTime: beforeTail.time, key: before.key)
            guard chain.brokenRule(ChainCursor.Link(tail, key: item.key)) == nil else { return false }
            return seq >= trusted || indexedOffset(index, position: position) == offsets[position]
        }
    }

    /// The sequential pass: advances the chain and the tree over every entry in seq order, checking
    /// in full each entry the parallel passes did not mark as linked.
    mutating func checkInSeqOrder(
        _ checked: [Checked], linked: [Bool], tiles: WholeTiles, offsets: [Int], index: [UInt8], indexPath: String,
        bytes: [UInt8], path: String, isLast: Bool
    ) throws(LedgerError) {
        let firstSeq = count
        for (position, item) in checked.enumerated() {
            let seq = firstSeq + UInt64(position)
            assert(seq == chain.nextSeq, "the chain and the tree advance together")
            if linked[position], let tail = item.tail {
                try chain.advance(over: ChainCursor.Link(tail, key: item.key), leaf: item.leaf)
            } else if item.isKeyRotation, item.checksumOK {
                try followRotation(item, seq: seq, bytes: bytes, offset: offsets[position])
            } else {
                if !item.checksumOK {
                    try damage(at: seq, offset: offsets[position], reason: "record checksum mismatch", bytes: bytes, path: path, isLast: isLast)
                }
                try checkEntry(item, seq: seq)
                if seq < trusted {
                    let stated = Self.indexedOffset(index, position: position)
                    guard stated == offsets[position] else {
                        throw LedgerError(
                            .damagedIndex,
                            stated == nil ? "the index has no entry for this seq" : "the index says offset \(stated!), the record is at \(offsets[position])",
                            seq: seq, file: indexPath)
                    }
                }
            }
            try addLeaf(item.leaf, seq: seq, precomputed: tiles.check(completedBy: seq))
        }
    }

    /// The frame offset the index states for the segment's entry at `position`, nil past its end.
    static func indexedOffset(_ index: [UInt8], position: Int) -> Int? {
        (position + 1) * 4 <= index.count ? Int(index.readLittleEndianUInt32(at: position * 4)) : nil
    }

    static func check(
        _ raw: UnsafeRawBufferPointer, frameAt offset: Int, seq: UInt64, signatureKeys: ([VerifierKey], [KeyID: Int])?, checkBodies: Bool
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
        let head = BodyLayout.readHead(body)
        result.key = head?.key
        result.isKeyRotation = head?.isKeyRotation ?? false
        if let (keys, index) = signatureKeys {
            result.signatureOK = false
            if let key = result.key, let position = index[key] {
                let signature = UnsafeRawBufferPointer(rebasing: raw[payload..<payload + SegmentFormat.signatureByteCount])
                result.signedBy = position
                result.signatureOK = result.checksumOK
                    && keys[position].isValidSignature(signature, for: SignedEntry.signatureMessage(leafHash: result.leaf))
            }
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

    /// Checks one entry in full against the chain so far and advances it.
    mutating func checkEntry(_ item: Checked, seq: UInt64) throws(LedgerError) {
        if let error = item.bodyError { throw error }
        guard let tail = item.tail else {
            throw LedgerError(.badEntry, "the body does not end as a canonical entry body does", seq: seq)
        }
        try chain.advance(over: ChainCursor.Link(tail, key: item.key), leaf: item.leaf)
        if checkSignatures, !item.signatureOK || item.signedBy != candidateIndex[keys.current.id] || candidates[item.signedBy] != keys.current {
            throw LedgerError(.badSignature, "the entry signature does not verify with key \(keys.current.id)", seq: seq)
        }
    }

    /// A `key.rotated` entry, checked whatever the options (the checkpoint's key depends on it):
    /// decoded strictly, signed by the current key, by the rules of FORMAT §10.7; then followed.
    mutating func followRotation(_ item: Checked, seq: UInt64, bytes: [UInt8], offset: Int) throws(LedgerError) {
        guard let tail = item.tail else {
            throw LedgerError(.badEntry, "the body does not end as a canonical entry body does", seq: seq)
        }
        let signature = SegmentFormat.signature(bytes, frameAt: offset)
        let entry = try LedgerEngine.decodeStored(seq: seq, signature: signature, body: SegmentFormat.body(bytes, frameAt: offset))
        try chain.advance(over: ChainCursor.Link(tail, key: item.key), leaf: item.leaf)
        try keys.follow(entry)
        chain.rotateKey(to: keys.current.id)
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

/// Entry signatures checked in batches on every core (recovery of the tail after a checkpoint).
struct SignatureBatch {
    static let entryCountMax = 8_192
    private var pending: [(seq: UInt64, leaf: Hash, signature: [UInt8], key: VerifierKey)] = []

    /// Queues the signature of `seq` for checking with `key`.
    mutating func add(seq: UInt64, leaf: Hash, signature: [UInt8], key: VerifierKey) throws(LedgerError) {
        pending.append((seq, leaf, signature, key))
        if pending.count >= Self.entryCountMax { try flush() }
    }

    /// Verifies everything pending; throws for the lowest seq whose signature fails.
    mutating func flush() throws(LedgerError) {
        guard !pending.isEmpty else { return }
        let work = pending
        pending.removeAll(keepingCapacity: true)
        let valid = Parallel.map(count: work.count, chunkCount: min(work.count, 64)) { index in
            work[index].key.isValidSignature(work[index].signature, for: SignedEntry.signatureMessage(leafHash: work[index].leaf))
        }
        if let bad = valid.firstIndex(of: false) {
            throw LedgerError(.badSignature, "the entry signature does not verify", seq: work[bad].seq)
        }
    }
}
