/// The bytes of segment files: a 32-byte header, then framed records (see ledger/FORMAT.md §Storage).
enum SegmentFormat {
    static let magic = Array("pahlawan-segment".utf8)
    static let version: UInt32 = 1
    static let headerByteCount = 32
    /// length (4) + checksum (4).
    static let frameHeaderByteCount = 8
    static let signatureByteCount = VerifierKey.signatureByteCount
    static let payloadByteCountMax = signatureByteCount + EntryBody.byteCountMax

    static func header(firstSeq: UInt64) -> [UInt8] {
        var bytes = magic
        bytes.appendLittleEndian(version)
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(firstSeq)
        return bytes
    }

    /// Returns the segment's first seq, or a reason the header is wrong.
    static func parseHeader(_ bytes: ArraySlice<UInt8>) -> Result<UInt64, HeaderProblem> {
        guard bytes.count >= headerByteCount else { return .failure(.incomplete) }
        let start = bytes.startIndex
        guard Array(bytes[start..<start + 16]) == magic, bytes.readLittleEndianUInt32(at: start + 16) == version,
            bytes.readLittleEndianUInt32(at: start + 20) == 0
        else { return .failure(.wrongMagic) }
        return .success(bytes.readLittleEndianUInt64(at: start + 24))
    }

    enum HeaderProblem: Error { case incomplete, wrongMagic }

    /// length ‖ CRC-32C(length ‖ payload) ‖ payload, payload = signature ‖ body.
    static func appendFrame(signature: [UInt8], body: [UInt8], to out: inout [UInt8]) {
        precondition(signature.count == signatureByteCount && body.count <= EntryBody.byteCountMax)
        let length = UInt32(signature.count + body.count)
        var lengthBytes = [UInt8]()
        lengthBytes.appendLittleEndian(length)
        var crc = CRC32C.checksum(lengthBytes)
        crc = CRC32C.checksum(signature, seed: crc)
        crc = CRC32C.checksum(body, seed: crc)
        out.append(contentsOf: lengthBytes)
        out.appendLittleEndian(crc)
        out.append(contentsOf: signature)
        out.append(contentsOf: body)
    }

    /// A frame found at an offset, or why none is there.
    enum FrameRead {
        case record(signature: ArraySlice<UInt8>, body: ArraySlice<UInt8>, next: Int)
        case incomplete
        case damaged(String)
    }

    static func readFrame(_ bytes: [UInt8], at offset: Int) -> FrameRead {
        guard offset + frameHeaderByteCount <= bytes.count else { return .incomplete }
        let length = Int(bytes.readLittleEndianUInt32(at: offset))
        guard length > signatureByteCount + 1, length <= payloadByteCountMax else {
            return .damaged("record length \(length) is outside \(signatureByteCount + 2)…\(payloadByteCountMax)")
        }
        guard offset + frameHeaderByteCount + length <= bytes.count else { return .incomplete }
        let stored = bytes.readLittleEndianUInt32(at: offset + 4)
        let computed = bytes.withUnsafeBytes { raw in
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 4]))
            let payloadStart = offset + frameHeaderByteCount
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[payloadStart..<payloadStart + length]), seed: crc)
        }
        guard stored == computed else { return .damaged("record checksum mismatch") }
        let payloadStart = offset + frameHeaderByteCount
        return .record(
            signature: bytes[payloadStart..<payloadStart + signatureByteCount],
            body: bytes[payloadStart + signatureByteCount..<payloadStart + length],
            next: payloadStart + length)
    }

    /// The frames of one segment: start offsets of whole frames, and what stopped the walk.
    static func walk(_ bytes: [UInt8]) -> (offsets: [Int], stop: (offset: Int, reason: String)?) {
        var offsets = [Int]()
        var offset = SegmentFormat.headerByteCount
        while offset < bytes.count {
            guard offset + SegmentFormat.frameHeaderByteCount <= bytes.count else { return (offsets, (offset, "record is cut short")) }
            let length = Int(bytes.readLittleEndianUInt32(at: offset))
            guard length > SegmentFormat.signatureByteCount + 1, length <= SegmentFormat.payloadByteCountMax else {
                return (offsets, (offset, "record length \(length) is outside \(SegmentFormat.signatureByteCount + 2)…\(SegmentFormat.payloadByteCountMax)"))
            }
            guard offset + SegmentFormat.frameHeaderByteCount + length <= bytes.count else { return (offsets, (offset, "record is cut short")) }
            offsets.append(offset)
            offset += SegmentFormat.frameHeaderByteCount + length
        }
        return (offsets, nil)
    }

    /// True when every byte from `start` on is zero: space preallocated ahead of the data.
    /// The body bytes of the frame at `offset` (one `walk` found, so its length is in bounds).
    static func body(_ bytes: [UInt8], frameAt offset: Int) -> ArraySlice<UInt8> {
        let length = Int(bytes.readLittleEndianUInt32(at: offset))
        return bytes[offset + frameHeaderByteCount + signatureByteCount..<offset + frameHeaderByteCount + length]
    }

    /// The signature bytes of the frame at `offset` (one `walk` found).
    static func signature(_ bytes: [UInt8], frameAt offset: Int) -> ArraySlice<UInt8> {
        bytes[offset + frameHeaderByteCount..<offset + frameHeaderByteCount + signatureByteCount]
    }

    static func isZero(_ bytes: [UInt8], from start: Int) -> Bool {
        bytes.withUnsafeBytes { raw in
            var index = start
            while index + 8 <= raw.count {
                if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
                index += 8
            }
            while index < raw.count {
                if raw[index] != 0 { return false }
                index += 1
            }
            return true
        }
    }

    /// True when some offset after `start` holds a whole, checksummed frame: then the damage at
    /// `start` is not a torn tail but a hole in acknowledged data.
    static func containsValidFrame(_ bytes: [UInt8], after start: Int) -> Bool {
        var offset = start + 1
        while offset + frameHeaderByteCount < bytes.count {
            if case .record = readFrame(bytes, at: offset) { return true }
            offset += 1
        }
        return false
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension Collection where Element == UInt8, Index == Int {
    func readLittleEndianUInt32(at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[offset + $1]) << (8 * UInt32($1)) }
    }

    func readLittleEndianUInt64(at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[offset + $1]) << (8 * UInt64($1)) }
    }
}
