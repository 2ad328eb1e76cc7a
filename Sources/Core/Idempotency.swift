import Foundation
import Ledger

/// A client's `Idempotency-Key` for one write, as digests: the key is the client's own string
/// (it could hold anything), so only its SHA-256 is recorded, with the SHA-256 of the request
/// it was first used for.
public struct Idempotency: Hashable, Sendable {
    /// Hex SHA-256 of the client's key.
    public let key: String
    /// Hex SHA-256 of what the request asked (method, path, body).
    public let request: String

    /// Digests the client's key and the request it names.
    public init(clientKey: String, request: [UInt8]) {
        key = SHA256.hash(Array(clientKey.utf8)).hex
        self.request = SHA256.hash(request).hex
    }

    init(key: String, request: String) {
        self.key = key
        self.request = request
    }
}

/// The record of an idempotent command in its first entry's payload (FORMAT.md §7.11):
/// `"idempotency": {"entries": n, "key": hex, "request": hex}`; the command's entries are the
/// `n` consecutive entries from that one.
struct IdempotencyRecord: Sendable {
    static let member = "idempotency"

    let actor: String
    let idempotency: Idempotency
    let firstSeq: UInt64
    let entries: UInt64
    let time: Int64

    init(actor: String, idempotency: Idempotency, firstSeq: UInt64, entries: UInt64, time: Int64) {
        self.actor = actor
        self.idempotency = idempotency
        self.firstSeq = firstSeq
        self.entries = entries
        self.time = time
    }

    init?(_ view: JSONObjectView, actor: String, firstSeq: UInt64, time: Int64) {
        guard let key = view.string("key"), let request = view.string("request"), let entries = view.integer("entries"), entries >= 1,
            Self.isDigest(key), Self.isDigest(request)
        else { return nil }
        self.init(actor: actor, idempotency: Idempotency(key: key, request: request), firstSeq: firstSeq, entries: UInt64(entries), time: time)
    }

    static func payloadValue(_ idempotency: Idempotency, entries: Int) -> JSONValue {
        .object(["key": .string(idempotency.key), "request": .string(idempotency.request), "entries": .integer(Int64(entries))])
    }

    private static func isDigest(_ text: String) -> Bool { text.utf8.count == 64 && Hash(hex: text)?.hex == text }
}

/// The idempotency keys seen in the last `retentionMicroseconds` of entry time, per actor: a
/// key belongs to the caller who used it, so one caller cannot replay another's answer.
struct IdempotencyIndex {
    /// Keys are honoured for 24 hours (a client retries within minutes; Stripe keeps 24 h too).
    static let retentionMicroseconds: Int64 = 24 * 3600 * 1_000_000

    private struct Slot: Hashable {
        let actor: String
        let key: String
    }

    private var records: [Slot: IdempotencyRecord] = [:]
    private var order: [(slot: Slot, time: Int64)] = []
    private var head = 0

    func record(actor: String, key: String) -> IdempotencyRecord? { records[Slot(actor: actor, key: key)] }

    mutating func insert(_ record: IdempotencyRecord) {
        let slot = Slot(actor: record.actor, key: record.idempotency.key)
        records[slot] = record
        order.append((slot, record.time))
        prune(before: record.time - Self.retentionMicroseconds)
    }

    /// Forgets keys first used before `time`, oldest first.
    private mutating func prune(before time: Int64) {
        while head < order.count, order[head].time < time {
            let (slot, inserted) = order[head]
            if records[slot]?.time == inserted { records[slot] = nil }
            head += 1
        }
        if head > 4096, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
