/// Indonesian personal-data formats: recognising them in free text and masking them.
public enum PIIFormats {
    /// Province codes that start a valid NIK (Dukcapil; the first two of its 16 digits).
    public static let provinceCodes: Set<String> = [
        "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35", "36", "51", "52", "53",
        "61", "62", "63", "64", "65", "71", "72", "73", "74", "75", "76", "81", "82", "91", "92", "93", "94", "95", "96",
    ]

    /// `+62 812-****-**89` from any way of writing an Indonesian mobile number (`0812…`,
    /// `62812…`, `+62 812-3456-7889`); nil if it is not one.
    public static func maskPhone(_ text: String) -> String? {
        var digits = text.filter(\.isASCIIDigit)
        if digits.hasPrefix("62") { digits.removeFirst(2) } else if digits.hasPrefix("0") { digits.removeFirst() } else { return nil }
        guard digits.hasPrefix("8"), (9...12).contains(digits.count) else { return nil }
        return "+62 \(digits.prefix(3))-****-**\(digits.suffix(2))"
    }

    /// `b***@example.id`; nil if it is not an address.
    public static func maskEmail(_ text: String) -> String? {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = parts[0].first, parts[1].contains(".") else { return nil }
        return "\(first)***@\(parts[1])"
    }

    /// `317401******0001`: region code and serial kept, the birth date hidden; nil unless 16
    /// digits with a valid province code.
    public static func maskNIK(_ text: String) -> String? {
        let digits = text.filter(\.isASCIIDigit)
        guard isNIK(digits) else { return nil }
        return "\(digits.prefix(6))******\(digits.suffix(4))"
    }

    public static func isNIK(_ digits: String) -> Bool {
        digits.count == 16 && digits.allSatisfy(\.isASCIIDigit) && provinceCodes.contains(String(digits.prefix(2)))
    }

    /// `09*********000` (15- or 16-digit NPWP: first two and last three digits kept).
    public static func maskNPWP(_ text: String) -> String? {
        let digits = text.filter(\.isASCIIDigit)
        guard digits.count == 15 || digits.count == 16 else { return nil }
        return "\(digits.prefix(2))\(String(repeating: "*", count: digits.count - 5))\(digits.suffix(3))"
    }

    /// `B*** S***`: each word's first letter.
    public static func maskName(_ text: String) -> String {
        text.split(separator: " ").map { "\($0.prefix(1))***" }.joined(separator: " ")
    }

    /// Masks every NIK, Indonesian mobile number and e-mail address found in `text`.
    public static func maskFreeText(_ text: String) -> String {
        // Swift's Regex costs tens of µs a call: skip the patterns that cannot match. An e-mail
        // needs an "@"; a mobile number at least 10 digits with at most one space, dot or dash
        // between two of them; a NIK 16 digits in a row. So a text whose longest such run of
        // digits is under 10 holds neither (a trace id's hex, a path with a seq, a duration).
        // `theRunFilterSkipsOnlyTextsThePatternsLeaveAlone` checks this against the patterns.
        var at = false
        var run = 0
        var longest = 0
        var separated = false
        for byte in text.utf8 {
            if byte >= 0x30 && byte <= 0x39 {
                run += 1
                longest = max(longest, run)
                separated = false
            } else if (byte == 0x20 || byte == 0x2E || byte == 0x2D) && run > 0 && !separated {
                separated = true
            } else if byte >= 0x80 {
                // Part of a non-ASCII character (a combining mark may ride on a digit): neither
                // ends a run nor counts, so the filter stays on the side of running the patterns.
                continue
            } else {
                run = 0
                separated = false
                if byte == 0x40 { at = true }
            }
        }
        if !at && longest < 10 { return text }
        return maskFreeTextByPatterns(text)
    }

    /// The patterns themselves, on any text (the filter above only skips texts they cannot match).
    static func maskFreeTextByPatterns(_ text: String) -> String {
        let withoutEmails = text.replacing(emailPattern) { maskEmail(String(text[$0.range])) ?? "[redacted]" }
        let withoutPhones = withoutEmails.replacing(phonePattern) { match in
            let found = String(withoutEmails[match.range])
            return followsDigit(withoutEmails, match.range) ? found : maskPhone(found) ?? found
        }
        return withoutPhones.replacing(nikPattern) { match in
            let digits = String(withoutPhones[match.range])
            return !followsDigit(withoutPhones, match.range) && isNIK(digits) ? maskNIK(digits)! : digits
        }
    }

    /// Whether a digit comes right before `range` (Swift's Regex has no lookbehind): then the
    /// match is the tail of a longer number, not a phone number or NIK of its own.
    private static func followsDigit(_ text: String, _ range: Range<String.Index>) -> Bool {
        range.lowerBound > text.startIndex && text[text.index(before: range.lowerBound)].isASCIIDigit
    }

    nonisolated(unsafe) static let emailPattern = try! Regex("[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}")
    /// +62 / 62 / 0, then 8, then 8–11 more digits, with optional spaces, dots or dashes.
    nonisolated(unsafe) static let phonePattern = try! Regex("(?:\\+62|62|0)[ .-]?8(?:[ .-]?[0-9]){8,11}(?![0-9])")
    nonisolated(unsafe) static let nikPattern = try! Regex("[0-9]{16}(?![0-9])")
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
