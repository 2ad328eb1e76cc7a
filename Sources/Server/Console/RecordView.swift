import Compliance
import Ledger
import Rescue

/// A JSON record (an entry's payload, an auction, a report line) as HTML for a reader: every
/// value escaped; integers that are money, mass, CO2e or times written in the reader's language
/// with the exact integer beside them; seqs and ids linked to the entries they name, when the
/// reader may open entries.
struct RecordView {
    let language: ConsoleLanguage
    let linksEntries: Bool

    /// Keys whose string values are participant or record ids, linked to the entries that
    /// mention them; any other string (a date, a category, a code) is text even when it looks
    /// like an id.
    static let linkedKeys: Set<String> = [
        "actor", "auction", "buyer", "claim", "claimant", "company", "connection", "coordinator", "courier", "device", "dispute", "escrow",
        "from", "group", "holder", "member", "offer", "owner", "participant", "provider", "recipient", "site", "to",
    ]

    func html(_ value: JSONValue) -> String {
        switch value {
        case .object(let object):
            var out = "<dl class=\"record\">"
            for key in object.keys.sorted() {
                out += "<dt>\(HTML.escape(key))</dt><dd>\(cell(key, object[key]!))</dd>"
            }
            return out + "</dl>"
        case .array(let items):
            if items.isEmpty { return "<span class=\"muted\">[]</span>" }
            return "<ol class=\"record-list\">" + items.map { "<li>\(html($0))</li>" }.joined() + "</ol>"
        case .string(let text): return HTML.escape(text)
        case .integer(let number): return HTML.escape(ConsoleFormat.integer(number, language))
        case .bool(let flag): return HTML.escape(ConsolePages.shared.strings[language]?[flag ? "value.isTrue" : "value.isFalse"] ?? String(flag))
        }
    }

    /// One value under its key, formatted by what the key says it is.
    func cell(_ key: String, _ value: JSONValue) -> String {
        switch value {
        case .integer(let number):
            return integer(key, number)
        case .string(let text) where key.hasSuffix("Sha256") && text.count == 64:
            // A digest: its first 12 hex digits, the whole on hover and for screen readers.
            return "<code class=\"figure\" title=\"\(HTML.escape(text))\">\(HTML.escape(String(text.prefix(12))))…<span class=\"exact\"> \(HTML.escape(text))</span></code>"
        case .string(let text):
            if linksEntries, Self.linkedKeys.contains(key), ParticipantRegistry.isPseudonymous(text) {
                return "<a href=\"/console/entries?mentions=\(ConsoleGate.percentEncoded(text))\">\(HTML.escape(text))</a>"
            }
            return HTML.escape(text)
        case .array(let items) where key == "reasons":
            return HTML.escape(items.compactMap(\.stringValue).joined(separator: ", "))
        default:
            return html(value)
        }
    }

    func integer(_ key: String, _ number: Int64) -> String {
        let lower = key.lowercased()
        if lower.hasSuffix("rupiah") {
            return exact(ConsoleFormat.rupiah(number, language), ConsoleFormat.integer(number, language))
        }
        if lower.contains("co2e") {
            return exact(ConsoleFormat.co2e(number, language), ConsoleFormat.exact(number, unit: "g CO2e", language))
        }
        if lower.contains("grams") {
            return exact(ConsoleFormat.mass(number, language), ConsoleFormat.exact(number, unit: "g", language))
        }
        if key == "time" || key == "at" || key.hasSuffix("At") || key == "deadline" || key == "asOfTime" {
            return exact(ConsoleFormat.time(number, language), String(number) + " µs")
        }
        if linksEntries, number >= 0, key == "seq" || key.hasSuffix("Seq") || key == "rescue" {
            return "<a href=\"/console/entries/\(number)\">\(number)</a>"
        }
        return HTML.escape(String(number))
    }

    /// A rounded figure with its exact integer on hover and for assistive technology.
    func exact(_ shown: String, _ exact: String) -> String {
        "<span class=\"figure\" title=\"\(HTML.escape(exact))\">\(HTML.escape(shown))<span class=\"exact\"> (\(HTML.escape(exact)))</span></span>"
    }
}
