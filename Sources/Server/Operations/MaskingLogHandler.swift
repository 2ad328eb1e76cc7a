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
        write(line(level: event.level, message: event.message.description, metadata: event.metadata, time: Ledger.wallClockMicroseconds()))
    }

    /// The line `log(event:)` writes at `time` (µs since the epoch).
    func line(level: Logger.Level, message: String, metadata extra: Logger.Metadata?, time: Int64) -> [UInt8] {
        // The line is written straight into one buffer, members in canonical (JCS) order: a
        // dictionary of JSON values, the generic encoder and a string per timestamp part were
        // most of a small request's log line.
        var members: [(key: String, value: String)] = [
            ("time", Self.timestamp(microseconds: time)), ("level", level.rawValue), ("label", label), ("message", PIIFormats.maskForLog(message)),
        ]
        var merged = metadata
        if let extra { merged.merge(extra) { $1 } }
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
        return line
    }

    /// Whether `requestLine` writes what `log(event:)` would: at info level, and no metadata of
    /// the handler's own to merge.
    var writesRequestLines: Bool { logLevel <= .info && metadata.isEmpty }

    /// Logs one request (`TraceMiddleware`): the line `info("request", metadata:)` with these
    /// members writes, byte for byte (a property test holds them equal), built without swift-log's
    /// metadata dictionary, its merge and the sort, which were most of the line's cost.
    func logRequest(_ request: RequestLine) {
        write(requestLine(request, time: Ledger.wallClockMicroseconds()))
    }

    /// A request's log members: `traceID` drawn by the service or checked by
    /// `TraceParent.traceID`, the rest masked as any caller text is.
    struct RequestLine {
        var traceID: String
        var method: String
        var path: String
        var route: String
        var status: Int
        var durationMicroseconds: UInt64
        var queuedMicroseconds: UInt64

        /// The same members as swift-log metadata, for a logger that is not written directly.
        var metadata: Logger.Metadata {
            [
                "trace_id": .stringConvertible(ServiceMadeLogValue(traceID)), "method": "\(method)", "path": "\(path)", "route": "\(route)",
                "status": "\(status)", "duration_us": "\(durationMicroseconds)", "queued_us": "\(queuedMicroseconds)",
            ]
        }
    }

    /// `logRequest`'s line at `time`, members written in their canonical order.
    func requestLine(_ request: RequestLine, time: Int64) -> [UInt8] {
        var line = [UInt8]()
        line.reserveCapacity(256 + request.path.utf8.count)
        func key(_ name: StaticString) {
            line.append(line.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
            line.append(UInt8(ascii: "\""))
            line.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            line.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func number(_ value: UInt64) {
            // Under 10 digits a number holds nothing the masking changes; longer ones are masked
            // as the generic line masks them.
            if value < 1_000_000_000 {
                line.append(UInt8(ascii: "\""))
                CanonicalJSON.writeInteger(Int64(value), into: &line)
                line.append(UInt8(ascii: "\""))
            } else {
                CanonicalJSON.writeString(PIIFormats.maskForLog(String(value)), into: &line)
            }
        }
        key("duration_us")
        number(request.durationMicroseconds)
        key("label")
        CanonicalJSON.writeString(label, into: &line)
        key("level")
        CanonicalJSON.writeString(Logger.Level.info.rawValue, into: &line)
        key("message")
        CanonicalJSON.writeString(Self.requestMessage, into: &line)
        key("method")
        CanonicalJSON.writeString(PIIFormats.maskForLog(request.method), into: &line)
        key("path")
        CanonicalJSON.writeString(PIIFormats.maskForLog(request.path), into: &line)
        key("queued_us")
        number(request.queuedMicroseconds)
        key("route")
        CanonicalJSON.writeString(PIIFormats.maskForLog(request.route), into: &line)
        key("status")
        number(UInt64(clamping: request.status))
        key("time")
        CanonicalJSON.writeString(Self.timestamp(microseconds: time), into: &line)
        key("trace_id")
        CanonicalJSON.writeString(request.traceID, into: &line)
        line.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
        return line
    }

    static let requestMessage = PIIFormats.maskForLog("request")

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
