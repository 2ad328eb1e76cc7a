#if canImport(Glibc)
import Glibc
#endif

/// A read-only view of one JSON object inside a byte buffer that finds members by key without
/// building a tree: the fast path for reading many bodies (replay), where parsing into
/// `JSONValue` dictionaries costs several times more than the work done with the result.
/// Values are decoded only when asked for. Malformed JSON throws; keys are compared as written
/// (entry bodies never escape characters in keys). Use `CanonicalJSON.parse` to validate.
public struct JSONObjectView: Sendable {
    public let bytes: [UInt8]
    /// Key (without quotes) and value byte ranges, in document order, and for object values
    /// their view's index in `objects` (scanned once, with their parent).
    private var members: [(key: Range<Int>, value: Range<Int>, object: Int)] = []
    private var objects: [JSONObjectView] = []

    /// Views the top-level object of `bytes`.
    public init(bytes: [UInt8]) throws(JSONViewError) {
        var position = 0
        try self.init(bytes: bytes, position: &position)
    }

    init(bytes: [UInt8], position: inout Int, depth: Int = 1) throws(JSONViewError) {
        guard depth <= CanonicalJSON.nestingDepthMax else { throw JSONViewError(offset: position) }
        self.bytes = bytes
        var members = [(key: Range<Int>, value: Range<Int>, object: Int)]()
        members.reserveCapacity(16)
        var objects = [JSONObjectView]()
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONViewError) in
            var scanner = JSONScanner(bytes: buffer, position: position)
            scanner.skipWhitespace()
            try scanner.expect(UInt8(ascii: "{"))
            scanner.skipWhitespace()
            if try scanner.peek() == UInt8(ascii: "}") {
                scanner.position += 1
            } else {
                while true {
                    scanner.skipWhitespace()
                    let keyStart = scanner.position + 1
                    try scanner.skipString()
                    let key = keyStart..<(scanner.position - 1)
                    scanner.skipWhitespace()
                    try scanner.expect(UInt8(ascii: ":"))
                    scanner.skipWhitespace()
                    let valueStart = scanner.position
                    if try scanner.peek() == UInt8(ascii: "{") {
                        var end = valueStart
                        objects.append(try JSONObjectView(bytes: bytes, position: &end, depth: depth + 1))
                        scanner.position = end
                        members.append((key, valueStart..<end, objects.count - 1))
                    } else {
                        try scanner.skipValue(depth: depth)
                        members.append((key, valueStart..<scanner.position, -1))
                    }
                    scanner.skipWhitespace()
                    let separator = try scanner.peek()
                    scanner.position += 1
                    if separator == UInt8(ascii: "}") { break }
                    guard separator == UInt8(ascii: ",") else { throw JSONViewError(offset: scanner.position - 1) }
                }
            }
            position = scanner.position
        }
        self.members = members
        self.objects = objects
    }

    /// The byte range of the value under `key`, if present.
    public func valueRange(_ key: String) -> Range<Int>? { memberIndex(key).map { members[$0].value } }

    private func memberIndex(_ key: String) -> Int? {
        var key = key
        return key.withUTF8 { name in
            for (index, member) in members.enumerated() where member.key.count == name.count {
                var equal = true
                for offset in 0..<name.count where bytes[member.key.lowerBound + offset] != name[offset] {
                    equal = false
                    break
                }
                if equal { return index }
            }
            return nil
        }
    }

    public func contains(_ key: String) -> Bool { valueRange(key) != nil }

    public func string(_ key: String) -> String? { valueRange(key).flatMap { JSONObjectView.string(bytes, $0) } }

    public func integer(_ key: String) -> Int64? { valueRange(key).flatMap { JSONObjectView.integer(bytes, $0) } }

    public func bool(_ key: String) -> Bool? {
        guard let range = valueRange(key) else { return nil }
        switch bytes[range.lowerBound] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: return nil
        }
    }

    /// The nested object under `key`, if it is one.
    public func object(_ key: String) -> JSONObjectView? {
        guard let index = memberIndex(key), members[index].object >= 0 else { return nil }
        return objects[members[index].object]
    }

    /// The elements of the array under `key` as byte ranges, if it is one.
    public func arrayElements(_ key: String) -> [Range<Int>]? {
        guard let range = valueRange(key), bytes[range.lowerBound] == UInt8(ascii: "[") else { return nil }
        return try? bytes.withUnsafeBufferPointer { (buffer) throws(JSONViewError) in
            var scanner = JSONScanner(bytes: buffer, position: range.lowerBound + 1)
            var elements = [Range<Int>]()
            elements.reserveCapacity(16)
            scanner.skipWhitespace()
            if try scanner.peek() == UInt8(ascii: "]") { return elements }
            while true {
                scanner.skipWhitespace()
                let start = scanner.position
                try scanner.skipValue(depth: 1)
                elements.append(start..<scanner.position)
                scanner.skipWhitespace()
                let separator = try scanner.peek()
                scanner.position += 1
                if separator == UInt8(ascii: "]") { return elements }
                guard separator == UInt8(ascii: ",") else { throw JSONViewError(offset: scanner.position - 1) }
            }
        }
    }

    /// Every member key, in document order (for objects whose keys are data, like file names).
    public var keys: [String] { members.map { String(decoding: bytes[$0.key], as: UTF8.self) } }

    /// A string value at `range` (quotes included), escapes decoded; nil if it is not a string.
    public static func string(_ bytes: [UInt8], _ range: Range<Int>) -> String? {
        guard range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "\""), bytes[range.upperBound - 1] == UInt8(ascii: "\"") else {
            return nil
        }
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        let plain: String?? = bytes.withUnsafeBufferPointer { buffer in
            let text = UnsafeBufferPointer(rebasing: buffer[inner])
            var isASCII = true
            for byte in text {
                if byte == UInt8(ascii: "\\") { return nil }
                if byte >= 0x80 { isASCII = false }
            }
            // ASCII is valid UTF-8 as it stands; the validating initialiser is much slower.
            return isASCII ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
        }
        if let plain { return plain }
        // Escapes are rare in bodies: let the strict parser decode them.
        guard case .string(let text)? = try? CanonicalJSON.parse(Array(bytes[range])) else { return nil }
        return text
    }

    /// An integer value at `range`; nil if it is not an integer.
    public static func integer(_ bytes: [UInt8], _ range: Range<Int>) -> Int64? {
        var position = range.lowerBound
        var negative = false
        if bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < range.upperBound, range.upperBound - position <= 16 else { return nil }
        var value: Int64 = 0
        while position < range.upperBound {
            let digit = bytes[position]
            guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(digit - UInt8(ascii: "0"))
            position += 1
        }
        return negative ? -value : value
    }
}

/// JSON that the view could not scan.
public struct JSONViewError: Error, Equatable, CustomStringConvertible {
    public let offset: Int
    public var description: String { "malformed JSON at byte \(offset)" }
}

/// Skips over JSON values, checking structure but decoding nothing.
private struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    init(bytes: UnsafeBufferPointer<UInt8>, position: Int) {
        self.bytes = bytes
        self.position = position
    }

    mutating func skipWhitespace() {
        while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x09 || bytes[position] == 0x0D {
            position += 1
        }
    }

    func peek() throws(JSONViewError) -> UInt8 {
        guard position < bytes.count else { throw JSONViewError(offset: position) }
        return bytes[position]
    }

    mutating func expect(_ byte: UInt8) throws(JSONViewError) {
        guard try peek() == byte else { throw JSONViewError(offset: position) }
        position += 1
    }

    mutating func skipString() throws(JSONViewError) {
        try expect(UInt8(ascii: "\""))
        let base = bytes.baseAddress!
        while true {
            // memchr is vectorised; strings are most of a body's bytes.
            guard position < bytes.count, let quote = memchr(base + position, Int32(UInt8(ascii: "\"")), bytes.count - position) else {
                throw JSONViewError(offset: position)
            }
            let end = base.distance(to: quote.assumingMemoryBound(to: UInt8.self))
            // Escaped if preceded by an odd number of backslashes.
            var backslashes = 0
            while end - backslashes - 1 >= position && bytes[end - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            position = end + 1
            if backslashes % 2 == 0 { return }
        }
    }

    mutating func skipValue(depth: Int) throws(JSONViewError) {
        guard depth <= CanonicalJSON.nestingDepthMax else { throw JSONViewError(offset: position) }
        switch try peek() {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[position] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            position += 1
            skipWhitespace()
            if try peek() == close {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                if isObject {
                    try skipString()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"))
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                let separator = try peek()
                position += 1
                if separator == close { return }
                guard separator == UInt8(ascii: ",") else { throw JSONViewError(offset: position - 1) }
            }
        default:
            // A number or a literal: up to the next structural byte.
            let start = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || byte == 0x20 || byte == 0x0A
                    || byte == 0x09 || byte == 0x0D
                {
                    break
                }
                position += 1
            }
            guard position > start else { throw JSONViewError(offset: start) }
        }
    }
}
