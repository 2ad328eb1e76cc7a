import Ledger

/// The webhook signature of a till (FORMAT §7.15): `Pahlawan-Signature: t=<unix seconds>,v1=<hex>`,
/// HMAC-SHA-256 under the connection's secret over the seconds, `.`, and the exact body (the
/// Stripe and Square convention: the timestamp is signed, so a replay cannot refresh it).
enum WebhookSignature {
    static let headerName = "Pahlawan-Signature"

    /// The header value for `body` at `seconds` (tills and tests sign with this).
    static func header(secret: [UInt8], seconds: Int64, body: [UInt8]) -> String {
        "t=\(seconds),v1=" + Hex.encode(Sodium.hmacSHA256(key: secret, message: Array("\(seconds).".utf8) + body))
    }

    /// Checks `header` over `body`; `now` and `window` in µs.
    static func verify(_ header: String?, body: [UInt8], secret: [UInt8], now: Int64, window: Int64) throws(Problem) {
        guard let header, header.utf8.count <= 1_024 else {
            throw Problem(.unauthorized, "webhookSignatureIsMissing", "The webhook is not signed", detail: "send \(headerName): t=<unix seconds>,v1=<hex HMAC-SHA-256>")
        }
        var seconds: Int64?
        var macs: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.filter { $0 != " " }.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t", pair[1].utf8.count <= 12, pair[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { seconds = Int64(pair[1]) }
            if pair[0] == "v1", let mac = Hex.decode(pair[1]), mac.count == 32 { macs.append(mac) }
        }
        guard let seconds, !macs.isEmpty else {
            throw Problem(.unauthorized, "webhookSignatureIsMissing", "The webhook is not signed", detail: "\(headerName) needs t=<unix seconds> and v1=<64 hex digits>")
        }
        // The MAC first: an unsigned request learns nothing about the clock window.
        let expected = Sodium.hmacSHA256(key: secret, message: Array("\(seconds).".utf8) + body)
        guard macs.contains(where: { Sodium.constantTimeEqual($0, expected) }) else {
            throw Problem(.unauthorized, "webhookSignatureIsInvalid", "The webhook signature does not match", detail: "HMAC-SHA-256 over \"<t>.<body>\" with the connection's secret")
        }
        guard abs(seconds * 1_000_000 - now) <= window else {
            throw Problem(
                .unauthorized, "webhookTimestampOutsideWindow", "The webhook is too old or too far ahead",
                detail: "t must be within \(window / 1_000_000) s of the service's clock; a till re-signs each delivery")
        }
    }
}
