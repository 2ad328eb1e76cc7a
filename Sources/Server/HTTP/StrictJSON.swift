import Ledger

/// Request bodies read once, strictly: RFC 8259 syntax over valid UTF-8, no duplicate keys, a
/// small nesting bound, and numbers kept as written so that only the field that wants an
/// integer decides whether `4200`, `4200.0` or `1e400` is one. Every refusal is a `Problem`
/// naming the field, never a trap and never a 5xx: the bytes are any caller's.
enum StrictJSON {
    /// Bodies nest two deep (an object holding a serial range or a list of strings); deeper
    /// input is refused before it is recursed into.
    static let nestingDepthMax = 8

    /// A parsed value; numbers keep their literal text.
    indirect enum Value {
        case object([String: Value])
        case array([Value])
        case string(String)
        case number(Number)
        case bool(Bool)
        case null

        var kind: String {
            switch self {
            case .object: "an object"
            case .array: "an array"
            case .string: "a string"
            case .number: "a number"
            case .bool: "a boolean"
            case .null: "null"
            }
        }
    }

    /// A JSON number as written: `isInteger` when it has no fraction and no exponent.
    struct Number {
        let text: String
        let isInteger: Bool
    }

    /// Parses `bytes` as one JSON value with nothing after it.
    /// - Throws: `Problem` `malformedRequest` (syntax, UTF-8, depth) or `duplicateField`.
    static func parse(_ bytes: [UInt8]) throws(Problem) -> Value {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0, path: "")
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.malformed("bytes after the JSON value") }
        return value
    }

    /// The field path for a detail: `range.first`, `evidence[2]`.
    static func path(_ parent: String, key: String) -> String { parent.isEmpty ? key : parent + "." + key }
    static func path(_ parent: String, index: Int) -> String { parent + "[\(index)]" }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        func malformed(_ reason: String, at offset: Int? = nil) -> Problem {
            Problem.badRequest("the body is not valid JSON: \(reason) at byte \(offset ?? position)")
        }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        func peek() throws(Problem) -> UInt8 {
            guard position < bytes.count else { throw malformed("input ends too early") }
            return bytes[position]
        }

        mutating func expect(_ literal: StaticString) throws(Problem) {
            let start = position
            for offset in 0..<literal.utf8CodeUnitCount {
                guard position < bytes.count, bytes[position] == literal.utf8Start[offset] else { throw malformed("unexpected byte", at: start) }
                position += 1
            }
        }

        mutating func parseValue(depth: Int, path: String) throws(Problem) -> Value {
            switch try peek() {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1, path: path)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1, path: path)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw malformed("unexpected byte")
            }
        }

        mutating func parseObject(depth: Int, path: String) throws(Problem) -> Value {
            guard depth <= StrictJSON.nestingDepthMax else { throw malformed("nesting deeper than \(StrictJSON.nestingDepthMax)") }
            position += 1
            var members: [String: Value] = [:]
            skipWhitespace()
            if try peek() == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard try peek() == UInt8(ascii: "\"") else { throw malformed("expected a key") }
                let key = try parseString()
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                let field = StrictJSON.path(path, key: key)
                let value = try parseValue(depth: depth, path: field)
                // Two readers of a duplicated key may each see a different value: refuse it.
                guard members.updateValue(value, forKey: key) == nil else {
                    throw Problem(.badRequest, "duplicateField", "A field appears twice", detail: field)
                }
                skipWhitespace()
                let separator = try peek()
                position += 1
                if separator == UInt8(ascii: "}") { return .object(members) }
                guard separator == UInt8(ascii: ",") else { throw malformed("expected , or }", at: position - 1) }
            }
        }

        mutating func parseArray(depth: Int, path: String) throws(Problem) -> Value {
            guard depth <= StrictJSON.nestingDepthMax else { throw malformed("nesting deeper than \(StrictJSON.nestingDepthMax)") }
            position += 1
            var elements: [Value] = []
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth, path: StrictJSON.path(path, index: elements.count)))
                skipWhitespace()
                let separator = try peek()
                position += 1
                if separator == UInt8(ascii: "]") { return .array(elements) }
                guard separator == UInt8(ascii: ",") else { throw malformed("expected , or ]", at: position - 1) }
            }
        }

        mutating func digits() -> Int {
            let start = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            return position - start
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func parseNumber() throws(Problem) -> Number {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            let integerStart = position
            let integerDigits = digits()
            guard integerDigits > 0 else { throw malformed("a number needs digits", at: start) }
            guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { throw malformed("leading zero", at: start) }
            var isInteger = true
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                isInteger = false
                guard digits() > 0 else { throw malformed("a fraction needs digits", at: start) }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                isInteger = false
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { throw malformed("an exponent needs digits", at: start) }
            }
            return Number(text: String(decoding: bytes[start..<position], as: UTF8.self), isInteger: isInteger)
        }

        mutating func parseString() throws(Problem) -> String {
            let start = position
            position += 1
            var buffer: [UInt8] = []
            while true {
                guard position < bytes.count else { throw malformed("unterminated string", at: start) }
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    guard let text = String(validating: buffer, as: UTF8.self) else { throw malformed("invalid UTF-8 in a string", at: start) }
                    return text
                case UInt8(ascii: "\\"):
                    position += 1
                    try parseEscape(into: &buffer)
                case 0x00..<0x20:
                    throw malformed("unescaped control character in a string")
                default:
                    buffer.append(byte)
                    position += 1
                }
            }
        }

        mutating func hex4() throws(Problem) -> UInt32 {
            guard position + 4 <= bytes.count else { throw malformed("input ends too early") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw malformed("invalid \\u escape")
                }
                value = value << 4 | digit
                position += 1
            }
            return value
        }

        mutating func parseEscape(into buffer: inout [UInt8]) throws(Problem) {
            let escape = try peek()
            position += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw malformed("unpaired UTF-16 surrogate escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw malformed("unpaired UTF-16 surrogate escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw malformed("unpaired UTF-16 surrogate escape") }
                buffer.append(contentsOf: String(Character(unicode)).utf8)
            default:
                throw malformed("invalid escape sequence", at: position - 1)
            }
        }
    }
}

// MARK: Decoding a parsed body into a Decodable type

extension StrictJSON {
    /// Decodes `value` as `type`, then refuses any object key the type did not read (at any
    /// depth: a nested serial range is as strict as the body around it).
    static func decode<T: Decodable>(_ type: T.Type, from value: Value) throws -> T {
        let usage = Usage()
        let decoded = try T(from: StrictDecoder(value: value, path: "", usage: usage))
        if let unknown = usage.unread().first {
            throw Problem(.badRequest, "unknownField", "The body has fields this route does not take", detail: unknown)
        }
        return decoded
    }

    /// The keys of every object that was decoded, and those the decoding asked about.
    final class Usage {
        private var present: [String: Set<String>] = [:]
        private var read: [String: Set<String>] = [:]

        func entered(_ path: String, keys: some Sequence<String>) { present[path, default: []].formUnion(keys) }
        func asked(_ path: String, key: String) { read[path, default: []].insert(key) }

        func unread() -> [String] {
            present.flatMap { path, keys in keys.subtracting(read[path] ?? []).map { StrictJSON.path(path, key: $0) } }.sorted()
        }
    }

    static func wrongType(_ path: String, _ expected: String, _ value: Value) -> Problem {
        Problem(.badRequest, "wrongType", "A field has the wrong type", detail: "\(path.isEmpty ? "the body" : path) must be \(expected), not \(value.kind)")
    }

    struct StrictDecoder: Decoder {
        let value: Value
        let path: String
        let usage: Usage
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard case .object(let members) = value else { throw StrictJSON.wrongType(path, "an object", value) }
            usage.entered(path, keys: members.keys)
            return KeyedDecodingContainer(Keyed<Key>(members: members, path: path, usage: usage))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            guard case .array(let elements) = value else { throw StrictJSON.wrongType(path, "an array", value) }
            return Unkeyed(elements: elements, path: path, usage: usage)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: value, path: path, usage: usage) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: [String: Value]
        let path: String
        let usage: Usage
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool {
            usage.asked(path, key: key.stringValue)
            return members[key.stringValue] != nil
        }

        /// An explicit null is not "absent": optional fields are left out, never null.
        func decodeNil(forKey key: Key) throws -> Bool {
            usage.asked(path, key: key.stringValue)
            return false
        }

        func child(_ key: Key) throws -> StrictDecoder {
            usage.asked(path, key: key.stringValue)
            let field = StrictJSON.path(path, key: key.stringValue)
            guard let value = members[key.stringValue] else {
                throw Problem(.badRequest, "missingField", "A required field is missing", detail: field)
            }
            return StrictDecoder(value: value, path: field, usage: usage)
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try T(from: child(key)) }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Bool(from: child(key)) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try String(from: child(key)) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Double(from: child(key)) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try Float(from: child(key)) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Int(from: child(key)) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try Int8(from: child(key)) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try Int16(from: child(key)) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try Int32(from: child(key)) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Int64(from: child(key)) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try UInt(from: child(key)) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try UInt8(from: child(key)) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try UInt16(from: child(key)) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try UInt32(from: child(key)) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try UInt64(from: child(key)) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try child(key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
        func superDecoder() throws -> any Decoder { StrictDecoder(value: .object(members), path: path, usage: usage) }
        func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let elements: [Value]
        let path: String
        let usage: Usage
        var currentIndex = 0
        var codingPath: [any CodingKey] { [] }
        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        mutating func decodeNil() throws -> Bool { false }

        mutating func next() throws -> StrictDecoder {
            guard !isAtEnd else { throw Problem(.badRequest, "missingField", "A list is too short", detail: StrictJSON.path(path, index: currentIndex)) }
            defer { currentIndex += 1 }
            return StrictDecoder(value: elements[currentIndex], path: StrictJSON.path(path, index: currentIndex), usage: usage)
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: next()) }
        mutating func decode(_ type: Bool.Type) throws -> Bool { try Bool(from: next()) }
        mutating func decode(_ type: String.Type) throws -> String { try String(from: next()) }
        mutating func decode(_ type: Double.Type) throws -> Double { try Double(from: next()) }
        mutating func decode(_ type: Float.Type) throws -> Float { try Float(from: next()) }
        mutating func decode(_ type: Int.Type) throws -> Int { try Int(from: next()) }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try Int8(from: next()) }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try Int16(from: next()) }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try Int32(from: next()) }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try Int64(from: next()) }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try UInt(from: next()) }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try UInt8(from: next()) }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try UInt16(from: next()) }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try UInt32(from: next()) }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try UInt64(from: next()) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next() }
    }

    struct Single: SingleValueDecodingContainer {
        let value: Value
        let path: String
        let usage: Usage
        var codingPath: [any CodingKey] { [] }

        func decodeNil() -> Bool { false }

        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let flag) = value else { throw StrictJSON.wrongType(path, "a boolean", value) }
            return flag
        }

        func decode(_ type: String.Type) throws -> String {
            guard case .string(let text) = value else { throw StrictJSON.wrongType(path, "a string", value) }
            return text
        }

        // Bodies carry no floating point (DESIGN.md §3): amounts are integer rupiah and grams.
        func decode(_ type: Double.Type) throws -> Double { throw StrictJSON.wrongType(path, "an integer", value) }
        func decode(_ type: Float.Type) throws -> Float { throw StrictJSON.wrongType(path, "an integer", value) }

        /// An integer literal within ±(2^53 − 1) (what every JSON reader reproduces) that also
        /// fits `T`; `4200.0` and `42e2` are not integers here.
        func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
            guard case .number(let number) = value, number.isInteger else { throw StrictJSON.wrongType(path, "an integer", value) }
            let magnitude = number.text.utf8.drop(while: { $0 == UInt8(ascii: "-") })
            // 16 digits already exceed 2^53, so the conversion below cannot overflow.
            guard magnitude.count <= 16, let parsed = Int64(number.text), (-JSONValue.integerMagnitudeMax...JSONValue.integerMagnitudeMax).contains(parsed),
                let fitted = T(exactly: parsed)
            else { throw Problem.numberOutOfRange(path) }
            return fitted
        }

        func decode(_ type: Int.Type) throws -> Int { try integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: StrictDecoder(value: value, path: path, usage: usage)) }
    }
}
