#if canImport(Glibc)
import Glibc
#endif

/// Append-only segment files in `<data dir>/log/`, each named by its first seq, each with a
/// seq→offset index beside it (`<first seq>.idx`, one little-endian UInt32 frame offset per
/// entry). One writer. Memory holds only the list of segments, never per-entry data.
///
/// Data is durable when `append` returns; index entries are written right after and made
/// durable before a checkpoint covers them (`takePendingSync()`). On open,
/// everything the latest checkpoint covers is trusted as stored (and spot-checked); everything
/// after it is re-read, and its index entries rewritten, by `recoverTail`.
final class SegmentStore {
    /// A segment is closed and a new one started once it would grow past this size.
    static let defaultSegmentBytesMax: UInt64 = 64 << 20
    var segmentBytesMax = SegmentStore.defaultSegmentBytesMax
    static let indexEntryByteCount: UInt64 = 4

    struct Segment {
        let firstSeq: UInt64
        let path: String
        var count: UInt64
        /// Where the next record goes; known (and needed) only for the segment being appended to.
        var byteCount: UInt64
        var indexPath: String { SegmentStore.indexPath(forSegment: path) }
    }

    let directory: String
    let isWritable: Bool
    private(set) var segments: [Segment] = []
    private var writer: File?
    private var indexWriter: File?
    private var unsyncedIndexes: [File] = []
    private var readers: [UInt64: (data: File, index: File)] = [:]
    /// Set after a failed write or sync: the file's state is unknown, so nothing more is appended.
    private var failed: LedgerError?

    var count: UInt64 { segments.last.map { $0.firstSeq + $0.count } ?? 0 }

    static func indexPath(forSegment path: String) -> String { String(path.dropLast(4)) + ".idx" }

    static func segmentName(firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return String(repeating: "0", count: 20 - digits.count) + digits + ".seg"
    }

    private init(directory: String, writable: Bool) {
        self.directory = directory
        self.isWritable = writable
    }

    // MARK: Opening

    /// Opens the store with the first `trusted` entries (the latest checkpoint's size) taken as
    /// stored: segment names, headers and index lengths must agree with each other, and the record
    /// at `trusted − 1` must be intact. Entries after it are left for `recoverTail`.
    static func open(directory: String, trusted: UInt64, writable: Bool) throws(LedgerError) -> SegmentStore {
        let store = SegmentStore(directory: directory, writable: writable)
        if writable { try FileIO.makeDirectories(directory) }
        guard FileIO.isDirectory(directory) else {
            if trusted > 0 { throw LedgerError(.missingSegment, "the log folder is missing", seq: 0, file: directory) }
            return store
        }
        let names = try FileIO.listDirectory(directory).filter { $0.hasSuffix(".seg") }
        var segments = [Segment]()
        for name in names {
            let path = directory + "/" + name
            guard name.count == 24, let first = UInt64(name.prefix(20)), name == segmentName(firstSeq: first) else {
                throw LedgerError(.damagedRecord, "unexpected file name in the log folder", file: path)
            }
            segments.append(Segment(firstSeq: first, path: path, count: 0, byteCount: 0))
        }
        if let first = segments.first, first.firstSeq != 0 {
            throw LedgerError(.missingSegment, "the log starts at seq \(first.firstSeq), not 0", seq: 0, file: first.path)
        }
        if trusted > 0 && segments.isEmpty {
            throw LedgerError(.missingSegment, "the checkpoint covers \(trusted) entries but there are no segments", seq: 0, file: directory)
        }
        // Segments wholly before the trusted size: their index gives their count, which must
        // reach exactly the next segment's first seq.
        for position in segments.indices where position + 1 < segments.count && segments[position + 1].firstSeq <= trusted {
            let segment = segments[position]
            let count = try indexCount(segment)
            let next = segments[position + 1].firstSeq
            guard segment.firstSeq + count == next else {
                if segment.firstSeq + count < next {
                    throw LedgerError(
                        .missingSegment,
                        "seqs \(segment.firstSeq + count)..<\(next) are missing: the segment before ends at \(segment.firstSeq + count) by its index",
                        seq: segment.firstSeq + count, file: segments[position + 1].path)
                }
                throw LedgerError(
                    .damagedIndex, "the index lists \(count) entries but the next segment starts at seq \(next)",
                    seq: next, file: segment.indexPath)
            }
            segments[position].count = count
        }
        store.segments = segments
        if trusted > 0 {
            // The segment holding seq trusted − 1 keeps exactly its trusted entries for now.
            let position = store.segmentPosition(containing: trusted - 1)
            let segment = segments[position]
            let count = try indexCount(segment)
            let needed = trusted - segment.firstSeq
            guard count >= needed else {
                throw LedgerError(
                    .damagedIndex, "the index lists \(count) entries but the checkpoint needs \(needed) here",
                    seq: segment.firstSeq + count, file: segment.indexPath)
            }
            store.segments[position].count = needed
            store.segments.removeSubrange((position + 1)...)
            let (offset, length) = try store.frameLocation(trusted - 1)
            store.segments[position].byteCount = offset + UInt64(SegmentFormat.frameHeaderByteCount) + UInt64(length)
            _ = try store.record(trusted - 1)
            store.tailSegments = Array(segments[(position + 1)...])
        } else {
            store.segments = []
            store.tailSegments = segments
        }
        return store
    }

    /// Segment files after the trusted part, waiting for `recoverTail`.
    private var tailSegments: [Segment] = []

    private static func indexCount(_ segment: Segment) throws(LedgerError) -> UInt64 {
        guard FileIO.exists(segment.indexPath) else {
            throw LedgerError(
                .damagedIndex, "the index file is missing; `pahlawan reindex` rebuilds it from the log",
                seq: segment.firstSeq, file: segment.indexPath)
        }
        let bytes = try File.open(segment.indexPath, flags: O_RDONLY).size()
        return bytes / indexEntryByteCount
    }

    /// Reads every record after the trusted part, in order, calling `visit` for each whole one and
    /// rewriting its index entry. A torn tail (a cut-short or failing record in the last segment
    /// with no whole record after it) is truncated when writable; any other damage throws.
    func recoverTail(visit: (UInt64, ArraySlice<UInt8>, ArraySlice<UInt8>) throws(LedgerError) -> Void) throws(LedgerError) {
        precondition(isWritable)
        var pending = segments.isEmpty ? [] : [segments.removeLast()]
        pending += tailSegments
        tailSegments = []
        for (position, var segment) in pending.enumerated() {
            let isLast = position == pending.count - 1
            let bytes = try FileIO.readAll(segment.path)
            var offset: Int
            if segment.count == 0 {
                switch SegmentFormat.parseHeader(bytes[...]) {
                case .failure(.incomplete) where isLast:
                    // A crash while the segment was being created: nothing in it was acknowledged.
                    guard unlink(segment.path) == 0 else { throw FileIO.failure("unlink", segment.path) }
                    unlink(segment.indexPath)
                    try FileIO.syncDirectory(directory)
                    return
                case .failure:
                    throw LedgerError(.damagedRecord, "segment header is damaged", seq: segment.firstSeq, file: segment.path)
                case .success(let stated):
                    guard stated == segment.firstSeq, segment.firstSeq == count else {
                        throw LedgerError(
                            .missingSegment, "segment starts at seq \(segment.firstSeq) but seq \(count) comes next",
                            seq: count, file: segment.path)
                    }
                }
                offset = SegmentFormat.headerByteCount
            } else {
                offset = Int(segment.byteCount)
            }
            var offsets = [UInt8]()
            var damage: (reason: String, offset: Int)?
            while offset < bytes.count {
                let seq = segment.firstSeq + segment.count
                switch SegmentFormat.readFrame(bytes, at: offset) {
                case .record(let signature, let body, let next):
                    try visit(seq, signature, body)
                    offsets.appendLittleEndian(UInt32(offset))
                    segment.count += 1
                    offset = next
                    continue
                case .incomplete: damage = ("record is cut short", offset)
                case .damaged(let why): damage = (why, offset)
                }
                break
            }
            if let found = damage, isLast, SegmentFormat.isZero(bytes, from: found.offset) {
                // Preallocated space that no write reached: the clean end of the log.
                damage = nil
                zeroedEnd = UInt64(bytes.count)
            } else if isLast {
                zeroedEnd = UInt64(offset)
            }
            if let damage {
                let seq = segment.firstSeq + segment.count
                guard isLast, !SegmentFormat.containsValidFrame(bytes, after: damage.offset) else {
                    throw LedgerError(.damagedRecord, damage.reason, seq: seq, file: segment.path)
                }
                let file = try File.open(segment.path, flags: O_WRONLY)
                try file.truncate(to: UInt64(damage.offset))
                try file.sync()
                file.close()
            }
            segment.byteCount = UInt64(offset)
            let index = try File.open(segment.indexPath, flags: O_WRONLY | O_CREAT)
            let keep = (segment.count - UInt64(offsets.count / 4)) * Self.indexEntryByteCount
            try index.truncate(to: keep)
            try index.write(offsets, at: keep)
            unsyncedIndexes.append(index)
            segments.append(segment)
        }
        if !pending.isEmpty { try FileIO.syncDirectory(directory) }
    }

    // MARK: Appending

    /// Writes framed records (`frameOffsets` are each frame's start within `frames`) in one
    /// `pwrite` and records their offsets in the index. They are durable only once the file
    /// from `takeDataSync()` is synced.
    func append(frames: UnsafeRawBufferPointer, frameOffsets: [UInt32]) throws(LedgerError) {
        precondition(isWritable && tailSegments.isEmpty)
        if let failed { throw LedgerError(.storageFailure, "an earlier write failed; reopen the ledger (\(failed.reason))") }
        do {
            if segments.isEmpty
                || (segments[segments.count - 1].byteCount + UInt64(frames.count) > segmentBytesMax
                    && segments[segments.count - 1].count > 0)
            {
                try startSegment(firstSeq: count)
            }
            let last = segments.count - 1
            let base = segments[last].byteCount
            precondition(base + UInt64(frames.count) < UInt64(UInt32.max), "a batch must fit a segment's 32-bit offsets")
            if base + UInt64(frames.count) > zeroedEnd {
                try extendWithZeros(to: base + UInt64(frames.count) + Self.preallocationBytes)
            }
            try currentWriter().write(frames, at: base)
            unsyncedData = true
            var entries = [UInt8]()
            entries.reserveCapacity(frameOffsets.count * 4)
            for offset in frameOffsets { entries.appendLittleEndian(UInt32(base) + offset) }
            try currentIndexWriter().write(entries, at: segments[last].count * Self.indexEntryByteCount)
            segments[last].byteCount = base + UInt64(frames.count)
            segments[last].count += UInt64(frameOffsets.count)
        } catch {
            failed = error
            throw error
        }
    }

    private var unsyncedData = false
    /// The current segment's file size: zeros beyond `byteCount`, written ahead of the data so
    /// that `fdatasync` after each batch overwrites allocated blocks and need not also persist
    /// a new file size (measured here: ~1.7× more syncs per second).
    private var zeroedEnd: UInt64 = 0
    static let preallocationBytes: UInt64 = 1 << 20

    private func extendWithZeros(to end: UInt64) throws(LedgerError) {
        let writer = try currentWriter()
        let zeros = [UInt8](repeating: 0, count: Int(end - zeroedEnd))
        try writer.write(zeros, at: zeroedEnd)
        try writer.sync()
        zeroedEnd = end
    }

    /// Cuts the preallocated zeros off the current segment (on close and before a new segment),
    /// so closed segments end exactly at their last record.
    private func trimPreallocation() throws(LedgerError) {
        guard let last = segments.last, zeroedEnd > last.byteCount else { return }
        let writer = try currentWriter()
        try writer.truncate(to: last.byteCount)
        try writer.sync()
        zeroedEnd = last.byteCount
    }

    /// The file whose `fdatasync` makes every record written so far durable (nil when all are),
    /// for the caller to sync outside the state lock, so that readers of published records do
    /// not wait on the disk. It stays open meanwhile: only `append`, on the same serial writer,
    /// closes a segment's writer. A failed sync must be reported with `dataSyncFailed(_:)`.
    func takeDataSync() -> File? {
        guard unsyncedData else { return nil }
        unsyncedData = false
        return writer
    }

    /// Refuses every later append after a data sync from `takeDataSync()` failed: what was
    /// written may or may not be on disk, and only a reopen (which re-reads the tail) knows.
    func dataSyncFailed(_ error: LedgerError) { failed = error }

    private func startSegment(firstSeq: UInt64) throws(LedgerError) {
        // Records still unsynced in the segment being closed must not depend on a later sync of another file.
        if unsyncedData, let writer { try writer.sync() }
        try trimPreallocation()
        let path = directory + "/" + Self.segmentName(firstSeq: firstSeq)
        let segment = Segment(firstSeq: firstSeq, path: path, count: 0, byteCount: UInt64(SegmentFormat.headerByteCount))
        // The index first: a segment file without one would look like lost index data.
        let index = try File.open(segment.indexPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try FileIO.createExclusive(path, SegmentFormat.header(firstSeq: firstSeq), mode: 0o644)
        writer?.close()
        writer = nil
        if let indexWriter { unsyncedIndexes.append(indexWriter) }
        indexWriter = index
        segments.append(segment)
        zeroedEnd = segment.byteCount
    }

    private func currentWriter() throws(LedgerError) -> File {
        if let writer { return writer }
        let file = try File.open(segments[segments.count - 1].path, flags: O_WRONLY)
        writer = file
        return file
    }

    private func currentIndexWriter() throws(LedgerError) -> File {
        if let indexWriter { return indexWriter }
        let file = try File.open(segments[segments.count - 1].indexPath, flags: O_WRONLY | O_CREAT)
        indexWriter = file
        return file
    }

    /// Hands over every index file with writes not yet synced (the live one as a duplicate
    /// descriptor, so this store can keep writing and closing its own).
    func takePendingSync() throws(LedgerError) -> PendingSync {
        var sync = PendingSync(files: unsyncedIndexes, directories: [])
        unsyncedIndexes.removeAll()
        if let indexWriter { sync.files.append(try indexWriter.duplicate()) }
        return sync
    }

    // MARK: Reading

    /// The frame offset and payload length of `seq`, from the index and the frame header.
    private func frameLocation(_ seq: UInt64) throws(LedgerError) -> (offset: UInt64, length: Int) {
        let segment = segments[segmentPosition(containing: seq)]
        let files = try readersFor(segment)
        let entry = try files.index.read(at: (seq - segment.firstSeq) * Self.indexEntryByteCount, count: 4)
        guard entry.count == 4 else {
            throw LedgerError(.damagedIndex, "the index has no entry for this seq", seq: seq, file: segment.indexPath)
        }
        let offset = UInt64(entry.readLittleEndianUInt32(at: 0))
        let header = try files.data.read(at: offset, count: SegmentFormat.frameHeaderByteCount)
        let length = header.count == SegmentFormat.frameHeaderByteCount ? Int(header.readLittleEndianUInt32(at: 0)) : 0
        guard offset >= UInt64(SegmentFormat.headerByteCount), length > SegmentFormat.signatureByteCount,
            length <= SegmentFormat.payloadByteCountMax
        else {
            throw LedgerError(
                .damagedIndex, "the index points at offset \(offset), where no record starts", seq: seq, file: segment.indexPath)
        }
        return (offset, length)
    }

    /// The stored signature and body of `seq`, checksum-checked.
    func record(_ seq: UInt64) throws(LedgerError) -> (signature: [UInt8], body: [UInt8]) {
        guard seq < count else { throw LedgerError(.notFound, "no entry with this seq (the log has \(count))", seq: seq) }
        let segment = segments[segmentPosition(containing: seq)]
        let (offset, length) = try frameLocation(seq)
        let bytes = try readersFor(segment).data.read(at: offset, count: SegmentFormat.frameHeaderByteCount + length)
        guard case .record(let signature, let body, _) = SegmentFormat.readFrame(bytes, at: 0) else {
            throw LedgerError(.damagedRecord, "stored record fails its checksum", seq: seq, file: segment.path)
        }
        return (Array(signature), Array(body))
    }

    /// Every record in `from..<to`, in order, read sequentially in large chunks (replay and
    /// export read the log this way rather than one seek per entry).
    func forEachRecord(
        from: UInt64, to: UInt64, _ visit: (UInt64, ArraySlice<UInt8>, ArraySlice<UInt8>) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        let chunkBytes = 4 << 20
        var seq = from
        while seq < min(to, count) {
            let segment = segments[segmentPosition(containing: seq)]
            let segmentEnd = min(to, segment.firstSeq + segment.count)
            var offset = try frameLocation(seq).offset
            // Where the range ends in this segment, when a record follows it: a slice is read
            // to there and no further (a whole chunk for every slice read up to twice its bytes).
            // The index only shortens the read: if it is off, whole chunks are read as before.
            var endOffset = segmentEnd < segment.firstSeq + segment.count ? (try? frameLocation(segmentEnd))?.offset : nil
            let data = try readersFor(segment).data
            while seq < segmentEnd {
                let wanted = endOffset.flatMap { $0 > offset ? Int(min(UInt64(chunkBytes), $0 - offset)) : nil } ?? chunkBytes
                let bytes = try data.read(at: offset, count: wanted)
                var position = 0
                while seq < segmentEnd {
                    guard case .record(let signature, let body, let next) = SegmentFormat.readFrame(bytes, at: position) else { break }
                    try visit(seq, signature, body)
                    seq += 1
                    position = next
                }
                guard position > 0 else {
                    if wanted < chunkBytes {
                        endOffset = nil
                        continue
                    }
                    throw LedgerError(.damagedRecord, "stored record fails its checksum or is cut short", seq: seq, file: segment.path)
                }
                offset += UInt64(position)
            }
        }
    }

    private func readersFor(_ segment: Segment) throws(LedgerError) -> (data: File, index: File) {
        if let open = readers[segment.firstSeq] { return open }
        let data = try File.open(segment.path, flags: O_RDONLY)
        let index: File
        do {
            index = try File.open(segment.indexPath, flags: O_RDONLY)
        } catch {
            throw LedgerError(.damagedIndex, "the index file cannot be opened: \(error.reason)", file: segment.indexPath)
        }
        readers[segment.firstSeq] = (data, index)
        return (data, index)
    }

    private func segmentPosition(containing seq: UInt64) -> Int {
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if segments[middle].firstSeq <= seq { low = middle } else { high = middle - 1 }
        }
        return low
    }

    func close() {
        if isWritable, failed == nil { try? trimPreallocation() }
        writer?.close()
        writer = nil
        indexWriter?.close()
        indexWriter = nil
        for file in unsyncedIndexes { file.close() }
        unsyncedIndexes.removeAll()
        for files in readers.values {
            files.data.close()
            files.index.close()
        }
        readers = [:]
    }
}
