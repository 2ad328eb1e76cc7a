import Foundation

/// The byte layout canonical order gives every body, used to build and read bodies without a
/// JSON round trip. RFC 8785 sorts the top-level keys as
/// `actor, key, kind, payload, policy | prev, seq, time, v`: everything before the bar is known
/// when a draft is submitted, so the caller encodes it (`head`) off the writer's thread; the
/// writer only appends the fields it decides (`tail`). Reading runs the other way: the tail's
/// fields have fixed shapes, so a reader finds them by scanning back from the end.
enum BodyLayout {

    /// `{"actor":…,"key":…,"kind":…,"payload":…,"policy":"…"` — a body without its tail.
    static func head(actor: String, key: KeyID, kind: String, payload: [String: JSONValue], policy: Hash) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256)
        out.append(contentsOf: #"{"actor":"#.utf8)
        CanonicalJSON.writeString(actor, into: &out)
        out.append(contentsOf: #","key":""#.utf8)
        appendHex(key.bytes, to: &out)
        out.append(contentsOf: #"","kind":"#.utf8)
        CanonicalJSON.writeString(kind, into: &out)
        out.append(contentsOf: #","payload":"#.utf8)
        CanonicalJSON.write(.object(payload), into: &out)
        out.append(contentsOf: #","policy":""#.utf8)
        policy.withUnsafeBytes { appendHex($0, to: &out) }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// Appends `,"prev":"…","seq":N,"time":T,"v":1}`.
    static func appendTail(prev: Hash, seq: UInt64, time: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: #","prev":""#.utf8)
        prev.withUnsafeBytes { appendHex($0, to: &out) }
        out.append(contentsOf: #"","seq":"#.utf8)
        CanonicalJSON.writeInteger(Int64(seq), into: &out)
        out.append(contentsOf: #","time":"#.utf8)
        CanonicalJSON.writeInteger(time, into: &out)
        out.append(contentsOf: #","v":1}"#.utf8)
    }

    /// The largest tail: 64 hex digits and two 16-digit integers (both below 2^53).
    static let tailByteCountMax = 120

    private static func appendHex(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        for byte in bytes {
            out.append(Hex.digit(byte >> 4))
            out.append(Hex.digit(byte & 0x0f))
        }
    }

    /// The fields a chain check needs, read from the end of a stored body.
    struct Tail: Equatable {
        var prev: Hash
        var seq: UInt64
        var time: Int64
    }

    /// Reads `prev`, `seq` and `time` from a body's last bytes, or nil when the body does not end
    /// the way every canonical body ends. It does not check the rest of the body; the strict
    /// decoder does that.
    static func readTail(_ body: UnsafeRawBufferPointer) -> Tail? {
        guard let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var end = body.count
        func expect(_ literal: [UInt8]) -> Bool {
            guard end >= literal.count else { return false }
            let start = end - literal.count
            for index in 0..<literal.count where base[start + index] != literal[index] { return false }
            end = start
            return true
        }
        func readNumber() -> UInt64? {
            var value: UInt64 = 0
            var scale: UInt64 = 1
            var digits = 0
            while end > 0, digits < 16 {
                let digit = base[end - 1] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                value += UInt64(digit) * scale
                scale *= 10
                digits += 1
                end -= 1
            }
            // Canonical integers have no leading zero (except 0 itself).
            guard digits > 0, digits == 1 || base[end] != UInt8(ascii: "0") else { return nil }
            return value
        }
        guard expect(Literals.version), let time = readNumber(), expect(Literals.time), let seq = readNumber(),
            expect(Literals.seq), end >= 64
        else { return nil }
        end -= 64
        var invalid: UInt8 = 0
        let digits = base + end
        let prev = hexNibbles.withUnsafeBufferPointer { table in
            Hash.filling { output in
                // Branch-free: an invalid digit maps to 0x10, which survives the OR below.
                for index in 0..<32 {
                    let high = table[Int(digits[2 * index])]
                    let low = table[Int(digits[2 * index + 1])]
                    invalid |= high | low
                    output[index] = high << 4 | (low & 0x0f)
                }
            }
        }
        guard invalid & 0x10 == 0, expect(Literals.prev) else { return nil }
        return Tail(prev: prev, seq: seq, time: Int64(time))
    }

    /// Lowercase hex digit → its value; every other byte → 0x10.
    private static let hexNibbles: [UInt8] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt8(byte) - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt8(byte) - UInt8(ascii: "a") + 10
        default: 0x10
        }
    }

    private enum Literals {
        static let version = Array(#","v":1}"#.utf8)
        static let time = Array(#","time":"#.utf8)
        static let seq = Array(#"","seq":"#.utf8)
        static let prev = Array(#","prev":""#.utf8)
    }

    /// The key id a body names, read from its fixed position after the actor.
    static func readKey(_ body: UnsafeRawBufferPointer) -> KeyID? { readHead(body)?.key }

    private static let rotationKind = Array(#"","kind":"key.rotated","#.utf8)

    /// The key id a body names and whether it is a `key.rotated` entry (its kind follows the key
    /// id at a fixed distance), without decoding it.
    static func readHead(_ body: UnsafeRawBufferPointer) -> (key: KeyID, isKeyRotation: Bool)? {
        let opening = Array(#"{"actor":""#.utf8)
        guard body.count > opening.count + 20, body.starts(with: opening) else { return nil }
        var index = opening.count
        // Actors are [a-z0-9._:-]: no quote or escape can occur inside one.
        while index < body.count, body[index] != UInt8(ascii: "\"") { index += 1 }
        let marker = Array(#"","key":""#.utf8)
        guard index + marker.count + 8 <= body.count, Array(body[index..<index + marker.count]) == marker else { return nil }
        index += marker.count
        var value: UInt32 = 0
        for offset in 0..<8 {
            guard let digit = hexValue(body[index + offset]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        index += 8
        let isKeyRotation = index + rotationKind.count <= body.count
            && memcmp(body.baseAddress! + index, rotationKind, rotationKind.count) == 0
        return (KeyID(value: value), isKeyRotation)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
