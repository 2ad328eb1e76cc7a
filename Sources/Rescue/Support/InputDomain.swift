/// The domain of every value a caller can send (ledger/FORMAT.md §9 is the table users read).
/// The HTTP boundary refuses a value outside its domain with 400 and the engines refuse it again
/// with a named rejection, both from these definitions, so the two can never disagree. The
/// bounds also keep every product the engines compute (grams × portions, price × grams,
/// grams × emission factor) far inside `Int64`.
public enum InputDomain {
    /// Grams in one offer: up to 10 tonnes.
    public static let grams: ClosedRange<Int64> = 1...10_000_000
    /// Portions in one offer.
    public static let portions: ClosedRange<Int64> = 1...100_000
    /// A price or a declared cost, rupiah: up to one billion.
    public static let rupiah: ClosedRange<Int64> = 0...1_000_000_000
    /// Micro-degrees (WGS 84).
    public static let latitude: ClosedRange<Int64> = -90_000_000...90_000_000
    public static let longitude: ClosedRange<Int64> = -180_000_000...180_000_000
    /// A recipient's daily capacity, portions.
    public static let capacityPortions: ClosedRange<Int64> = 1...1_000_000
    /// People a recipient feeds.
    public static let headcountServed: ClosedRange<Int64> = 0...10_000_000
    /// A time in µs since the Unix epoch: 2000-01-01 to 2100-01-01 UTC.
    public static let microseconds: ClosedRange<Int64> = 946_684_800_000_000...4_102_444_800_000_000
    /// An auction's duration as a provider states it, minutes (the policy's `durationMinutesMax`
    /// bounds it further).
    public static let auctionMinutes: ClosedRange<Int64> = 1...1_440
    /// A freshness score, percent.
    public static let freshnessScore: ClosedRange<Int64> = 0...100
    /// What a courier's vehicle carries, grams (up to a tonne).
    public static let vehicleGrams: ClosedRange<Int64> = 1...1_000_000
    /// A carbon vintage (calendar year) and serials (JSON's exact integers).
    public static let vintage: ClosedRange<Int> = 2000...2100
    public static let serial: ClosedRange<Int64> = 1...9_007_199_254_740_991
    /// An offer version a claimant saw.
    public static let version: ClosedRange<Int64> = 1...9_007_199_254_740_991
    /// Evidence references on one dispute.
    public static let evidenceCountMax = 16
    /// A pickup code as the claimant shows it.
    public static let pickupCodeBytesMax = 64
    /// Decimal digits an id may hold in all: fewer than any phone number (10–13) or NIK (16),
    /// however they are spread through the id.
    public static let idDigitsMax = 8
    public static let idBytesMax = 64

    /// A new id: 1–64 bytes, a lowercase letter first, then `a-z 0-9 . _ : -`, at most 8
    /// digits in all. It cannot hold an e-mail address (no `@`), a name with capitals, a
    /// phone number or a NIK.
    public static func isID(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard let first = utf8.first, utf8.count <= idBytesMax, isLowercaseLetter(first) else { return false }
        var digits = 0
        for byte in utf8 {
            if isDigit(byte) {
                digits += 1
            } else if !(isLowercaseLetter(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")) {
                return false
            }
        }
        guard digits <= idDigitsMax else { return false }
        return !readsAsAnAddress(utf8)
    }

    /// Whether an id (already `a-z 0-9 . _ : -`) reads as an e-mail or web address (its last
    /// label a domain after a dot: `budi:example.id`, `budi.example.id.`) or a street address
    /// (`jl-melati-5.rt03`). On the bytes, label by label with no allocation: it runs for every
    /// id a command names.
    static func readsAsAnAddress(_ utf8: String.UTF8View) -> Bool {
        if let answer = utf8.withContiguousStorageIfAvailable(readsAsAnAddress) { return answer }
        return Array(utf8).withUnsafeBufferPointer(readsAsAnAddress)
    }

    private static func readsAsAnAddress(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var previous: Slice<UnsafeBufferPointer<UInt8>>?
        var labels = 0
        var start = 0
        for index in 0...bytes.count {
            let isEnd = index == bytes.count
            guard isEnd || !(isLowercaseLetter(bytes[index]) || isDigit(bytes[index])) else { continue }
            if index > start {
                let label = bytes[start..<index]
                labels += 1
                if PersonalDataScreen.isAddressWord(label) { return true }
                if let previous, PersonalDataScreen.isAddressPair(previous, label) { return true }
                previous = label
            }
            start = index + 1
        }
        // The last label after a dot, whatever separators trail it (`budi.example.id.` is a
        // fully qualified name): a mail or web domain.
        guard labels > 1, let last = previous, last.startIndex > 0, bytes[last.startIndex - 1] == UInt8(ascii: ".") else { return false }
        return PersonalDataScreen.isOne(of: mailDomainBytes, last)
    }

    static let mailDomainBytes = mailDomains.map { Array($0.utf8) }

    /// Last labels that make an id read as an e-mail address or a web domain.
    static let mailDomains: Set<String> = ["id", "com", "net", "org", "co", "io", "ac", "go", "sch", "info", "biz", "me", "app"]

    /// The form of a subject id the vault chooses: `sub-` and 16 letters `a`–`p` (64 random
    /// bits). A beneficiary that is a person is named by one.
    public static func isVaultSubjectID(_ id: String) -> Bool {
        let utf8 = id.utf8
        return utf8.count == 20 && id.hasPrefix("sub-") && utf8.dropFirst(4).allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "p")).contains($0) }
    }

    /// The ISO 3166-2:ID codes of Indonesia's 38 provinces (2022 and later).
    public static let regions: Set<String> = [
        "ID-AC", "ID-SU", "ID-SB", "ID-RI", "ID-KR", "ID-JA", "ID-SS", "ID-BB", "ID-BE", "ID-LA", "ID-JK", "ID-JB", "ID-JT",
        "ID-YO", "ID-JI", "ID-BT", "ID-BA", "ID-NB", "ID-NT", "ID-KB", "ID-KT", "ID-KS", "ID-KI", "ID-KU", "ID-SA", "ID-ST",
        "ID-SG", "ID-SN", "ID-GO", "ID-SR", "ID-MA", "ID-MU", "ID-PA", "ID-PB", "ID-PD", "ID-PE", "ID-PS", "ID-PT",
    ]

    /// An organisation's registration number: a registry prefix of 2–10 capitals, `-`, then
    /// 1–53 of `A-Z 0-9 . / -` (e.g. `AHU-0012345.AH.01.04`), holding no NIK or phone number.
    public static func isRegistrationNumber(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard let dash = utf8.firstIndex(of: UInt8(ascii: "-")), (2...10).contains(dash), (1...53).contains(utf8.count - dash - 1) else { return false }
        guard utf8[..<dash].allSatisfy(isUppercaseLetter) else { return false }
        guard utf8[(dash + 1)...].allSatisfy({ isUppercaseLetter($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "-") })
        else { return false }
        return !PersonalDataScreen.holdsPersonalData(text)
    }

    /// Evidence as a dispute records it: `hmac:` and 64 lowercase hex digits, the service's keyed
    /// digest of the reference the caller sent (`CommandLoop.evidenceDigest`), never the
    /// reference itself.
    public static func isEvidenceDigest(_ text: String) -> Bool {
        guard text.hasPrefix("hmac:") else { return false }
        let hex = text.utf8.dropFirst(5)
        return hex.count == 64 && hex.allSatisfy { isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// An Ed25519 public key in base64: 43 characters of the standard alphabet and `=`, the
    /// last character carrying no stray bits (exactly the encoding of 32 bytes).
    public static func isEd25519PublicKey(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 44, utf8[43] == UInt8(ascii: "=") else { return false }
        guard utf8[..<43].allSatisfy({ isDigit($0) || isLowercaseLetter($0) || isUppercaseLetter($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") })
        else { return false }
        return Array("AEIMQUYcgkosw048".utf8).contains(utf8[42])
    }

    /// A SHA-256 digest as 64 lowercase hex digits.
    public static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// A model version: 1–32 bytes of `0-9 a-z . -` (`2.3.1`, `2024-11.rc1`), at most
    /// `idDigitsMax` digits like an id, so it cannot carry a phone number.
    public static func isModelVersion(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.allSatisfy { isDigit($0) || isLowercaseLetter($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
            && text.utf8.filter(isDigit).count <= idDigitsMax
    }

    /// Bytes of one evidence reference a caller sends (a file's digest, a document id, a URL).
    public static let evidenceReferenceBytesMax = 256

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    static func isLowercaseLetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }
    static func isUppercaseLetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) }
}

/// Recognises personal data in text however it is written: digits in any script (Arabic-Indic,
/// fullwidth, …) count as digits, and spaces, dots, dashes, slashes and brackets between them
/// do not break a number. Recognised: a run of 9 or more digits (every Indonesian phone number
/// has 10–13, a NIK 16, a personal NPWP 15–16), an `@` in any form (e-mail), and the words of
/// an Indonesian street address (`Jl.`, `Jalan`, `Gang`/`Gg.`, `RT 03`, `RW 07`, `Kelurahan`,
/// `Kecamatan`, `Desa`). Names cannot be recognised by pattern: that is why free text exists
/// only where a person must state something (FORMAT §9).
public enum PersonalDataScreen {
    /// Digits in a row (separators allowed) from which a number is treated as personal.
    public static let digitRunMin = 9

    public static func holdsPersonalData(_ text: String) -> Bool {
        var digits = 0
        // What stands between this digit and the last: up to three separators, of which at
        // most one letter ("0812a3456b7890"), still join one number.
        var gap = 0
        var lettersInGap = 0
        var word = ""
        var words = [String]()
        let lowered = text.lowercased()
        if lowered.contains("%40") || lowered.contains("[at]") || lowered.contains("(at)") || lowered.contains("{at}") { return true }
        for scalar in text.unicodeScalars {
            if scalar == "@" || scalar == "\u{FF20}" || scalar == "\u{FE6B}" { return true }
            if isDigit(scalar) {
                if gap > 3 || lettersInGap > 1 { digits = 0 }
                digits += 1
                gap = 0
                lettersInGap = 0
                if digits >= digitRunMin { return true }
            } else {
                gap += 1
                if scalar.properties.isAlphabetic { lettersInGap += 1 }
            }
            if let value = digitValue(scalar) {
                // As an ASCII digit, so the word rules below see one kind of digit.
                word.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "0") + value))
            } else if scalar.properties.isAlphabetic {
                word.unicodeScalars.append(scalar)
            } else if !word.isEmpty {
                words.append(word.lowercased())
                word = ""
            }
        }
        if !word.isEmpty { words.append(word.lowercased()) }
        if words.contains("at"), words.contains("dot") { return true }
        return wordsReadAsAnAddress(words.map(\.utf8))
    }

    /// The street-address rules over a text's words (lowercase, digits in ASCII): an address
    /// word; a neighbourhood unit or house number ("RT 03", "RW07", "rt/rw 03/07", "No. 5").
    /// The one definition, for free text and, on their bytes, for ids.
    static func wordsReadAsAnAddress<Word: Collection<UInt8>>(_ words: [Word]) -> Bool {
        for (index, word) in words.enumerated() {
            if isAddressWord(word) { return true }
            if index + 1 < words.count, isAddressPair(word, words[index + 1]) { return true }
        }
        return false
    }

    /// A word that alone makes an address: an address word, or `rt`/`rw` run into a number (`rt03`).
    @inline(__always)
    static func isAddressWord<Word: Collection<UInt8>>(_ word: Word) -> Bool {
        if isOne(of: addressWordBytes, word) { return true }
        return word.count > 2 && (word.starts(with: "rt".utf8) || word.starts(with: "rw".utf8)) && word.dropFirst(2).allSatisfy(InputDomain.isDigit)
    }

    /// Whether `word` is one of `words` (lengths compared first: most differ).
    @inline(__always)
    static func isOne<Word: Collection<UInt8>>(of words: [[UInt8]], _ word: Word) -> Bool {
        words.contains { $0.count == word.count && $0.elementsEqual(word) }
    }

    /// Two words in a row that make an address: `rt`, `rw` or `no` then a number; `rt rw` or `rw rt`.
    @inline(__always)
    static func isAddressPair<Word: Collection<UInt8>>(_ word: Word, _ next: Word) -> Bool {
        guard word.count == 2 else { return false }
        let isRT = word.elementsEqual("rt".utf8)
        let isRW = word.elementsEqual("rw".utf8)
        if isRT || isRW || word.elementsEqual("no".utf8), !next.isEmpty, next.allSatisfy(InputDomain.isDigit) { return true }
        return isRT && next.elementsEqual("rw".utf8) || isRW && next.elementsEqual("rt".utf8)
    }

    /// A digit in any script or form (Arabic-Indic, fullwidth, superscript, circled, …).
    static func isDigit(_ scalar: Unicode.Scalar) -> Bool { digitValue(scalar) != nil }

    /// The value 0–9 of a digit in any script or form; nil for anything else.
    static func digitValue(_ scalar: Unicode.Scalar) -> UInt8? {
        guard let value = scalar.properties.numericValue, scalar.properties.numericType != nil, value >= 0, value <= 9, value == value.rounded() else {
            return nil
        }
        return UInt8(value)
    }

    static let addressWordBytes = addressWords.map { Array($0.utf8) }

    static let addressWords: Set<String> = [
        "jl", "jln", "jalan", "gg", "gang", "kelurahan", "kecamatan", "kel", "kec", "desa", "kavling", "blok", "komplek", "kompleks", "perumahan", "perum",
        "apartemen", "rusun", "dusun",
    ]
}
