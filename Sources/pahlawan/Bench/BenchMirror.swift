import ArgumentParser
import Compliance
import Core
import Foundation
import Ledger
import Mirror
import Synchronization

/// `pahlawan bench mirror`: catch-up speed into PostgreSQL against a raw COPY of the same rows
/// (the database's own ingest limit, same run), and the mirror's lag behind a ledger written at
/// a steady rate.
struct BenchMirror: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "The Postgres mirror: catch-up entries/s against a raw COPY of the same rows, and lag p50/p99 behind a ledger appended at --rate entries/s.")

    @Option(help: "PostgreSQL server URL (a database is created for each run; or PAHLAWAN_POSTGRES_URL).") var postgres: String?
    @Option(help: "Entries of simulated traffic to catch up.") var entries = 200_000
    @Option(help: "Steady append rate for the lag run (entries/s).") var rate = 2_000
    @Option(help: "Seconds of the lag run.") var seconds = 10
    @Option(help: "The policy directory.") var policies = "policies"
    @OptionGroup var bench: BenchOptions

    func run() throws {
        guard let server = postgres ?? ProcessInfo.processInfo.environment["PAHLAWAN_POSTGRES_URL"] else {
            throw ValidationError("give --postgres URL or set PAHLAWAN_POSTGRES_URL")
        }
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        let policySet = try report { try PolicySet.load(directory: policies) }
        let written = try SimulatedLedger.events(entries: entries + rate * seconds + 1_000, seed: 1, policy: policySet.rescue)

        // Catch-up: a ledger of `entries` entries into an empty database.
        let catchUpData = DataDirectory(directory.path + "/catch-up")
        let key = try report { try catchUpData.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin).key }
        let ledger = try report { try Ledger(directory: catchUpData, signer: key) }
        try report { try SimulatedLedger.append(written.prefix(entries), to: ledger, policy: policySet.hash) }
        let url = try Self.freshDatabase(server)
        let connection = try Self.connect(url)
        let mirror = Mirror(connection: connection)
        try Self.postgres { try mirror.migrate() }
        let started = monotonicSeconds()
        let applied = try Self.postgres { try mirror.catchUp(from: ledger) }
        let catchUpSeconds = monotonicSeconds() - started
        // The limit: the same rows, already built, COPYed into a table of the same shape.
        var batches: [[UInt8]] = []
        try report {
            try ledger.forEachSignedBodySlice(from: 0, to: ledger.size, sliceCount: 10_000) { (slice) throws(LedgerError) in
                var text: [UInt8] = []
                for (seq, signature, body) in slice { try Mirror.appendRow(seq: seq, signature: signature, body: body, to: &text) }
                batches.append(text)
            }
        }
        let rowCount = Int(ledger.size)
        // Unlogged: the database's bare ingest rate; logged: what any durable copy of these rows costs.
        func copyRate(_ table: String, logged: Bool) throws -> Double {
            try Self.postgres { try connection.query("CREATE \(logged ? "" : "UNLOGGED ")TABLE \(table) (LIKE ledger_entries INCLUDING ALL)") }
            let started = monotonicSeconds()
            try Self.postgres {
                for text in batches {
                    try connection.transaction { () throws(PostgresError) in try connection.copy(into: table, columns: Mirror.columns, text: text) }
                }
            }
            return Double(rowCount) / (monotonicSeconds() - started)
        }
        let copyPerSecond = try copyRate("copy_limit", logged: false)
        let loggedCopyPerSecond = try copyRate("copy_limit_logged", logged: true)
        ledger.close()

        // Lag: entries appended at `rate` per second while the follower mirrors them.
        let lagData = DataDirectory(directory.path + "/lag")
        let lagKey = try report { try lagData.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin).key }
        let live = try report { try Ledger(directory: lagData, signer: lagKey) }
        let lagURL = try Self.freshDatabase(server)
        let total = rate * seconds
        struct Times {
            var durable: [UInt64: Double] = [:]
            var mirrored: [UInt64: Double] = [:]
        }
        let times = Locked(Times())
        let follower = MirrorFollower()
        follower.start(ledger: live, url: lagURL, interval: 0.02) { printError("pahlawan: bench mirror: \($0)") }
        // Marks each entry's mirroring time as the follower's count passes it.
        let watching = Atomic<Bool>(true)
        let watcher = Thread {
            var seen: UInt64 = 0
            while watching.load(ordering: .relaxed) {
                let now = follower.applied
                if now > seen {
                    let at = monotonicSeconds()
                    times.withLock { for seq in seen..<now { $0.mirrored[seq] = at } }
                    seen = now
                }
                usleep(1_000)
            }
        }
        watcher.start()
        let lagStart = monotonicSeconds()
        for (index, item) in written.dropFirst(entries).prefix(total).enumerated() {
            let due = lagStart + Double(index) / Double(rate)
            let wait = due - monotonicSeconds()
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
            let draft = EntryDraft(kind: item.event.kind.rawValue, actor: item.actor, payload: EntryCodec.payload(of: item.event), policy: policySet.hash)
            try report {
                try live.enqueue([draft]) { result in
                    let at = monotonicSeconds()
                    if case .success(let entries) = result { times.withLock { for entry in entries { $0.durable[entry.seq] = at } } }
                }
            }
        }
        // Wait for the tail to be mirrored (at most 30 s).
        let deadline = monotonicSeconds() + 30
        while follower.applied < live.size || live.size < UInt64(total), monotonicSeconds() < deadline { usleep(10_000) }
        watching.store(false, ordering: .relaxed)
        follower.stop()
        usleep(50_000)
        let lags = times.withLock { times in times.durable.compactMap { seq, durable in times.mirrored[seq].map { ($0 - durable) * 1000 } } }.sorted()
        live.close()
        func percentile(_ p: Double) -> Double { lags.isEmpty ? 0 : lags[min(lags.count - 1, Int(Double(lags.count) * p))] }

        bench.emit("bench mirror (\(applied) entries caught up; lag run \(total) entries at \(rate)/s)", [
            ("catch_up_entries_per_second", .number(Double(applied) / catchUpSeconds, digits: 0)),
            ("raw_copy_rows_per_second", .number(copyPerSecond, digits: 0)),
            ("ratio_catch_up_to_raw_copy", .number(Double(applied) / catchUpSeconds / copyPerSecond, digits: 3)),
            ("logged_copy_rows_per_second", .number(loggedCopyPerSecond, digits: 0)),
            ("ratio_catch_up_to_logged_copy", .number(Double(applied) / catchUpSeconds / loggedCopyPerSecond, digits: 3)),
            ("lag_entries_measured", .integer(lags.count)),
            ("lag_p50_ms", .number(percentile(0.5), digits: 1)),
            ("lag_p99_ms", .number(percentile(0.99), digits: 1)),
            ("lag_max_ms", .number(lags.last ?? 0, digits: 1)),
        ])
    }

    static func connect(_ url: String) throws -> PostgresConnection {
        try postgres { try PostgresConnection(url: url) }
    }

    /// A new database on the server for this run.
    static func freshDatabase(_ server: String) throws -> String {
        let name = "bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try postgres { try PostgresConnection(url: server).query("CREATE DATABASE \(name)") }
        guard let slash = server.lastIndex(of: "/") else { throw ValidationError("the URL names no database: \(server)") }
        return String(server[..<slash]) + "/" + name
    }

    static func postgres<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            printError("pahlawan: error: bench mirror: \(error)")
            throw ExitCode(1)
        }
    }
}
