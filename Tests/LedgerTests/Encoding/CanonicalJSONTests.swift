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
