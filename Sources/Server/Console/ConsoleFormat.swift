import Compliance

/// The console's two languages (audit/CONSOLE.md, "Formats"). Bahasa Indonesia is the default.
public enum ConsoleLanguage: String, Sendable, CaseIterable {
    case id, en

    /// `?lang=` or the `pt_lang` cookie; anything else is the default.
    public init(choice: String?) { self = choice.flatMap(ConsoleLanguage.init(rawValue:)) ?? .id }

    var other: ConsoleLanguage { self == .id ? .en : .id }

    /// The thousands separator and the decimal mark.
    var separators: (group: Character, decimal: Character) { self == .id ? (".", ",") : (",", ".") }

    static let monthNames: [ConsoleLanguage: [String]] = [
        .id: ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
        .en: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    ]
}

/// Integers written for people, in either language. Rounding happens here only, for display; the
/// exact integer is always shown beside it (`exact`), so nothing a reader relies on is rounded.
/// Every function takes any Int64, Int64.min included (magnitudes are UInt64).
public enum ConsoleFormat {
    /// `1250000` → `1.250.000` (id) or `1,250,000` (en); negatives with a leading `-`.
    public static func integer(_ value: Int64, _ language: ConsoleLanguage) -> String {
        sign(value) + grouped(value.magnitude, language)
    }

    /// `Rp 1.250.000` (id) or `IDR 1,250,000` (en).
    public static func rupiah(_ value: Int64, _ language: ConsoleLanguage) -> String {
        sign(value) + (language == .id ? "Rp " : "IDR ") + grouped(value.magnitude, language)
    }

    /// Grams as g below 1 kg, kg with up to two decimals below 1 t, t with one decimal above
    /// (rounded half up): `850 g`, `1,25 kg`, `3,4 t` (id) or `1.25 kg`, `3.4 t` (en).
    public static func mass(_ grams: Int64, _ language: ConsoleLanguage) -> String {
        let magnitude = grams.magnitude
        let text: String
        if magnitude < 1_000 {
            text = "\(magnitude) g"
        } else if magnitude < 999_995 {  // 999 995 g and up round to 1 000,00 kg: write them in t
            text = decimal(magnitude, unit: 1_000, places: 2, language) + " kg"
        } else {
            text = decimal(magnitude, unit: 1_000_000, places: 1, language) + " t"
        }
        return sign(grams) + text
    }

    /// CO2e grams like mass, with the gas named: `12,5 kg CO2e`.
    public static func co2e(_ grams: Int64, _ language: ConsoleLanguage) -> String { mass(grams, language) + " CO2e" }

    /// The exact integer with its unit, for the `title` of a rounded figure: `1.254 g`.
    public static func exact(_ value: Int64, unit: String, _ language: ConsoleLanguage) -> String {
        integer(value, language) + (unit.isEmpty ? "" : " " + unit)
    }

    /// µs since the Unix epoch on the WIB wall clock: `2 Des 2026 17.05 WIB` (id) or
    /// `2 Dec 2026 17:05 WIB` (en).
    public static func time(_ microseconds: Int64, _ language: ConsoleLanguage) -> String {
        let civil = Reports.civilTime(microseconds: microseconds)
        let month = ConsoleLanguage.monthNames[language]![civil.month - 1]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(civil.day) \(month) \(civil.year) \(two(civil.hour))\(language == .id ? "." : ":")\(two(civil.minute)) WIB"
    }

    /// `2026-11` → `Nov 2026`.
    static func month(_ key: String, _ language: ConsoleLanguage) -> String {
        let parts = key.split(separator: "-")
        guard parts.count == 2, let month = Int(parts[1]), (1...12).contains(month) else { return key }
        return "\(ConsoleLanguage.monthNames[language]![month - 1]) \(parts[0])"
    }

    private static func sign(_ value: Int64) -> String { value < 0 ? "-" : "" }

    private static func grouped(_ magnitude: UInt64, _ language: ConsoleLanguage) -> String {
        let digits = Array(String(magnitude))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(language.separators.group) }
            out.append(digit)
        }
        return out
    }

    /// `magnitude / unit` rounded half up to `places` decimals, trailing zeros dropped.
    private static func decimal(_ magnitude: UInt64, unit: UInt64, places: Int, _ language: ConsoleLanguage) -> String {
        let step = unit / (places == 2 ? 100 : 10)
        // magnitude ≤ 2^63 and step ≥ 1000, so the sum cannot overflow a UInt64.
        let scaled = (magnitude + step / 2) / step
        let divisor: UInt64 = places == 2 ? 100 : 10
        var fraction = String(scaled % divisor)
        fraction = String(repeating: "0", count: places - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        let whole = grouped(scaled / divisor, language)
        return fraction.isEmpty ? whole : whole + String(language.separators.decimal) + fraction
    }
}
