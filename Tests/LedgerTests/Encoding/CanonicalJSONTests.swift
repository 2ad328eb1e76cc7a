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

    @Test func stringsUseECMAScriptEscapes() throws {
        #expect(try canonical(#""\u0041\/\b\f\n\r\t\u0001\u001f\"\\\u00e9""#) == "\"A/\\b\\f\\n\\r\\t\\u0001\\u001f\\\"\\\\é\"")
        #expect(try canonical(#""\ud83d\ude00""#) == "\"\u{1F600}\"")
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
