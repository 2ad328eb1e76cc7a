import Foundation
import Ledger

/// The Postgres mirror of the ledger (issue 6): a projection that is exactly-once, resumable and
/// rebuildable. Every entry becomes one row of `ledger_entries` and feeds the typed tables of
/// `Projections`; the cursor (`mirror_cursor`:
/// how many entries are applied, and the leaf hash of the last) changes in the same transaction
/// as the rows it covers, so a crash or a Postgres restart at any instant neither duplicates nor
/// skips an entry. The cursor's leaf hash also refuses to continue a mirror of another ledger.
public final class Mirror {
    /// Schema migrations, applied in order, each once (`mirror_migrations`).
    static let migrations: [(version: Int, sql: String)] = [
        (1, """
            CREATE TABLE ledger_entries (
                seq bigint PRIMARY KEY CHECK (seq >= 0),
                time_us bigint NOT NULL,
                kind text NOT NULL,
                actor text NOT NULL,
                policy text NOT NULL,
                leaf_hash bytea NOT NULL,
                signature bytea NOT NULL,
                payload jsonb NOT NULL,
                body text NOT NULL
            );
            CREATE INDEX ledger_entries_kind_seq ON ledger_entries (kind, seq);
            CREATE INDEX ledger_entries_actor_seq ON ledger_entries (actor, seq);
            CREATE TABLE mirror_cursor (
                only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                applied bigint NOT NULL,
                last_leaf_hash bytea
            );
            INSERT INTO mirror_cursor (applied, last_leaf_hash) VALUES (0, NULL);
            """),
        // The typed projections, filled from the entries already mirrored (see `Projections`).
        (2, Projections.schema),
        // Holdings by serial range at any tree size, and now.
        (3, Projections.holdings),
        // Flash Ludes auctions and their sales, filled from the entries already mirrored.
        (4, Projections.auctionSchema),
        // RT/RW group buys and their members.
        (5, Projections.groupSchema),
        // Evidence (issue 17): attested scans, till syncs, courier legs and Eco-Hero points.
        (6, Projections.evidenceSchema),
    ]

    /// What a migration projects from the entries already mirrored, in its own transaction.
    static func backfill(of version: Int) -> [String] {
        switch version {
        case 2: Projections.coreApply
        case 4: Projections.auctionApply
        case 5: Projections.groupApply
        case 6: Projections.evidenceApply
        default: []
        }
    }

    let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Applies the migrations the database lacks, each in its own transaction.
    public func migrate() throws(PostgresError) {
        try connection.query("CREATE TABLE IF NOT EXISTS mirror_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        for migration in Self.migrations {
            try connection.transaction { () throws(PostgresError) in
                // The lock makes concurrent migrators wait rather than race.
                try connection.query("LOCK TABLE mirror_migrations IN EXCLUSIVE MODE")
                guard try connection.query("SELECT 1 FROM mirror_migrations WHERE version = $1", [String(migration.version)]).isEmpty else { return }
                for statement in migration.sql.split(separator: ";") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    try connection.query(String(statement))
                }
                let backfill = Self.backfill(of: migration.version)
                if !backfill.isEmpty {
                    let applied = try connection.query("SELECT applied FROM mirror_cursor FOR UPDATE").first?[0] ?? "0"
                    for statement in backfill { try connection.query(statement, ["0", applied ?? "0"]) }
                }
                try connection.query("INSERT INTO mirror_migrations (version) VALUES ($1)", [String(migration.version)])
            }
        }
    }

    /// How many entries the mirror holds (seqs 0 ..< applied).
    /// - Throws: `MirrorError` `.notMigrated` when the cursor has no row, `.postgresFailed`.
    public func applied() throws(MirrorError) -> UInt64 {
        let rows = try postgres { () throws(PostgresError) in try connection.query("SELECT applied FROM mirror_cursor") }
        guard let text = rows.first?[0] ?? nil, let value = UInt64(text) else { throw MirrorError(.notMigrated, "mirror_cursor has no row; run migrate()") }
        return value
    }

    /// Applies the ledger's entries after the cursor, up to `end` (its size by default), in
    /// transactions of `batch` entries; returns the new cursor. Safe to interrupt anywhere. The
    /// next batch's rows are read and built on another thread while PostgreSQL takes this one.
    /// - Throws: `MirrorError` `.anotherLedger` when the database mirrors another ledger,
    ///   `.cursorMoved` when another mirror moved the cursor meanwhile (retry), `.notMigrated`,
    ///   `.postgresFailed`, `.ledgerFailed`.
    @discardableResult
    public func catchUp(from ledger: Ledger, to end: UInt64? = nil, batch: Int = 10_000) throws(MirrorError) -> UInt64 {
        let target = end ?? ledger.size
        var cursor = try applied()
        // Nothing to apply is no proof of the same ledger: a mirror ahead of this ledger, or
        // level with it on another last entry, mirrors another one.
        if end == nil, cursor > 0, cursor >= target {
            let stored = try postgres { () throws(PostgresError) in try connection.query("SELECT encode(last_leaf_hash, 'hex') FROM mirror_cursor") }
            let ours = cursor == target ? try storage { () throws(LedgerError) in try ledger.leafHash(cursor - 1) }.hex : nil
            guard let ours, stored.first?[0] == ours else {
                throw MirrorError(.anotherLedger, "the mirror holds \(cursor) entries and its last is not this ledger's (size \(target)): it mirrors another ledger")
            }
        }
        // The leaf hash the cursor must show: read once, then carried from batch to batch.
        var previousLeaf = cursor == 0 || cursor >= target ? nil : try storage { () throws(LedgerError) in try ledger.leafHash(cursor - 1) }
        var next = cursor < target ? Batch(ledger, from: cursor, to: min(target, cursor + UInt64(batch))) : nil
        while let current = next {
            let (text, lastLeaf) = try storage { () throws(LedgerError) in try current.wait() }
            let from = cursor
            let last = current.end
            next = last < target ? Batch(ledger, from: last, to: min(target, last + UInt64(batch))) : nil
            let expectedLeaf = previousLeaf
            // A refusal is returned, not thrown, from the transaction: it has only read and
            // locked the cursor when it refuses, so committing writes nothing.
            let refusal = try postgres { () throws(PostgresError) in
                try connection.transaction { () throws(PostgresError) -> MirrorError? in
                    // The cursor row is locked for the transaction: two mirrors of one database
                    // take turns, and each sees the other's progress.
                    let current = try connection.query("SELECT applied, encode(last_leaf_hash, 'hex') FROM mirror_cursor FOR UPDATE")
                    guard let row = current.first, row[0] == String(from) else {
                        return MirrorError(.cursorMoved, "the cursor moved to \(current.first?[0] ?? "nothing") meanwhile; retry")
                    }
                    guard row[1] == expectedLeaf?.hex else {
                        return MirrorError(.anotherLedger, "the mirror's last entry (seq \(from) − 1) is not this ledger's: it mirrors another ledger")
                    }
                    try connection.copy(into: "ledger_entries", columns: Self.columns, text: text)
                    try project(from: String(from), to: String(last))
                    try connection.query(
                        "UPDATE mirror_cursor SET applied = $1, last_leaf_hash = decode($2, 'hex')", [String(last), lastLeaf?.hex])
                    return nil
                }
            }
            if let refusal { throw refusal }
            cursor = last
            previousLeaf = lastLeaf
        }
        return cursor
    }

    /// The COPY text of entries `from ..< end`, built on a thread of their own; `wait` hands it over.
    private final class Batch: Sendable {
        let end: UInt64
        private let built = Handoff<Result<(text: [UInt8], lastLeaf: Hash?), LedgerError>>()

        init(_ ledger: Ledger, from: UInt64, to end: UInt64) {
            self.end = end
            DispatchQueue.global().async { [built] in
                built.fulfil(Result { () throws(LedgerError) in
                    var text: [UInt8] = []
                    var lastLeaf: Hash?
                    try ledger.forEachSignedBodySlice(from: from, to: end) { (slice) throws(LedgerError) in
                        if text.isEmpty { text.reserveCapacity(Int(end - from) * (slice.first.map { $0.bytes.count * 2 + 300 } ?? 1_024)) }
                        for (seq, signature, body) in slice { lastLeaf = try Mirror.appendRow(seq: seq, signature: signature, body: body, to: &text) }
                    }
                    return (text, lastLeaf)
                })
            }
        }

        func wait() throws(LedgerError) -> (text: [UInt8], lastLeaf: Hash?) {
            try built.wait().get()
        }
    }

    /// Drops every mirrored row and the cursor, then catches up from the first entry.
    /// - Throws: `MirrorError`, as `catchUp`.
    @discardableResult
    public func rebuild(from ledger: Ledger, batch: Int = 10_000) throws(MirrorError) -> UInt64 {
        try postgres { () throws(PostgresError) in
            try connection.transaction { () throws(PostgresError) in
                try connection.query("SELECT 1 FROM mirror_cursor FOR UPDATE")
                try connection.query("TRUNCATE ledger_entries, " + Projections.tables.joined(separator: ", "))
                try connection.query("UPDATE mirror_cursor SET applied = 0, last_leaf_hash = NULL")
            }
        }
        return try catchUp(from: ledger, batch: batch)
    }

    /// Projects the mirrored entries `from ..< to` into the typed tables, in the caller's transaction.
    private func project(from: String, to: String) throws(PostgresError) {
        for statement in Projections.apply { try connection.query(statement, [from, to]) }
    }

    /// The columns of `ledger_entries`, in the order of `row`.
    public static let columns = ["seq", "time_us", "kind", "actor", "policy", "leaf_hash", "signature", "payload", "body"]

    /// Appends one stored entry as a COPY text line of `ledger_entries` (`columns`' order) and
    /// returns its leaf hash. It is read from the exact body without decoding it into values:
    /// the payload column is the body's own payload text.
    @discardableResult
    public static func appendRow(seq: UInt64, signature: [UInt8], body: [UInt8], to text: inout [UInt8]) throws(LedgerError) -> Hash {
        let view: JSONObjectView
        do throws(JSONViewError) {
            view = try JSONObjectView(bytes: body)
        } catch {
            throw LedgerError(.badEntry, "stored body: \(error)", seq: seq)
        }
        guard view.integer("seq") == Int64(seq), let time = view.integer("time"), let kind = view.string("kind"), let actor = view.string("actor"),
            let policy = view.string("policy"), let payload = view.valueRange("payload")
        else { throw LedgerError(.badEntry, "stored body lacks seq, time, kind, actor, policy or payload", seq: seq) }
        let leafHash = MerkleHash.leaf(body)
        let tab: UInt8 = 0x09
        text += String(seq).utf8
        text.append(tab)
        text += String(time).utf8
        for field in [kind, actor, policy] {
            text.append(tab)
            PostgresConnection.appendField(field.utf8, to: &text)
        }
        // bytea in hex form: the backslash of `\x` is itself escaped in COPY text.
        for bytes in [leafHash.bytes, signature] {
            text += [tab, 0x5C, 0x5C, UInt8(ascii: "x")]
            text += Hex.encode(bytes).utf8
        }
        text.append(tab)
        PostgresConnection.appendField(body[payload], to: &text)
        text.append(tab)
        PostgresConnection.appendField(body, to: &text)
        text.append(0x0A)
        return leafHash
    }

    private func postgres<T>(_ body: () throws(PostgresError) -> T) throws(MirrorError) -> T {
        do throws(PostgresError) {
            return try body()
        } catch {
            throw .postgres(error)
        }
    }

    private func storage<T>(_ body: () throws(LedgerError) -> T) throws(MirrorError) -> T {
        do throws(LedgerError) {
            return try body()
        } catch {
            throw .ledger(error)
        }
    }
}

