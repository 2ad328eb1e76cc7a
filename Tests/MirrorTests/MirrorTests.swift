#if canImport(Glibc)
import Glibc
#endif
import Compliance
import Core
import Foundation
import Ledger
import Mirror
import Rescue
import Testing

/// The mirror against a real PostgreSQL server (`make test` starts a throwaway one and names it
/// in PAHLAWAN_TEST_POSTGRES_URL). Serialized: one test restarts the server.
@Suite(.serialized) struct MirrorTests {
    static var policies: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/policies"
    }

    /// The shared test server, or (`restartable`) the one restart tests may restart.
    static func serverURL(restartable: Bool = false) throws -> String {
        let variable = restartable ? "PAHLAWAN_TEST_POSTGRES_RESTART_URL" : "PAHLAWAN_TEST_POSTGRES_URL"
        guard let url = ProcessInfo.processInfo.environment[variable] else {
            throw PostgresError(state: nil, message: "\(variable) is not set: run the tests with `make test`, which starts throwaway PostgreSQL servers")
        }
        return url
    }

    /// A new, empty database on a test server, and its URL.
    static func freshDatabase(restartable: Bool = false) throws -> String {
        let server = try serverURL(restartable: restartable)
        let name = "mirror_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try PostgresConnection(url: server).query("CREATE DATABASE \(name)")
        return server.replacingOccurrences(of: "/postgres", with: "/\(name)")
    }

    /// A migrated, empty mirror in a new database on the shared server.
    static func freshMirror() throws -> (connection: PostgresConnection, mirror: Mirror) {
        let connection = try PostgresConnection(url: try freshDatabase())
        let mirror = Mirror(connection: connection)
        try mirror.migrate()
        return (connection, mirror)
    }

    /// A ledger with a simulated city day in it.
    static func simulatedLedger(seed: UInt64 = 3, commands: Int = 500) throws -> (path: String, loop: CommandLoop) {
        let path = NSTemporaryDirectory() + "pahlawan-mirror-test-" + UUID().uuidString
        let start: Int64 = 1_795_453_200_000_000
        let clock = SimulatedClock(start)
        let loop = try Startup.open(data: DataDirectory(path), policies: policies, clock: clock.function).loop
        var simulator = CitySimulator(seed: seed, start: start, days: 1, commandsPerDay: commands, devices: .ed25519(seed: seed)) { loop.pickupCodeDigest(claim: $0, code: $1) }
        let report = try SimulationDriver.run(&simulator, through: loop, clock: clock)
        #expect(report.violations.isEmpty)
        return (path, loop)
    }

    /// Every row of every typed projection, as text, in a stable order.
    static func projections(_ connection: PostgresConnection) throws -> [String: [[String?]]] {
        let tables = [
            "participants", "offers", "claims", "rescues", "escrows", "escrow_movements", "disputes", "carbon_movements", "policy_activations", "scans",
            "pos_syncs", "courier_legs", "courier_points",
        ]
        return Dictionary(uniqueKeysWithValues: try tables.map { table in (table, try connection.query("SELECT t::text FROM \(table) t ORDER BY 1")) })
    }

    static func rows(_ connection: PostgresConnection) throws -> [[String?]] {
        try connection.query("SELECT seq, time_us, kind, actor, policy, encode(leaf_hash, 'hex'), encode(signature, 'hex'), payload::text, body FROM ledger_entries ORDER BY seq")
    }

    /// Eco-Hero balances and the leaderboard are SQL over the mirror (FORMAT §7.16): each
    /// courier's points there equal the engine's, and every scan and till sync has its row.
    @Test func courierPointsAndEvidenceAreQueryableBySQL() throws {
        let (path, loop) = try Self.simulatedLedger(seed: 4, commands: 1_500)
        defer {
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let (connection, mirror) = try Self.freshMirror()
        try mirror.catchUp(from: loop.ledger)
        let engine = loop.read { world in world.logistics.couriers.values.filter { $0.points > 0 }.map { [$0.id, String($0.points)] } }
        #expect(!engine.isEmpty, "the simulated day awarded no points")
        let board = try connection.query("SELECT courier, points::text FROM courier_leaderboard ORDER BY courier").map { $0.map { $0 ?? "" } }
        #expect(board == engine.sorted { $0[0] < $1[0] })
        let counts = try connection.query("""
            SELECT (SELECT count(*) FROM scans)::text, (SELECT count(*) FROM ledger_entries WHERE kind = 'scan.attested')::text,
                (SELECT count(*) FROM pos_syncs)::text, (SELECT count(*) FROM ledger_entries WHERE kind = 'pos.synced')::text
            """)[0]
        #expect(counts[0] == counts[1] && counts[2] == counts[3] && counts[0] != "0", "\(counts)")
    }

    @Test func catchUpMirrorsEveryEntryOnceInOrderAndResumesFromItsCursor() throws {
        let (path, loop) = try Self.simulatedLedger()
        defer {
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let (connection, mirror) = try Self.freshMirror()
        try mirror.migrate()  // idempotent
        let size = loop.ledger.size
        #expect(try mirror.catchUp(from: loop.ledger, to: size / 2, batch: 97) == size / 2)
        #expect(try mirror.applied() == size / 2)
        #expect(try mirror.catchUp(from: loop.ledger, batch: 97) == size)
        #expect(try mirror.catchUp(from: loop.ledger) == size, "nothing new: nothing written")
        let rows = try Self.rows(connection)
        #expect(rows.count == Int(size))
        for (index, row) in rows.enumerated() {
            let entry = try loop.ledger.entry(UInt64(index))
            #expect(row[0] == String(index) && row[5] == entry.leafHash.hex && row[2] == entry.body.kind, "seq \(index)")
            #expect(row[8] == String(decoding: entry.bodyBytes, as: UTF8.self))
            #expect(row[1] == String(entry.body.time) && row[3] == entry.body.actor && row[4] == entry.body.policy.hex, "seq \(index)")
            #expect(row[6] == Hex.encode(entry.signature), "seq \(index)")
        }
        // The payload is queryable JSON: the claims' portions add up as in the ledger.
        let portions = try connection.query("SELECT sum((payload->>'portions')::bigint) FROM ledger_entries WHERE kind = 'claim.placed'").first?[0] ?? nil
        var expected: Int64 = 0
        try loop.ledger.forEachEntry(from: 0, to: size) { entry in
            if entry.body.kind == "claim.placed", case .integer(let value)? = entry.body.payload["portions"] { expected += value }
        }
        #expect(portions == String(expected) && expected > 0)
    }

    /// PostgreSQL is restarted while the mirror catches up in small transactions: the catch-up
    /// fails, the cursor still equals the rows committed, and catching up again on a new
    /// connection ends with every entry exactly once.
    @Test func aPostgresRestartInTheMiddleOfCatchUpNeitherDuplicatesNorSkips() throws {
        guard let restart = ProcessInfo.processInfo.environment["PAHLAWAN_TEST_POSTGRES_RESTART"] else {
            throw PostgresError(state: nil, message: "PAHLAWAN_TEST_POSTGRES_RESTART is not set: run the tests with `make test`")
        }
        let (path, loop) = try Self.simulatedLedger(seed: 4, commands: 1_500)
        defer {
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let url = try Self.freshDatabase(restartable: true)
        let ledger = loop.ledger
        try Mirror(connection: PostgresConnection(url: url)).migrate()
        final class Outcome: @unchecked Sendable { var error: Error? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do {
                let mirror = Mirror(connection: try PostgresConnection(url: url))
                try mirror.catchUp(from: ledger, batch: 10)
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        // Restart once the catch-up is under way.
        let watcher = try PostgresConnection(url: url)
        for _ in 0..<500 {
            if let applied = try watcher.query("SELECT applied FROM mirror_cursor").first?[0] ?? nil, Int(applied) ?? 0 > 0 { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        watcher.close()
        // system(3), not Foundation's Process: the restarted server outlives the shell that
        // started it, and Process then waited here for ever.
        #expect(system(restart + " >/dev/null 2>&1") == 0, "the restart command failed")
        done.wait()
        #expect(outcome.error != nil, "the restart happened after the catch-up finished; the test did not test anything")

        let connection = try PostgresConnection(url: url)
        let mirror = Mirror(connection: connection)
        let applied = try mirror.applied()
        let committed = try connection.query("SELECT count(*), coalesce(max(seq) + 1, 0) FROM ledger_entries").first ?? []
        #expect(committed == [String(applied), String(applied)], "the cursor equals the rows committed before the restart")
        #expect(applied < ledger.size)
        #expect(try mirror.catchUp(from: ledger, batch: 10) == ledger.size)
        let final = try connection.query("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM ledger_entries").first ?? []
        #expect(final == [String(ledger.size), String(ledger.size), "0", String(ledger.size - 1)])
        // The typed projections went through the restart too: equal to a catch-up in one go.
        let straight = try PostgresConnection(url: try Self.freshDatabase())
        let reference = Mirror(connection: straight)
        try reference.migrate()
        try reference.catchUp(from: ledger)
        let projected = try Self.projections(connection)
        #expect(projected == (try Self.projections(straight)))
        #expect(!(projected["rescues"] ?? []).isEmpty && !(projected["carbon_movements"] ?? []).isEmpty)
    }

    @Test func aRebuildEqualsTheIncrementalMirrorAndAnotherLedgerIsRefused() throws {
        let (path, loop) = try Self.simulatedLedger(seed: 5)
        let (otherPath, other) = try Self.simulatedLedger(seed: 6)
        defer {
            loop.ledger.close()
            other.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: otherPath)
        }
        let (connection, mirror) = try Self.freshMirror()
        try mirror.catchUp(from: loop.ledger, batch: 64)
        let incremental = try Self.rows(connection)
        let incrementalProjections = try Self.projections(connection)
        #expect(try mirror.rebuild(from: loop.ledger) == loop.ledger.size)
        #expect(try Self.rows(connection) == incremental)
        #expect(try Self.projections(connection) == incrementalProjections)
        #expect(!(incrementalProjections["claims"] ?? []).isEmpty)
        // The same database cannot go on with a different ledger.
        let refused = #expect(throws: MirrorError.self) { try mirror.catchUp(from: other.ledger) }
        #expect(refused?.code == .anotherLedger)
        #expect(try Self.rows(connection) == incremental, "the refused catch-up wrote nothing")
    }

    /// The follower of `serve --postgres` keeps up with a live ledger, and catches up again
    /// after PostgreSQL was restarted under it; writers never waited.
    @Test func theFollowerKeepsUpWithALiveLedgerAcrossAPostgresRestart() throws {
        guard let restart = ProcessInfo.processInfo.environment["PAHLAWAN_TEST_POSTGRES_RESTART"] else {
            throw PostgresError(state: nil, message: "PAHLAWAN_TEST_POSTGRES_RESTART is not set: run the tests with `make test`")
        }
        let (path, loop) = try Self.simulatedLedger(seed: 7, commands: 300)
        defer {
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let url = try Self.freshDatabase(restartable: true)
        let follower = MirrorFollower()
        follower.start(ledger: loop.ledger, url: url, interval: 0.05) { _ in }
        defer { follower.stop() }
        func waitUntilMirrored() -> Bool {
            for _ in 0..<400 where follower.applied < loop.ledger.size { Thread.sleep(forTimeInterval: 0.05) }
            return follower.applied == loop.ledger.size
        }
        #expect(waitUntilMirrored())
        #expect(system(restart + " >/dev/null 2>&1") == 0)
        for number in 0..<25 {
            try loop.executeAndWait(.register(.init(id: "cmp-late-\(number)", role: .company, region: "ID-JK")), actor: "operator")
        }
        #expect(waitUntilMirrored(), "caught up after the restart: \(follower.applied) of \(loop.ledger.size); \(follower.failure ?? "")")
        let counts = try PostgresConnection(url: url).query("SELECT count(*), count(DISTINCT seq) FROM ledger_entries").first ?? []
        #expect(counts == [String(loop.ledger.size), String(loop.ledger.size)])
    }
}
