import CChecksum

/// CRC-32C (Castagnoli), the record checksum: it detects torn and flipped bytes, not tampering
/// (tampering is what hashes and signatures are for). The CPU's CRC-32C instruction where
/// there is one (x86-64 SSE 4.2), otherwise slicing-by-8, because the verifier and replay
/// checksum every byte of the log and a byte-at-a-time table costs as much as the SHA-256.
public enum CRC32C {
    /// Whether `checksum` runs on the CPU's instruction (else on the tables below).
    public static let usesInstruction = pahlawan_crc32c_has_instruction() != 0

    /// Eight 256-entry tables, flattened: table k maps a byte k positions back in an 8-byte word.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var crc = UInt32(index)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[index] = crc
        }
        for table in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(table - 1) * 256 + index]
                tables[table * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xff)]
            }
        }
        return tables
    }()

    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard usesInstruction else { return tableChecksum(bytes, seed: seed) }
        guard let base = bytes.baseAddress else { return seed }
        return ~pahlawan_crc32c_instruction(~seed, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    /// The portable path, also the one the tests hold the instruction to.
    static func tableChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        guard var pointer = bytes.baseAddress else { return seed }
        var remaining = bytes.count
        tables.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            while remaining >= 8 {
                let low = UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                crc = t[7 * 256 + Int(low & 0xff)] ^ t[6 * 256 + Int((low >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xff)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xff)] ^ t[2 * 256 + Int((high >> 8) & 0xff)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xff)] ^ t[Int(high >> 24)]
                pointer += 8
                remaining -= 8
            }
            while remaining > 0 {
                crc = t[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
                pointer += 1
                remaining -= 1
            }
        }
        return ~crc
    }

    public static func checksum(_ bytes: some ContiguousBytes, seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }
}
