import Ledger

/// Masking for log lines, stricter than for answers: a log cannot be crypto-shredded, so a
/// number that could be personal data is hidden even when it is disguised.
extension PIIFormats {
    /// Digits in a run (allowing one separator between groups) from which a run is hidden in a
    /// log: the shortest Indonesian mobile number has 10.
    public static let logDigitRunMax = 9

    /// `text` as a log line may hold it. The text is read as written and at every level of
    /// percent-decoding (a reader may decode it once, or until nothing is left to decode). If
    /// any level holds personal data, the deepest such level is logged with every NIK, phone
    /// number and e-mail address masked (`maskFreeText`) and any remaining run of more than
    /// `logDigitRunMax` digits written as `#`s (`maskLongDigitRuns`), unless that form, read
    /// again as written and decoded, still holds some: then the next shallower level is tried,
    /// and a marker is logged when none will do. A text with nothing to mask at any level is
    /// returned as it came, encoded or not.
    public static func maskForLog(_ text: String) -> String {
        guard let levels = percentDecodingLevels(text) else { return tooDeeplyEncoded }
        var found = false
        for level in levels.reversed() {
            let masked = maskOneLevel(level)
            guard masked != level else { continue }
            found = true
            // `%25` ahead of digits reads differently decoded once and twice: the masked form
            // must hold nothing at any level of its own.
            if let again = percentDecodingLevels(masked), again.allSatisfy(isLogSafeAtOneLevel) { return masked }
        }
        return found ? personalDataMarker : text
    }

    /// Whether `maskForLog` leaves `text` as it is.
    public static func isLogSafe(_ text: String) -> Bool { maskForLog(text) == text }

    /// One level of `maskForLog`: the patterns, then the digit runs.
    private static func maskOneLevel(_ text: String) -> String { maskLongDigitRuns(maskFreeText(text)) }

    private static func isLogSafeAtOneLevel(_ text: String) -> Bool { maskOneLevel(text) == text }

    /// Written instead of a text still percent-encoded after `percentDecodingRounds` rounds:
    /// nothing real nests that deep, and decoding further would let one request cost much.
    static let tooDeeplyEncoded = "[masked: nested percent-encoding]"
    /// Written instead of a text whose masked form still reads as personal data when decoded.
    static let personalDataMarker = "[masked: personal data]"
    static let percentDecodingRounds = 8

    /// `%XX` sequences decoded, repeatedly (so `%2533` is read as `3`); malformed ones stay as
    /// written, and bytes that are not UTF-8 become U+FFFD.
    static func percentDecoded(_ text: String) -> String { percentDecodingLevels(text)?.last ?? tooDeeplyEncoded }

    /// `text` and each decoding of it in turn, until one leaves it unchanged; nil when it still
    /// changes after `percentDecodingRounds` rounds.
    static func percentDecodingLevels(_ text: String) -> [String]? {
        var levels = [text]
        for _ in 0...percentDecodingRounds {
            let current = levels[levels.count - 1]
            guard current.utf8.contains(UInt8(ascii: "%")) else { return levels }
            let source = Array(current.utf8)
            var bytes = [UInt8]()
            bytes.reserveCapacity(source.count)
            var index = 0
            var changed = false
            while index < source.count {
                if source[index] == UInt8(ascii: "%"), index + 2 < source.count,
                    let high = Hex.value(source[index + 1]), let low = Hex.value(source[index + 2])
                {
                    bytes.append(high << 4 | low)
                    index += 3
                    changed = true
                } else {
                    bytes.append(source[index])
                    index += 1
                }
            }
            guard changed else { return levels }
            levels.append(String(decoding: bytes, as: UTF8.self))
        }
        return nil
    }

    /// Non-digits a run may hold between two digit groups.
    static let logRunGapMax = 3

    /// Runs of more than `logDigitRunMax` digits (decimal digits of any script, and digit forms
    /// such as superscripts and circled digits), whose groups may be apart by up to
    /// `logRunGapMax` characters that are neither letters nor digits (spaces, punctuation,
    /// symbols, controls of any kind), with each digit as `#`. Invisible characters (format
    /// characters such as zero-width spaces, and combining marks) are ignored wherever they are.
    static func maskLongDigitRuns(_ text: String) -> String {
        // Fast paths, on the bytes: a text with fewer digits than a run needs holds no run, and
        // neither does an ASCII text (most log values: trace ids, routes, durations) whose runs
        // the same rule finds short. Building the text again scalar by scalar was a twentieth of
        // a claim's CPU (issue 19).
        var digitCount = 0
        for byte in text.utf8 where (byte >= 0x30 && byte <= 0x39) || byte >= 0x80 { digitCount += 1 }
        if digitCount <= logDigitRunMax { return text }
        if asciiHoldsLongDigitRun(text) == false { return text }
        return maskLongDigitRunsByScalars(text)
    }

    /// For an ASCII text, whether `maskLongDigitRunsByScalars` would mask anything (the same
    /// rule on bytes: in ASCII nothing is invisible, and a separator is neither a letter nor a
    /// digit); nil for a text that is not ASCII.
    public static func asciiHoldsLongDigitRun(_ text: String) -> Bool? {
        var runDigits = 0
        var pendingSeparators = 0
        for byte in text.utf8 {
            if byte >= 0x80 { return nil }
            let isDigit = byte >= 0x30 && byte <= 0x39
            if isDigit {
                pendingSeparators = 0
                runDigits += 1
                if runDigits > logDigitRunMax { return true }
            } else if runDigits > 0, pendingSeparators < logRunGapMax, isASCIISeparator(byte) {
                pendingSeparators += 1
            } else {
                runDigits = 0
                pendingSeparators = 0
            }
        }
        return false
    }

    /// An ASCII byte that may stand between two digit groups of a run: neither a letter nor a digit.
    private static func isASCIISeparator(_ byte: UInt8) -> Bool {
        !((0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte))
    }

    /// `maskLongDigitRuns` without its fast paths: scalar by scalar, any script.
    static func maskLongDigitRunsByScalars(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var run = [Unicode.Scalar]()
        var runDigits = 0
        // What followed the run's last digit: separators (at most `logRunGapMax`) and invisibles.
        var pending = [Unicode.Scalar]()
        var pendingSeparators = 0
        func isDigit(_ scalar: Unicode.Scalar) -> Bool {
            if scalar.isASCII { return (0x30...0x39).contains(scalar.value) }
            let type = scalar.properties.numericType
            return type == .decimal || type == .digit
        }
        func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
            guard !scalar.isASCII else { return false }
            switch scalar.properties.generalCategory {
            case .format, .nonspacingMark, .enclosingMark, .spacingMark: return true
            default: return scalar.properties.isVariationSelector || scalar.properties.isDefaultIgnorableCodePoint
            }
        }
        func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII ? isASCIISeparator(UInt8(scalar.value)) : !scalar.properties.isAlphabetic
        }
        func flush() {
            if runDigits > logDigitRunMax {
                out.append(contentsOf: run.map { isDigit($0) ? "#" : $0 })
            } else {
                out.append(contentsOf: run)
            }
            out.append(contentsOf: pending)
            run.removeAll(keepingCapacity: true)
            pending.removeAll(keepingCapacity: true)
            runDigits = 0
            pendingSeparators = 0
        }
        for scalar in text.unicodeScalars {
            if isDigit(scalar) {
                run.append(contentsOf: pending)
                pending.removeAll(keepingCapacity: true)
                pendingSeparators = 0
                run.append(scalar)
                runDigits += 1
            } else if runDigits > 0, isInvisible(scalar) {
                pending.append(scalar)
            } else if runDigits > 0, pendingSeparators < logRunGapMax, isSeparator(scalar) {
                pending.append(scalar)
                pendingSeparators += 1
            } else {
                flush()
                out.append(scalar)
            }
        }
        flush()
        return String(out)
    }
}
