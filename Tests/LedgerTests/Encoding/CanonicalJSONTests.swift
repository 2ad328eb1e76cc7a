import PropertyBased
import Testing
@testable import Ledger

@Suite struct CanonicalJSONTests {
    func canonical(_ text: String) throws -> String {
        String(decoding: CanonicalJSON.encode(try CanonicalJSON.parse(Array(text.utf8))), as: UTF8.self)
    }

    @Test func keysAreSortedByUTF16CodeUnitsAndWhitespaceIsDropped() throws {
        #expect(try canonical(#"{ "b": 1, "a": [true, false], "A": "x" }"#) == #"{"A":"x","a":[true,false],"b":1}"#)
        // U+1F600 (surrogates D83D…) sorts before U+FB33 in UTF-16 order, after it in code-point order.
        #expect(try canonical("{\"\u{FB33}\":1,\"\u{1F600}\":2}") == "{\"\u{1F600}\":2,\"\u{FB33}\":1}")
    }

    /// The byte-order shortcut for keys below U+E000 gives the UTF-16 order, for keys drawn
    /// around the places where UTF-8 and UTF-16 orders could part (ASCII, Latin, Hangul, U+D7FF).
    @Test func theFastKeyOrderIsTheUTF16Order() {
        let alphabet: [Character] = ["a", "B", "_", "0", "\u{7F}", "é", "\u{7FF}", "\u{800}", "가", "\u{D7FF}"]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let keys = Set((0..<6).map { _ in String((0..<Int.random(in: 0...4, using: &random)).map { _ in alphabet.randomElement(using: &random)! }) })
            #expect(CanonicalJSON.sortedKeys(keys) == keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }, "\(keys)")
        }
        #expect(CanonicalJSON.sortedKeys(["\u{FB33}", "\u{1F600}", "a"]) == ["a", "\u{1F600}", "\u{FB33}"])
        #expect(Hash(hex: String(repeating: "ab", count: 32)) != nil)
        #expect(Hash(hex: String(repeating: "AB", count: 32)) == nil && Hash(hex: String(repeating: "a", count: 63)) == nil)
    }

    /// The digit writer equals Swift's own decimal text, at both ends of Int64 and anywhere
    /// between (ids and totals are written with it, so a wrong digit would be signed).
    @Test func integersAreWrittenAsTheirDecimalText() async {
        for number: Int64 in [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, 9_007_199_254_740_991] {
            var out: [UInt8] = [0x2A]
            CanonicalJSON.writeInteger(number, into: &out)
            #expect(out == [0x2A] + Array(String(number).utf8))
        }
        await propertyCheck(count: 500, input: Gen.int64(in: Int64.min...Int64.max), Gen.int(in: 0...18)) { number, shift in
            let scaled = number >> Int64(shift * 3)
            var out = [UInt8]()
            CanonicalJSON.writeInteger(scaled, into: &out)
            #expect(out == Array(String(scaled).utf8))
        }
    }

    @Test func stringsUseECMAScriptEscapes() throws {
        #expect(try canonical(#""\u0041\/\b\f\n\r\t\u0001\u001f\"\\\u00e9""#) == "\"A/\\b\\f\\n\\r\\t\\u0001\\u001f\\\"\\\\é\"")
        #expect(try canonical(#""\ud83d\ude00""#) == "\"\u{1F600}\"")
    }

    /// The run-copying string writer equals a byte-at-a-time reference of the ECMAScript
    /// escapes, for strings drawn from the bytes that need escapes, ASCII and multi-byte text.
    @Test func theStringWriterEqualsAByteAtATimeReference() {
        func reference(_ text: String) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for byte in text.utf8 {
                switch byte {
                case 0x22: out += Array(#"\""#.utf8)
                case 0x5C: out += Array(#"\\"#.utf8)
                case 0x08: out += Array(#"\b"#.utf8)
                case 0x0C: out += Array(#"\f"#.utf8)
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case 0..<0x20: out += Array(("\\u00" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)).utf8)
                default: out.append(byte)
                }
            }
            return out + [0x22]
        }
        let alphabet: [Character] = ["a", "\"", "\\", "\u{0}", "\u{1F}", "\n", "\t", "\u{8}", "\u{C}", "\r", "é", "가", "\u{1F600}", " ", "/", "\u{7F}"]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let text = String((0..<Int.random(in: 0...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            var out = [UInt8]()
            CanonicalJSON.writeString(text, into: &out)
            #expect(out == reference(text), "\(Array(text.unicodeScalars))")
        }
        for byte in UInt8(0)...0x7F {
            var out = [UInt8]()
            CanonicalJSON.writeString(String(decoding: [byte], as: UTF8.self), into: &out)
            #expect(out == reference(String(decoding: [byte], as: UTF8.self)), "byte \(byte)")
        }
    }

    @Test func hexIsLowercaseTwoDigitsPerByte() {
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Hex.encode([0x00, 0x09, 0x0A, 0x0F, 0x10, 0x9F, 0xA0, 0xFF]) == "00090a0f109fa0ff")
        #expect(Hex.encode((0...255).map { UInt8($0) }) == (0...255).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        // A sequence that is not contiguous takes the same path's result.
        #expect(Hex.encode((0...255).lazy.map { UInt8($0) }.reversed()) == Hex.encode((0...255).reversed().map { UInt8($0) }))
    }

    @Test func floatsNullsAndOtherHazardsAreRejectedWithAReason() {
        let cases: [(String, CanonicalJSON.ParseError.Reason)] = [
            (#"{"grams":1.5}"#, .floatNotAllowed), (#"{"grams":1e3}"#, .floatNotAllowed),
            (#"{"grams":null}"#, .nullNotAllowed), (#"{"a":1,"a":2}"#, .duplicateKey),
            (#""\ud800""#, .loneSurrogate), ("\"a\u{01}\"", .controlCharacter),
            (#"9007199254740992"#, .integerOutOfRange), (#"{"a":1} x"#, .trailingBytes),
            (#"01"#, .unexpectedByte), (String(repeating: "[", count: 40) + String(repeating: "]", count: 40), .tooDeep),
        ]
        for (text, reason) in cases {
            #expect(throws: CanonicalJSON.ParseError.self, "\(text)") { try CanonicalJSON.parse(Array(text.utf8)) }
            do {
                _ = try CanonicalJSON.parse(Array(text.utf8))
            } catch {
                #expect(error.reason == reason, "\(text)")
            }
        }
        #expect(throws: CanonicalJSON.ParseError.self) { try CanonicalJSON.parse([0x22, 0xff, 0x22]) }
    }

    @Test func theLargestSafeIntegersRoundTrip() throws {
        #expect(try canonical("[9007199254740991,-9007199254740991,0,-0]") == "[9007199254740991,-9007199254740991,0,0]")
    }
}
