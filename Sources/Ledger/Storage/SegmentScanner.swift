#if canImport(Glibc)
import Glibc
#endif

/// Reads every segment in order, checking headers and frames. It never changes a file:
/// `SegmentStore` decides what to truncate, `LedgerVerifier` only reports.
struct SegmentScanner {
    /// The first record that is cut short or fails its checks.
    struct Damage {
        let seq: UInt64
        let path: String
        let offset: Int
        let reason: String
        let isInLastSegment: Bool
        /// A whole, checksummed frame follows the damage, so it cannot be a torn tail.
        let isFollowedByValidFrame: Bool

        var error: LedgerError { LedgerError(.damagedRecord, reason, seq: seq, file: path) }
    }

    struct Result {
        var segments: [SegmentStore.Segment] = []
        var offsets: [UInt64] = []
        var damage: Damage?
        /// A last segment whose header was never completely written (a crash while creating it).
        var unfinishedSegment: String?
    }

    static func scan(
        directory: String, visit: (UInt64, ArraySlice<UInt8>, ArraySlice<UInt8>) throws(LedgerError) -> Void
    ) throws(LedgerError) -> Result {
        var result = Result()
        guard FileIO.isDirectory(directory) else { return result }
        let names = try FileIO.listDirectory(directory).filter { $0.hasSuffix(".seg") }
        for (position, name) in names.enumerated() {
            let path = directory + "/" + name
            let isLast = position == names.count - 1
            let bytes = try FileIO.readAll(path)
            let firstSeq = UInt64(result.offsets.count)
            switch SegmentFormat.parseHeader(bytes[...]) {
            case .failure(.incomplete) where isLast:
                result.unfinishedSegment = path
                return result
            case .failure:
                throw LedgerError(.damagedRecord, "segment header is damaged", seq: firstSeq, file: path)
            case .success(let stated):
                guard stated == firstSeq, name == SegmentStore.segmentName(firstSeq: stated) else {
                    throw LedgerError(
                        .missingSegment, "segment starts at seq \(stated) but seq \(firstSeq) comes next",
                        seq: firstSeq, file: path)
                }
            }
            var offset = SegmentFormat.headerByteCount
            while offset < bytes.count {
                let seq = UInt64(result.offsets.count)
                let reason: String
                switch SegmentFormat.readFrame(bytes, at: offset) {
                case .record(let signature, let body, let next):
                    try visit(seq, signature, body)
                    result.offsets.append(UInt64(offset))
                    offset = next
                    continue
                case .incomplete: reason = "record is cut short"
                case .damaged(let why): reason = why
                }
                result.segments.append(SegmentStore.Segment(firstSeq: firstSeq, path: path, byteCount: UInt64(offset)))
                result.damage = Damage(
                    seq: seq, path: path, offset: offset, reason: reason, isInLastSegment: isLast,
                    isFollowedByValidFrame: SegmentFormat.containsValidFrame(bytes, after: offset))
                return result
            }
            result.segments.append(SegmentStore.Segment(firstSeq: firstSeq, path: path, byteCount: UInt64(offset)))
        }
        return result
    }
}
