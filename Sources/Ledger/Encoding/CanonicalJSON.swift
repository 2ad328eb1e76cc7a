/// RFC 8785 (JCS) canonical JSON for the subset the ledger allows (integers, strings,
/// booleans, arrays, objects): the one byte sequence every entry body must be.
public enum CanonicalJSON {
    /// How deeply arrays and objects may nest; deeper input is rejected rather than recursed into.
    public static let nestingDepthMax = 32

    /// Why a byte sequence is not acceptable JSON for the ledger; `offset` is the byte where it went wrong.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public enum Reason: String, Sendable {
            case unexpectedEnd = "input ends too early"
            case unexpectedByte = "unexpected byte"
            case trailingBytes = "bytes after the JSON value"
            case floatNotAllowed = "floating-point numbers are not allowed (use integers: rupiah, grams, microseconds)"
            case nullNotAllowed = "null is not allowed (leave the key out)"
            case integerOutOfRange = "integer outside ±(2^53 − 1)"
            case duplicateKey = "duplicate object key"
            case invalidUTF8 = "invalid UTF-8"
            case invalidEscape = "invalid escape sequence"
            case loneSurrogate = "unpaired UTF-16 surrogate escape"
            case controlCharacter = "unescaped control character in string"
            case tooDeep = "nesting deeper than the limit"
        }
        public let reason: Reason
        public let offset: Int
        public var description: String { "\(reason.rawValue) at byte \(offset)" }
    }

    // MARK: Serialising

    /// The canonical bytes of `value`. Integers beyond ±(2^53 − 1) are a programmer error here;
    /// validation rejects them before anything is serialised for the ledger.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .integer(let number):
            writeInteger(number, into: &out)
        case .string(let text):
            writeString(text, into: &out)
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // The members themselves are sorted: sorting the keys and looking each value up
            // hashed every key once more.
            for (index, member) in sorted(Array(members), byKey: { $0.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// JCS orders object members by the UTF-16 code units of their keys, not by code points.
    /// Below U+E000 (no byte 0xEE or above in UTF-8) the UTF-16 order is the order of the UTF-8
    /// bytes, which Swift strings hold natively, so such keys (all of ours) skip transcoding.
    public static func sortedKeys(_ keys: some Sequence<String>) -> [String] { sorted(Array(keys), byKey: { $0 }) }

    /// `members` in the JCS order of their keys (`sortedKeys`): an object's members here, and
    /// the members of writers that hold them in a list rather than a `JSONValue` object.
    /// Inlinable so that each caller's member type and key closure are specialised: through a
    /// generic call (and a key path) the sort was half of a request's log line (issue 19).
    @inlinable
    public static func sorted<Member>(_ members: [Member], byKey key: (Member) -> String) -> [Member] {
        // ASCII keys (all the ledger's own) compare fastest as Strings: ASCII text is always in
        // NFC, so `<` compares its bytes, which is the UTF-16 order.
        if members.allSatisfy({ key($0).utf8.allSatisfy { $0 < 0x80 } }) { return members.sorted { key($0) < key($1) } }
        guard members.allSatisfy({ key($0).utf8.allSatisfy { $0 < 0xEE } }) else {
            return members.sorted { key($0).utf16.lexicographicallyPrecedes(key($1).utf16) }
        }
        return members.sorted { key($0).utf8.lexicographicallyPrecedes(key($1).utf8) }
    }

    /// Appends the decimal digits of `number` (with its sign), as JSON writes an integer,
    /// without making a String of it.
    public static func writeInteger(_ number: Int64, into out: inout [UInt8]) {
        if number < 0 { out.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt64.max has 20 digits
        var count = 0
        var rest = number.magnitude
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }


    /// ECMAScript JSON.stringify escaping, which JCS adopts: only `"`, `\` and C0 controls.
    public static func writeString(_ text: String, into out: inout [UInt8]) {
        var text = text
        // Native strings are contiguous UTF-8; this only copies a bridged one.
        text.withUTF8 { writeString(utf8: UnsafeRawBufferPointer($0), into: &out) }
    }

    /// `writeString` over the UTF-8 bytes of a string.
    public static func writeString(utf8 bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Copies the runs between bytes that need an escape in one go (most strings have none).
        var runStart = 0
        for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            if index > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index])) }
            runStart = index + 1
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                out.append(Hex.digit(byte >> 4))
                out.append(Hex.digit(byte & 0x0f))
            }
        }
        if bytes.count > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart...])) }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: Parsing

    /// Parses strict RFC 8259 JSON, rejecting floats, nulls, duplicate keys and lone surrogates.
    /// It does not require canonical form; `isCanonical` compares against `encode`.
    public static func parse(_ bytes: some ContiguousBytes) throws(ParseError) -> JSONValue {
        let result: Result<JSONValue, ParseError> = bytes.withUnsafeBytes { raw in
            var parser = Parser(bytes: raw)
            do {
                parser.skipWhitespace()
                let value = try parser.parseValue(depth: 0)
                parser.skipWhitespace()
                guard parser.position == raw.count else {
                    throw ParseError(reason: .trailingBytes, offset: parser.position)
                }
                return .success(value)
            } catch let error as ParseError {
                return .failure(error)
            } catch {
                preconditionFailure("parser throws only ParseError")
            }
        }
        return try result.get()
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        func fail(_ reason: ParseError.Reason, at offset: Int? = nil) -> ParseError {
            ParseError(reason: reason, offset: offset ?? position)
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        func peek() throws(ParseError) -> UInt8 {
            guard position < bytes.count else { throw fail(.unexpectedEnd) }
            return bytes[position]
        }

        mutating func expect(_ literal: String) throws(ParseError) {
            for byte in literal.utf8 {
                guard position < bytes.count else { throw fail(.unexpectedEnd) }
                guard bytes[position] == byte else { throw fail(.unexpectedByte) }
                position += 1
            }
        }

        mutating func parseValue(depth: Int) throws(ParseError) -> JSONValue {
            switch try peek() {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"):
                let start = position
                try expect("null")
                throw fail(.nullNotAllowed, at: start)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw fail(.unexpectedByte)
            }
        }

        mutating func parseObject(depth: Int) throws(ParseError) -> JSONValue {
            guard depth <= CanonicalJSON.nestingDepthMax else { throw fail(.tooDeep) }
            position += 1
            var members = [String: JSONValue]()
            skipWhitespace()
            if try peek() == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard try peek() == UInt8(ascii: "\"") else { throw fail(.unexpectedByte) }
                let keyStart = position
                let key = try parseString()
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                let value = try parseValue(depth: depth)
                guard members.updateValue(value, forKey: key) == nil else {
                    throw fail(.duplicateKey, at: keyStart)
                }
                skipWhitespace()
                let separator = try peek()
                position += 1
                if separator == UInt8(ascii: "}") { return .object(members) }
                guard separator == UInt8(ascii: ",") else { throw fail(.unexpectedByte, at: position - 1) }
            }
        }

        mutating func parseArray(depth: Int) throws(ParseError) -> JSONValue {
            guard depth <= CanonicalJSON.nestingDepthMax else { throw fail(.tooDeep) }
            position += 1
            var elements = [JSONValue]()
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                let separator = try peek()
                position += 1
                if separator == UInt8(ascii: "]") { return .array(elements) }
                guard separator == UInt8(ascii: ",") else { throw fail(.unexpectedByte, at: position - 1) }
            }
        }

        mutating func parseNumber() throws(ParseError) -> JSONValue {
            let start = position
            var negative = false
            if bytes[position] == UInt8(ascii: "-") {
                negative = true
                position += 1
            }
            let digitsStart = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                position += 1
            }
            let digitCount = position - digitsStart
            guard digitCount > 0 else { throw fail(.unexpectedByte) }
            if digitCount > 1 && bytes[digitsStart] == UInt8(ascii: "0") {
                throw fail(.unexpectedByte, at: digitsStart + 1)
            }
            if position < bytes.count {
                let next = bytes[position]
                if next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
                    throw fail(.floatNotAllowed, at: start)
                }
            }
            // 16 digits already exceed 2^53; refusing early keeps the arithmetic from overflowing.
            guard digitCount <= 16 else { throw fail(.integerOutOfRange, at: start) }
            var magnitude: Int64 = 0
            for index in digitsStart..<position {
                magnitude = magnitude * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            }
            guard magnitude <= JSONValue.integerMagnitudeMax else { throw fail(.integerOutOfRange, at: start) }
            return .integer(negative ? -magnitude : magnitude)
        }

        mutating func parseString() throws(ParseError) -> String {
            position += 1
            let start = position
            var decoded: [UInt8]? = nil
            var runStart = start
            var isASCII = true
            while true {
                guard position < bytes.count else { throw fail(.unexpectedEnd) }
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let text: String?
                    if var decoded {
                        decoded.append(contentsOf: bytes[runStart..<position])
                        text = String(validating: decoded, as: UTF8.self)
                    } else if isASCII {
                        // ASCII is valid UTF-8 as it stands; the generic validating path is slow.
                        text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]).assumingMemoryBound(to: UInt8.self), as: UTF8.self)
                    } else {
                        text = String(validating: bytes[start..<position], as: UTF8.self)
                    }
                    guard let text else { throw fail(.invalidUTF8, at: start) }
                    position += 1
                    return text
                }
                if byte < 0x20 { throw fail(.controlCharacter) }
                if byte >= 0x80 { isASCII = false }
                if byte == UInt8(ascii: "\\") {
                    var buffer = decoded ?? []
                    buffer.append(contentsOf: bytes[runStart..<position])
                    try parseEscape(into: &buffer)
                    decoded = buffer
                    runStart = position
                    continue
                }
                position += 1
            }
        }

        mutating func parseEscape(into buffer: inout [UInt8]) throws(ParseError) {
            let escapeStart = position
            position += 1
            guard position < bytes.count else { throw fail(.unexpectedEnd) }
            let code = bytes[position]
            position += 1
            switch code {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                let first = try parseHex4()
                var scalarValue = UInt32(first)
                if (0xD800...0xDBFF).contains(first) {
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw fail(.loneSurrogate, at: escapeStart) }
                    position += 2
                    let second = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(second) else { throw fail(.loneSurrogate, at: escapeStart) }
                    scalarValue = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(first) {
                    throw fail(.loneSurrogate, at: escapeStart)
                }
                guard let scalar = Unicode.Scalar(scalarValue) else { throw fail(.invalidEscape, at: escapeStart) }
                buffer.append(contentsOf: String(Character(scalar)).utf8)
            default:
                throw fail(.invalidEscape, at: escapeStart)
            }
        }

        mutating func parseHex4() throws(ParseError) -> UInt16 {
            guard position + 4 <= bytes.count else { throw fail(.unexpectedEnd) }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let digit = bytes[position]
                let nibble: UInt16
                switch digit {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt16(digit - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt16(digit - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = UInt16(digit - UInt8(ascii: "A") + 10)
                default: throw fail(.invalidEscape)
                }
                value = value << 4 | nibble
                position += 1
            }
            return value
        }
    }
}
