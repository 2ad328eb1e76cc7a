#if canImport(Glibc)
import Glibc
#endif

/// Append-only segment files in `<data dir>/log/`, named by their first seq. One writer.
final class SegmentStore {
    /// A segment is closed and a new one started once it reaches this size.
    static let segmentBytesMax: UInt64 = 64 << 20

    struct Segment {
        let firstSeq: UInt64
        let path: String
        var byteCount: UInt64
    }

    let directory: String
    private(set) var segments: [Segment] = []
    /// seq → byte offset of its frame within its segment; rebuilt by scanning on open.
    private var offsets: [UInt64] = []
    private var readers: [UInt64: File] = [:]
    private var writer: File?
    /// Set after a failed write or sync: the file's state is unknown, so nothing more is appended.
    private var failed: LedgerError?

    var count: UInt64 { UInt64(offsets.count) }

    private init(directory: String) { self.directory = directory }

    static func segmentName(firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return String(repeating: "0", count: 20 - digits.count) + digits + ".seg"
    }

    /// Opens (creating if needed) the store, calling `visit` for every complete record in order.
    /// A torn tail in the last segment is truncated, but only beyond `protectedCount` entries
    /// (the latest checkpoint's size): those were acknowledged, so damage there is an error.
    static func open(
        directory: String, protectedCount: UInt64,
        visit: (UInt64, ArraySlice<UInt8>, ArraySlice<UInt8>) throws(LedgerError) -> Void
    ) throws(LedgerError) -> SegmentStore {
        try FileIO.makeDirectories(directory)
        let scan = try SegmentScanner.scan(directory: directory, visit: visit)
        if let damage = scan.damage {
            guard damage.isInLastSegment, damage.seq >= protectedCount, !damage.isFollowedByValidFrame else {
                throw damage.error
            }
            let file = try File.open(damage.path, flags: O_WRONLY)
            try file.truncate(to: UInt64(damage.offset))
            try file.sync()
            file.close()
        }
        if let unfinished = scan.unfinishedSegment {
            guard unlink(unfinished) == 0 else { throw FileIO.failure("unlink", unfinished) }
            try FileIO.syncDirectory(directory)
        }
        let store = SegmentStore(directory: directory)
        store.segments = scan.segments
        store.offsets = scan.offsets
        return store
    }

    /// Writes the records in one `pwrite` and one `fdatasync`; returns only once they are durable.
    func append(_ records: [(signature: [UInt8], body: [UInt8])]) throws(LedgerError) {
        if let failed { throw LedgerError(.storageFailure, "an earlier write failed; reopen the ledger (\(failed.reason))") }
        var frames = [UInt8]()
        var frameOffsets = [Int]()
        for record in records {
            frameOffsets.append(frames.count)
            SegmentFormat.appendFrame(signature: record.signature, body: record.body, to: &frames)
        }
        do {
            if segments.isEmpty || (segments[segments.count - 1].byteCount + UInt64(frames.count) > Self.segmentBytesMax
                && segments[segments.count - 1].firstSeq < count)
            {
                try startSegment(firstSeq: count)
            }
            let writer = try currentWriter()
            let base = segments[segments.count - 1].byteCount
            try writer.write(frames, at: base)
            try writer.sync()
            segments[segments.count - 1].byteCount = base + UInt64(frames.count)
            offsets.append(contentsOf: frameOffsets.map { base + UInt64($0) })
        } catch {
            failed = error
            throw error
        }
    }

    private func startSegment(firstSeq: UInt64) throws(LedgerError) {
        let path = directory + "/" + Self.segmentName(firstSeq: firstSeq)
        let header = SegmentFormat.header(firstSeq: firstSeq)
        try FileIO.createExclusive(path, header, mode: 0o644)
        writer?.close()
        writer = nil
        segments.append(Segment(firstSeq: firstSeq, path: path, byteCount: UInt64(header.count)))
    }

    private func currentWriter() throws(LedgerError) -> File {
        if let writer { return writer }
        let file = try File.open(segments[segments.count - 1].path, flags: O_WRONLY)
        writer = file
        return file
    }

    /// The stored signature and body of `seq`, checksum-checked.
    func record(_ seq: UInt64) throws(LedgerError) -> (signature: [UInt8], body: [UInt8]) {
        guard seq < count else { throw LedgerError(.notFound, "no entry with this seq (the log has \(count))", seq: seq) }
        let index = segmentIndex(containing: seq)
        let segment = segments[index]
        let file: File
        if let open = readers[segment.firstSeq] {
            file = open
        } else {
            file = try File.open(segment.path, flags: O_RDONLY)
            readers[segment.firstSeq] = file
        }
        let offset = offsets[Int(seq)]
        let end = seq + 1 < count && segmentIndex(containing: seq + 1) == index
            ? offsets[Int(seq + 1)] : segment.byteCount
        let bytes = try file.read(at: offset, count: Int(end - offset))
        guard case .record(let signature, let body, _) = SegmentFormat.readFrame(bytes, at: 0) else {
            throw LedgerError(.damagedRecord, "stored record fails its checksum", seq: seq, file: segment.path)
        }
        return (Array(signature), Array(body))
    }

    private func segmentIndex(containing seq: UInt64) -> Int {
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if segments[middle].firstSeq <= seq { low = middle } else { high = middle - 1 }
        }
        return low
    }

    func close() {
        writer?.close()
        writer = nil
        for reader in readers.values { reader.close() }
        readers = [:]
    }
}
