#if canImport(Glibc)
import Glibc
#endif
import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import Rescue

/// The audit API (the log's public reads are in LogRoutes): entries with inclusion proofs,
/// consistency proofs, filtered listings with cursor paging, carbon serial histories and
/// company summaries. Entry bodies are served byte for byte (they hold pseudonymous ids and no
/// personal data, which is what lets anyone check them against the signed tree).
extension Service {
    /// Entries one listing page examines at most; a page may come back short (even empty) with a
    /// cursor to continue from.
    static let listingScanMax: UInt64 = 20_000
    static let listingLimitMax = 500

    func addAuditRoutes(_ routes: RouteBuilder) {
        let loop = loop
        let carbonIndex = carbonIndex
        routes.on(.get, "/v1/proofs/consistency", .needs(.entriesRead)) { request, _ in
            try Self.refuseUnknownParameters(request.uri.queryParameters, known: ["from", "to"])
            guard let from = request.uri.queryParameters.get("from", as: UInt64.self), let to = request.uri.queryParameters.get("to", as: UInt64.self),
                from <= to, to <= loop.ledger.size
            else { throw Problem.badRequest("from and to must be tree sizes with from ≤ to ≤ \(loop.ledger.size)") }
            return try Self.ledgerRead {
                let proof = try loop.ledger.consistencyProof(from: from, to: to)
                return Response.json(.ok, [
                    "from": .integer(Int64(from)), "to": .integer(Int64(to)), "fromRoot": .string(try loop.ledger.root(size: from).hex),
                    "toRoot": .string(try loop.ledger.root(size: to).hex), "proof": .array(proof.map { .string($0.hex) }),
                ])
            }
        }
        routes.on(.get, "/v1/entries/{seq}", .needs(.entriesRead)) { request, context in
            try Self.refuseUnknownParameters(request.uri.queryParameters, known: [])
            return Response.json(.ok, try Self.entryAnswer(loop, try PathParameters.count(context, "seq")))
        }
        routes.on(.get, "/v1/entries", .needs(.entriesRead)) { request, _ in
            try Self.listEntries(loop, request.uri.queryParameters)
        }
        routes.on(.get, "/v1/carbon/serials/{vintage}/{serial}", .needs(.carbonRead)) { request, context in
            try Self.refuseUnknownParameters(request.uri.queryParameters, known: [])
            // Both are echoed in the JSON answer, so they stay in its integer domain.
            guard let vintage = context.parameters.get("vintage", as: Int.self), let serial = context.parameters.get("serial", as: Int64.self), serial >= 1,
                (-JSONValue.integerMagnitudeMax...JSONValue.integerMagnitudeMax).contains(Int64(vintage)), serial <= JSONValue.integerMagnitudeMax
            else {
                throw Problem.badRequest("vintage and serial must be integers within ±(2^53 − 1), serial ≥ 1")
            }
            let checkpoint = try Self.checkpoint(loop)
            let history = try Self.ledgerRead { try carbonIndex.history(vintage: vintage, serial: serial, ledger: loop.ledger, upTo: checkpoint.size) }
            guard !history.isEmpty else { throw Problem(.notFound, "serialNotFound", "No such serial has been issued", detail: "vintage \(vintage) serial \(serial)") }
            return Response.json(.ok, [
                "vintage": .integer(Int64(vintage)), "serial": .integer(serial), "checkpoint": Self.checkpointValue(checkpoint),
                "history": .array(history.map { .object($0) }),
            ])
        }
        routes.on(.get, "/v1/companies/{company}/summary", .needs(.companiesRead)) { request, context in
            try Self.refuseUnknownParameters(request.uri.queryParameters, known: [])
            let company = try PathParameters.id(context, "company")
            // Object-level: a provider or carbon trader sees only its own company.
            if let principal = context.principal, [.provider, .carbonTrader].contains(principal.role) {
                let own = loop.read { $0.participants.participants[principal.subject]?.company ?? principal.subject }
                guard own == company else {
                    throw Problem(.forbidden, "notYourCompany", "This caller may read only its own company", detail: "\(principal.subject) is not part of \(company)")
                }
            }
            let summary = loop.read { Self.summary(of: company, in: $0) }
            guard let summary else { throw Problem(.notFound, "companyNotFound", "No such company", detail: company) }
            return Response.json(.ok, summary)
        }
    }

    /// `GET /v1/entries/{seq}`'s answer: the entry, its signature, and its inclusion proof to the
    /// latest checkpoint, whose signed note is included so the proof checks against the key alone.
    /// `note` replaces that note (the console proves to a cosigned one of the same size).
    static func entryAnswer(_ loop: CommandLoop, _ seq: UInt64, cosigned: ((String, Checkpoint) -> String)? = nil) throws -> [String: JSONValue] {
        guard let (note, checkpoint) = loop.ledger.latestCheckpoint else { throw Problem(.notFound, "noCheckpoint", "No checkpoint yet", detail: "") }
        guard seq < checkpoint.size else {
            throw Problem(.notFound, "entryNotFound", "No such entry in the latest checkpoint", detail: "seq \(seq); the checkpoint covers \(checkpoint.size)")
        }
        return try Self.ledgerRead {
            let entry = try loop.ledger.storedEntry(seq)
            var answer = Self.listed(seq, entry.body, leafHash: entry.leafHash)
            answer["signature"] = .string(Base64.encode(entry.signature))
            let shown = cosigned?(note, checkpoint) ?? note
            answer["checkpoint"] = ["size": .integer(Int64(checkpoint.size)), "root": .string(checkpoint.root.hex), "note": .string(shown)]
            answer["inclusionProof"] = .array(try loop.ledger.inclusionProof(seq: seq, size: checkpoint.size).map { .string($0.hex) })
            return answer
        }
    }

    /// A misspelt parameter (`untill=`) must not pass as absent: the answer would look right
    /// and be for another question.
    static func refuseUnknownParameters(_ query: Parameters, known: Set<String>) throws {
        if let unknown = query.map({ String($0.key) }).first(where: { !known.contains($0) }) {
            throw Problem(
                .badRequest, "unknownParameter", "The query has a parameter this route does not take",
                detail: "\(unknown.prefix(100)); known: \(known.isEmpty ? "none" : known.sorted().joined(separator: ", "))")
        }
    }

    static func checkpoint(_ loop: CommandLoop) throws -> Checkpoint {
        guard let checkpoint = loop.ledger.latestCheckpoint?.checkpoint else { throw Problem(.notFound, "noCheckpoint", "No checkpoint yet", detail: "") }
        return checkpoint
    }

    static func checkpointValue(_ checkpoint: Checkpoint) -> JSONValue {
        ["size": .integer(Int64(checkpoint.size)), "root": .string(checkpoint.root.hex)]
    }

    /// Runs a ledger read, answering a storage failure as 503.
    static func ledgerRead<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LedgerError {
            throw Problem.ledger(error)
        }
    }

    /// One entry as listed: seq, time, kind, actor, leaf hash and the exact body.
    /// `view` is the body's, when the caller has already read it.
    static func listed(_ seq: UInt64, _ body: [UInt8], view given: JSONObjectView? = nil, leafHash: Hash? = nil) -> [String: JSONValue] {
        let view = given ?? (try? JSONObjectView(bytes: body))
        return [
            "seq": .integer(Int64(seq)), "time": .integer(view?.integer("time") ?? 0), "kind": .string(view?.string("kind") ?? ""),
            "actor": .string(view?.string("actor") ?? ""), "leafHash": .string((leafHash ?? MerkleHash.leaf(body)).hex),
            "body": .string(String(decoding: body, as: UTF8.self)),
        ]
    }

    /// `GET /v1/entries?kind=&actor=&company=&since=&until=&cursor=&limit=`: entries of the
    /// latest checkpoint in seq order. `since`/`until` are µs since the Unix epoch (entry times
    /// never decrease, so they bound a seq range); `company` matches entries naming the company
    /// or one of its sites; `cursor` is the `nextCursor` of the previous page.
    static func listEntries(_ loop: CommandLoop, _ query: Parameters) throws -> Response {
        func integer(_ name: String) throws -> Int64? {
            guard let text = query.get(name) else { return nil }
            guard let value = Int64(text), value >= 0 else { throw Problem.badRequest("\(name) must be a non-negative integer") }
            return value
        }
        try refuseUnknownParameters(query, known: ["kind", "actor", "company", "since", "until", "cursor", "limit"])
        let limit = Int(try integer("limit") ?? 100)
        guard (1...listingLimitMax).contains(limit) else { throw Problem.badRequest("limit must be 1…\(listingLimitMax)") }
        let listing = try entryListing(
            loop, EntryFilter(kind: query.get("kind"), actor: query.get("actor"), company: query.get("company"), since: try integer("since"), until: try integer("until")),
            cursor: UInt64(try integer("cursor") ?? 0), limit: limit)
        // No nextCursor: the range is exhausted.
        return Response.json(.ok, compact([
            "checkpoint": checkpointValue(listing.checkpoint), "entries": .array(listing.entries.map { .object(listed($0.seq, $0.body, view: $0.view)) }),
            "nextCursor": listing.nextCursor.map { .string(String($0)) },
        ]))
    }

    /// What an entry listing selects (nil: any). `company` matches entries naming the company or
    /// one of its sites, `mentions` entries naming that id; `since`/`until` are µs, inclusive.
    struct EntryFilter: Sendable {
        var kind: String?
        var actor: String?
        var company: String?
        var mentions: String?
        var since: Int64?
        var until: Int64?
    }

    /// One page of a listing: the entries found and where the next page starts (nil: the range is exhausted).
    struct EntryListing {
        let checkpoint: Checkpoint
        let entries: [(seq: UInt64, body: [UInt8], view: JSONObjectView)]
        let nextCursor: UInt64?
    }

    /// The entries of the latest checkpoint that `filter` selects, in seq order from `cursor`,
    /// examining at most `listingScanMax` entries (the API's listing and the console's explorer).
    static func entryListing(_ loop: CommandLoop, _ filter: EntryFilter, cursor: UInt64, limit: Int) throws -> EntryListing {
        let checkpoint = try checkpoint(loop)
        var needles: [[UInt8]] = []
        if let company = filter.company {
            guard ParticipantRegistry.isPseudonymous(company) else { throw Problem.badRequest("company is not an id") }
            let sites = loop.read { world in world.participants.participants.values.filter { $0.company == company }.map(\.id) }
            needles = ([company] + sites).map { Array("\"\($0)\"".utf8) }
        }
        var mention: [UInt8]?
        if let mentioned = filter.mentions {
            guard ParticipantRegistry.isPseudonymous(mentioned) else { throw Problem.badRequest("mentions is not an id") }
            mention = Array("\"\(mentioned)\"".utf8)
        }
        return try ledgerRead {
            var start = cursor
            var end = checkpoint.size
            if let since = filter.since { start = max(start, try firstSeq(loop.ledger, atOrAfter: since, size: end)) }
            // `until` is inclusive; at Int64.max no entry is after it (and + 1 would trap).
            if let until = filter.until, until < Int64.max { end = min(end, try firstSeq(loop.ledger, atOrAfter: until + 1, size: end)) }
            var found: [(seq: UInt64, body: [UInt8], view: JSONObjectView)] = []
            var next = min(start, end)
            let scanEnd = min(end, next + listingScanMax)
            if next < scanEnd {
                try loop.ledger.forEachBodySlice(from: next, to: scanEnd) { slice in
                    for (seq, body) in slice where found.count < limit {
                        next = seq + 1
                        guard let view = try? JSONObjectView(bytes: body) else { continue }
                        if let kind = filter.kind, view.string("kind") != kind { continue }
                        if let actor = filter.actor, view.string("actor") != actor { continue }
                        if !needles.isEmpty, !needles.contains(where: { body.contains(subsequence: $0) }) { continue }
                        if let mention, !body.contains(subsequence: mention) { continue }
                        found.append((seq, body, view))
                    }
                }
            }
            return EntryListing(checkpoint: checkpoint, entries: found, nextCursor: next < end ? next : nil)
        }
    }

    /// The first seq below `size` whose entry time is ≥ `time` (`size` when none): entry times
    /// never decrease, so a binary search over O(log n) entries finds it.
    static func firstSeq(_ ledger: Ledger, atOrAfter time: Int64, size: UInt64) throws -> UInt64 {
        var low: UInt64 = 0
        var high = size
        while low < high {
            let middle = low + (high - low) / 2
            if try ledger.entry(middle).body.time < time { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// A company's totals from the engines' state: its sites, completed rescues (grams, meals,
    /// CO2e on both bases, how many are counted for carbon) and its carbon account and holdings.
    static func summary(of company: String, in world: RescueWorld) -> [String: JSONValue]? {
        guard let participant = world.participants.participants[company], participant.role == .company else { return nil }
        let sites = Set(world.participants.participants.values.filter { $0.company == company }.map(\.id))
        var rescues: Int64 = 0, grams: Int64 = 0, meals: Int64 = 0, lifecycle: Int64 = 0, downstream: Int64 = 0, counted: Int64 = 0
        for rescue in world.rescues.values where sites.contains(rescue.completion.provider) {
            rescues += 1
            grams += rescue.completion.gramsRescued
            meals += rescue.completion.meals
            lifecycle += rescue.completion.lifecycleGramsCO2e
            downstream += rescue.completion.downstreamGramsCO2e
            if rescue.counted { counted += 1 }
        }
        let account = world.carbon.accounts[company]
        let holdings = world.carbon.holdings.filter { $0.status == .held(by: company) }.map { EntryCodec.rangeValue($0.range) }
        return [
            "company": .string(company), "region": .string(participant.region), "sites": .array(sites.sorted().map(JSONValue.string)),
            "rescues": [
                "completed": .integer(rescues), "gramsRescued": .integer(grams), "meals": .integer(meals),
                "lifecycleGramsCO2e": .integer(lifecycle), "downstreamGramsCO2e": .integer(downstream), "countedForCarbon": .integer(counted),
            ],
            "carbon": [
                "minted": .integer(account?.minted ?? 0), "received": .integer(account?.received ?? 0), "sent": .integer(account?.sent ?? 0),
                "retired": .integer(account?.retired ?? 0), "cancelled": .integer(account?.cancelled ?? 0), "balance": .integer(world.carbon.balance(of: company)),
                "holdings": .array(holdings),
            ],
            "asOfTime": .integer(world.time),
        ]
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        // memchr for the first byte, then compare (memmem is a GNU extension Glibc's module hides).
        return withUnsafeBufferPointer { haystack in
            needle.withUnsafeBufferPointer { needle in
                var start = 0
                let last = haystack.count - needle.count
                while start <= last {
                    guard let found = memchr(haystack.baseAddress! + start, Int32(needle[0]), last - start + 1) else { return false }
                    let index = haystack.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    if memcmp(haystack.baseAddress! + index, needle.baseAddress!, needle.count) == 0 { return true }
                    start = index + 1
                }
                return false
            }
        }
    }
}
