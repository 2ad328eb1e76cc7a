import Compliance
import Foundation
import Ledger
import Logging

/// A log value the service composed from no caller text (an id it drew at random), which the
/// handler writes as it is: the free-text patterns would only cost time on it. Anything a caller
/// sent must not be wrapped in one.
struct ServiceMadeLogValue: CustomStringConvertible, Sendable {
    let text: String
    init(_ text: String) { self.text = text }
    var description: String { text }
}

/// A swift-log handler that writes one JSON object per line (time, level, label, message,
/// metadata) after passing the message and every metadata value through the free-text masking
/// of `masking.yaml`: a NIK, phone number or e-mail address that reaches a log line is masked
/// there, whoever logged it.
public struct MaskingLogHandler: LogHandler {
    /// The role whose masking log lines get (not an API role, so never unmasked).
    static let logRole = "log"

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let masker: Masker
    private let write: @Sendable ([UInt8]) -> Void

    /// `write` receives each line with its newline (standard output by default).
    public init(label: String, masker: Masker, write: @escaping @Sendable ([UInt8]) -> Void = MaskingLogHandler.standardOutput) {
        self.label = label
        self.masker = masker
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "time": .string(Self.timestamp(microseconds: Ledger.wallClockMicroseconds())),
            "level": .string(event.level.rawValue), "label": .string(label),
            "message": .string(masker.maskFreeText(event.message.description, role: Self.logRole)),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged where fields[key] == nil {
            if case .stringConvertible(let made as ServiceMadeLogValue) = value {
                fields[key] = .string(made.text)
            } else {
                fields[key] = .string(masker.maskFreeText(value.description, role: Self.logRole))
            }
        }
        write(CanonicalJSON.encode(.object(fields)) + [0x0A])
    }

    /// RFC 3339 UTC with milliseconds (`2026-12-03T05:07:09.042Z`), by integer arithmetic: a
    /// date formatter for every line cost more than the rest of the line.
    static func timestamp(microseconds: Int64) -> String {
        let time = Reports.civilTime(microseconds: microseconds, offsetMicroseconds: 0)
        let withinMinute = Int(((microseconds % 60_000_000) + 60_000_000) % 60_000_000) / 1_000
        func digits(_ value: Int, _ count: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, count - text.count)) + text
        }
        return "\(digits(time.year, 4))-\(digits(time.month, 2))-\(digits(time.day, 2))T\(digits(time.hour, 2)):\(digits(time.minute, 2)):"
            + "\(digits(withinMinute / 1_000, 2)).\(digits(withinMinute % 1_000, 3))Z"
    }

    public static let standardOutput: @Sendable ([UInt8]) -> Void = { line in
        FileHandle.standardOutput.write(Data(line))
    }
}
