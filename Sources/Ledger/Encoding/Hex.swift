/// Lowercase hexadecimal, the only form hex takes in this project's formats.
public enum Hex {

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        // Hashes, ids and trace ids are hex-encoded on every answer: written straight into the
        // string's storage, without an intermediate array.
        if let encoded = bytes.withContiguousStorageIfAvailable({ encode(buffer: UnsafeRawBufferPointer($0)) }) { return encoded }
        return Array(bytes).withUnsafeBytes { encode(buffer: $0) }
    }

    private static func encode(buffer: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: buffer.count * 2) { out in
            var at = 0
            for byte in buffer {
                out[at] = digit(byte >> 4)
                out[at + 1] = digit(byte & 0x0f)
                at += 2
            }
            return at
        }
    }

    /// The lowercase hex digit of a value 0–15 (every hex writer in the module uses this one).
    @inline(__always) static func digit(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x57 + value }

    /// Accepts lowercase or uppercase digits; callers that need canonical form compare with `encode`.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    /// Accepts lowercase digits only (the canonical form), without a round trip through `encode`.
    public static func decodeLowercase(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { utf8 in
            guard utf8.count % 2 == 0 else { return nil }
            var out = [UInt8](repeating: 0, count: utf8.count / 2)
            for index in 0..<out.count {
                guard let high = lowercaseValue(utf8[2 * index]), let low = lowercaseValue(utf8[2 * index + 1]) else { return nil }
                out[index] = high << 4 | low
            }
            return out
        }
    }

    private static func lowercaseValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    /// The value of one hex digit, lowercase or uppercase; nil for any other byte.
    public static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
