import Foundation
import Ledger

/// A report computed at one signed checkpoint (`audit/README.md`, "Reports"): its lines (one
/// table, the CSV form), totals, further sections, and every seq it rests on, so an auditor can
/// fetch each entry with its inclusion proof and check the report line by line. Integers only.
public struct Report: Sendable, Equatable {
    /// `csr`, `tax`, `carbon`, `retirements` or `certificate`.
    public let kind: String
    /// What was asked (company, period, year…), echoed so the report reads on its own.
    public var parameters: [String: JSONValue]
    /// The checkpoint the report was computed at: only entries below `checkpointSize` count.
    public var checkpointSize: UInt64
    public var checkpointRoot: String
    /// The columns of `lines`, in CSV order.
    public let columns: [String]
    public var lines: [[String: JSONValue]]
    public var totals: [String: JSONValue]
    /// Further tables and statements (holdings, retirements, the signed note…).
    public var sections: [String: JSONValue]
    /// Every seq the lines, totals and sections rest on, ascending.
    public var seqs: [UInt64]

    public init(
        kind: String, parameters: [String: JSONValue], checkpointSize: UInt64, checkpointRoot: String, columns: [String],
        lines: [[String: JSONValue]], totals: [String: JSONValue], sections: [String: JSONValue] = [:], seqs: [UInt64]
    ) {
        self.kind = kind
        self.parameters = parameters
        self.checkpointSize = checkpointSize
        self.checkpointRoot = checkpointRoot
        self.columns = columns
        self.lines = lines
        self.totals = totals
        self.sections = sections
        self.seqs = Array(Set(seqs)).sorted()
    }

    /// Keys whose values identify a recipient (masked as `masking.yaml`'s `recipient` field) or
    /// are free text (masked like every free text), wherever they appear in lines or sections.
    static let recipientKeys: Set<String> = ["recipient", "recipientRegistration", "recipientTaxNumber"]
    static let freeTextKeys: Set<String> = ["beneficiary", "reason"]

    /// The report as `role` may see it: recipient identities and free text through the masking
    /// policy. Totals are counts and sums, the same for every role.
    public func masked(for role: String, by masker: Masker) -> Report {
        var copy = self
        copy.lines = lines.map { Self.mask($0, role: role, masker: masker) }
        copy.sections = sections.mapValues { Self.mask($0, role: role, masker: masker) }
        return copy
    }

    private static func mask(_ value: JSONValue, role: String, masker: Masker) -> JSONValue {
        switch value {
        case .object(let object): .object(mask(object, role: role, masker: masker))
        case .array(let array): .array(array.map { mask($0, role: role, masker: masker) })
        default: value
        }
    }

    private static func mask(_ object: [String: JSONValue], role: String, masker: Masker) -> [String: JSONValue] {
        var masked: [String: JSONValue] = [:]
        for (key, value) in object {
            if recipientKeys.contains(key), value.stringValue.map({ !$0.isEmpty }) == true {
                masked[key] = masker.mask(field: "recipient", value: value, role: role)
            } else if freeTextKeys.contains(key), let text = value.stringValue {
                masked[key] = .string(masker.maskFreeText(text, role: role))
            } else {
                masked[key] = mask(value, role: role, masker: masker)
            }
        }
        return masked
    }

    /// The JSON form (`pahlawan-report/v1`).
    public var json: JSONValue {
        .object([
            "format": "pahlawan-report/v1", "report": .string(kind), "parameters": .object(parameters),
            "checkpoint": ["size": .integer(Int64(checkpointSize)), "root": .string(checkpointRoot)],
            "columns": .array(columns.map(JSONValue.string)), "lines": .array(lines.map(JSONValue.object)), "totals": .object(totals),
            "sections": .object(sections), "seqs": .array(seqs.map { .integer(Int64($0)) }),
        ])
    }

    /// The lines as RFC 4180 CSV (CRLF line ends, a header row); arrays are joined with `;`.
    /// The checkpoint is in the last two columns of every row, so a CSV file alone says what it
    /// was computed at.
    public var csv: String {
        var out = (columns + ["checkpointSize", "checkpointRoot"]).map(Self.csvField).joined(separator: ",") + "\r\n"
        for line in lines {
            let fields = columns.map { Self.csvField(line[$0]) } + [String(checkpointSize), checkpointRoot]
            out += fields.joined(separator: ",") + "\r\n"
        }
        return out
    }

    private static func csvText(_ value: JSONValue?) -> String {
        switch value {
        case .integer(let number): String(number)
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .array(let items): items.map { csvText($0) }.joined(separator: ";")
        case .object, nil: ""
        }
    }

    private static func csvField(_ value: JSONValue?) -> String {
        if case .integer(let number) = value { return String(number) }
        return csvField(csvText(value))
    }

    /// First code points that make a spreadsheet read a cell as a formula (OWASP's CSV injection
    /// list: = + - @, TAB and CR). Such a cell is quoted and prefixed with `'`.
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// Works on code points, not characters: "\r\n", or "=" followed by a combining mark, is one
    /// `Character` that equals none of the characters checked, yet a spreadsheet or CSV reader
    /// sees its first code point.
    static func csvField(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let risky = scalars.first.map { formulaStarts.contains($0) } ?? false
        guard risky || scalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return text }
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        if risky { quoted.append("'") }
        for scalar in scalars {
            if scalar == "\"" { quoted.append("\"") }
            quoted.append(scalar)
        }
        quoted.append("\"")
        return String(quoted)
    }
}
