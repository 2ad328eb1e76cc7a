import Testing
@testable import Ledger

@Suite struct JSONObjectViewTests {
    /// The view must read exactly what the strict parser reads, escapes and nesting included.
    @Test func readsWhatTheStrictParserReads() throws {
        let payload: JSONValue = [
            "plain": "site-jkt-1", "quote": "say \"hi\"", "backslash": "a\\\\b\\", "unicode": "Rp 5.000 — kécil ✓",
            "control": "line\nbreak\ttab", "number": -9_007_199_254_740_991, "zero": 0, "yes": true, "no": false,
            "list": ["a", "b\"c", "d\\"], "seqs": [1, 22, 333],
            "range": ["vintage": 2026, "first": 1, "last": 9, "serials": "PPG-2026-1-9"],
            "nested": ["deeper": ["deepest": "x"]], "empty": [:], "none": [],
        ]
        let body: JSONValue = ["kind": "claim.placed", "payload": payload, "seq": 7]
        let bytes = CanonicalJSON.encode(body)
        let view = try JSONObjectView(bytes: bytes)
        #expect(view.string("kind") == "claim.placed")
        #expect(view.integer("seq") == 7)
        let inner = try #require(view.object("payload"))
        for key in ["plain", "quote", "backslash", "unicode", "control"] {
            #expect(inner.string(key) == payload[key]?.stringValue, "\(key)")
        }
        #expect(inner.integer("number") == -9_007_199_254_740_991 && inner.integer("zero") == 0)
        #expect(inner.bool("yes") == true && inner.bool("no") == false && inner.bool("plain") == nil)
        let list = try #require(inner.arrayElements("list"))
        #expect(list.map { JSONObjectView.string(bytes, $0) } == ["a", "b\"c", "d\\"])
        #expect(try #require(inner.arrayElements("seqs")).map { JSONObjectView.integer(bytes, $0) } == [1, 22, 333])
        #expect(inner.arrayElements("none") == [])
        #expect(inner.object("range")?.integer("last") == 9 && inner.object("range")?.string("serials") == "PPG-2026-1-9")
        #expect(inner.object("nested")?.object("deeper")?.string("deepest") == "x")
        #expect(inner.object("empty")?.keys == [])
        #expect(inner.string("missing") == nil && inner.integer("plain") == nil && inner.string("number") == nil)
        #expect(Set(inner.keys) == Set(payload.objectValue!.keys))
    }

    @Test func malformedJSONIsRefused() {
        for text in ["", "{", "{\"a\":1", "{\"a\" 1}", "{\"a\":\"x}", "[1]", "{\"a\":1,}", "{\"a\":}"] {
            #expect(throws: JSONViewError.self, "\(text)") { try JSONObjectView(bytes: Array(text.utf8)) }
        }
    }
}
