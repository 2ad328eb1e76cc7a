#if canImport(Glibc)
import Glibc
#endif
import Compliance
import Foundation
import Ledger
import Logging

/// A log value the service composed from no caller text (an id it drew at random) or already
/// checked with `PIIFormats.isLogSafe`, which the handler writes as it is: the masking would only
/// cost time on it. Unchecked caller text must not be wrapped in one.
struct ServiceMadeLogValue: CustomStringConvertible, Sendable {
    let text: String
    init(_ text: String) { self.text = text }
    var description: String { text }
}

/// A swift-log handler that writes one JSON object per line (time, level, label, message,
/// metadata) after passing the message and every metadata value through the log masking
/// (`PIIFormats.maskForLog`): a NIK, phone number, e-mail address or any long run of digits that
/// reaches a log line is masked there, whoever logged it and however it was encoded.
public struct MaskingLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let write: @Sendable ([UInt8]) -> Void

    /// `write` receives each line with its newline (standard output by default).
    public init(label: String, write: @escaping @Sendable ([UInt8]) -> Void = MaskingLogHandler.standardOutput) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The line's own members, which metadata cannot replace.
    private static let ownMembers: Set<String> = ["time", "level", "label", "message"]

    public func log(event: LogEvent) {
        // The line is written straight into one buffer, members in canonical (JCS) order: a
        // dictionary of JSON values, the generic encoder and a string per timestamp part were
        // most of a small request's log line.
        var members: [(key: String, value: String)] = [
            ("time", Self.timestamp(microseconds: Ledger.wallClockMicroseconds())), ("level", event.level.rawValue), ("label", label),
            ("message", PIIFormats.maskForLog(event.message.description)),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        members.reserveCapacity(members.count + merged.count)
        for (key, value) in merged where !Self.ownMembers.contains(key) {
            if case .stringConvertible(let made as ServiceMadeLogValue) = value {
                members.append((key, made.text))
            } else {
                members.append((key, PIIFormats.maskForLog(value.description)))
            }
        }
        var line = [UInt8]()
        line.reserveCapacity(members.reduce(2) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 })
        line.append(UInt8(ascii: "{"))
        for (index, member) in CanonicalJSON.sorted(members, byKey: { $0.key }).enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            CanonicalJSON.writeString(member.key, into: &line)
            line.append(UInt8(ascii: ":"))
            CanonicalJSON.writeString(member.value, into: &line)
        }
        line.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
        write(line)
    }

    /// RFC 3339 UTC with milliseconds (`2026-12-03T05:07:09.042Z`), by integer arithmetic: a
    /// date formatter for every line cost more than the rest of the line.
    static func timestamp(microseconds: Int64) -> String {
        let time = Reports.civilTime(microseconds: microseconds, offsetMicroseconds: 0)
        let withinMinute = Int(((microseconds % 60_000_000) + 60_000_000) % 60_000_000) / 1_000
        var out = [UInt8]()
        out.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            // Zero-padded to `count` digits; a year past 9999 keeps all its digits.
            let text = String(value).utf8
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, count - text.count)))
            out.append(contentsOf: text)
        }
        digits(time.year, 4)
        out.append(UInt8(ascii: "-"))
        digits(time.month, 2)
        out.append(UInt8(ascii: "-"))
        digits(time.day, 2)
        out.append(UInt8(ascii: "T"))
        digits(time.hour, 2)
        out.append(UInt8(ascii: ":"))
        digits(time.minute, 2)
        out.append(UInt8(ascii: ":"))
        digits(withinMinute / 1_000, 2)
        out.append(UInt8(ascii: "."))
        digits(withinMinute % 1_000, 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// One `write(2)` per line (looping on a short write or EINTR), without the Data copy
    /// FileHandle made. A line standard output refuses stops the service, as FileHandle's
    /// `try!` did: no request may go unlogged (a dropped line would weaken the log).
    public static let standardOutput: @Sendable ([UInt8]) -> Void = { line in
        line.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + done, bytes.count - done)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    fatalError("pahlawan: standard output refused a log line (\(written < 0 ? String(cString: strerror(errno)) : "nothing written")); stopping, since no request may go unlogged")
                }
                done += written
            }
        }
    }
}
