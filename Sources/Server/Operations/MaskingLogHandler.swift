import Compliance
import Foundation
import Ledger
import Logging

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
            "time": .string(ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])),
            "level": .string(event.level.rawValue), "label": .string(label),
            "message": .string(masker.maskFreeText(event.message.description, role: Self.logRole)),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged where fields[key] == nil {
            fields[key] = .string(masker.maskFreeText(value.description, role: Self.logRole))
        }
        write(CanonicalJSON.encode(.object(fields)) + [0x0A])
    }

    public static let standardOutput: @Sendable ([UInt8]) -> Void = { line in
        FileHandle.standardOutput.write(Data(line))
    }
}
