/// Rebuilds the derived files (the seq→offset index beside every segment and the hash tiles)
/// from the segments alone, then verifies the result against the signed checkpoint. It refuses
/// to run on a log with a damaged record: it rebuilds what can be recomputed, it repairs nothing.
public enum Reindex {
    public struct Report: Sendable {
        public var segments = 0
        public var entries: UInt64 = 0
        public var verification: LedgerVerifier.Report
    }

    public static func run(directory: DataDirectory, key: VerifierKey) throws(LedgerError) -> Report {
        let lock = try FileIO.lockExclusively(directory.lockFile)
        defer { lock.close() }
        let names = FileIO.isDirectory(directory.logDirectory)
            ? try FileIO.listDirectory(directory.logDirectory).filter { $0.hasSuffix(".seg") } : []
        if FileIO.isDirectory(directory.tileDirectory) {
            try FileIO.removeTree(directory.tileDirectory)
        }
        let tiles = try TileStore(directory: directory.tileDirectory, size: 0, lastLeaves: [], writable: true)
        var count: UInt64 = 0
        for name in names {
            let path = directory.logDirectory + "/" + name
            let bytes = try FileIO.readAll(path)
            guard case .success(let first) = SegmentFormat.parseHeader(bytes[...]), first == count,
                name == SegmentStore.segmentName(firstSeq: first)
            else {
                throw LedgerError(.missingSegment, "segment header or name does not continue at seq \(count)", seq: count, file: path)
            }
            let (offsets, stop) = SegmentFormat.walk(bytes)
            if let stop, !(name == names.last && SegmentFormat.isZero(bytes, from: stop.offset)) {
                throw LedgerError(.damagedRecord, stop.reason + "; open the ledger (a torn tail is truncated) or restore the file", seq: count + UInt64(offsets.count), file: path)
            }
            var index = [UInt8]()
            index.reserveCapacity(offsets.count * 4)
            for (position, offset) in offsets.enumerated() {
                guard case .record(_, let body, _) = SegmentFormat.readFrame(bytes, at: offset) else {
                    throw LedgerError(.damagedRecord, "record checksum mismatch", seq: count + UInt64(position), file: path)
                }
                try tiles.append(MerkleHash.leaf(body))
                index.appendLittleEndian(UInt32(offset))
            }
            try FileIO.writeAtomically(SegmentStore.indexPath(forSegment: path), index)
            count += UInt64(offsets.count)
        }
        try tiles.syncPending()
        tiles.close()
        return Report(segments: names.count, entries: count, verification: LedgerVerifier.verify(directory: directory, key: key))
    }
}
