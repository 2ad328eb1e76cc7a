import Compliance
import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Server
import Logging
import Testing
import Witness

/// `Monitor` following real ledgers over real loopback HTTP: the service's own routes, and a
/// server that rolls back, forks, forges, changes or withholds what it serves.
@Suite struct MonitorTests {
    static var policies: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/policies"
    }

    // MARK: Following

    /// The service itself (Server's `Service`, its public `/checkpoint` and `/tile/**` with their
    /// rate limit) serves a log of a few thousand entries: the monitor follows it from scratch
    /// (full and partial bundles and hash tiles, level 0 and 1), then incrementally as entries
    /// are appended, then again after a restart from its saved state.
    @Test func followsTheServiceFromScratchThenIncrementally() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (loop, service) = try await Self.service(in: folder)
        defer { loop.ledger.close() }
        let ledger = loop.ledger
        let key = ledger.verifier
        let state = folder.path + "/monitor"
        try Self.append(ledger, 3_000, from: 0)
        try await ledger.checkpoint()
        let app = Application(router: service.router(), logger: Self.quiet)
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(client.port!)"
            let monitor = try Monitor(.init(url: url, logKey: key, stateDirectory: state))
            let first = try #require(try await monitor.poll())
            #expect(first.checkpoint.size == ledger.size && first.checkpoint.size > 3_000)
            #expect(first.verifiedEntries == first.checkpoint.size)
            #expect(first.checkpoint.root == (try ledger.root(size: first.checkpoint.size)))
            #expect(first.note == ledger.latestCheckpoint?.note)

            // Incrementally: one entry (a partial tile grows), a tile boundary, and nothing new.
            try Self.append(ledger, 1, from: 3_000)
            try await ledger.checkpoint()
            let second = try #require(try await monitor.poll())
            #expect(second.verifiedEntries == 1 && second.checkpoint.size == first.checkpoint.size + 1)
            try Self.append(ledger, 700, from: 3_001)
            try await ledger.checkpoint()
            let third = try #require(try await monitor.poll())
            #expect(third.verifiedEntries == 700 && third.checkpoint.size == ledger.size)
            let unchanged = try #require(try await monitor.poll())
            #expect(unchanged.verifiedEntries == 0 && unchanged.checkpoint == third.checkpoint)
            await monitor.close()

            // A restart continues from the saved state: only the new entries are fetched again.
            let saved = try Monitor(.init(url: url, logKey: key, stateDirectory: state))
            #expect(await saved.state.size == third.checkpoint.size)
            #expect(await saved.state.note == third.note)
            try Self.append(ledger, 300, from: 3_701)
            try await ledger.checkpoint()
            let fourth = try #require(try await saved.poll())
            let root = try ledger.root(size: ledger.size)
            #expect(fourth.verifiedEntries == 300 && fourth.checkpoint.root == root)
            await saved.close()
        }
        #expect(TemporaryFolder.evidence(in: state).isEmpty)
        #expect(FileManager.default.contents(atPath: state + "/checkpoint").map { String(decoding: $0, as: UTF8.self) } == ledger.latestCheckpoint?.note)
    }

    /// The log rotates its key (FORMAT §10.7) while the monitor follows it: the monitor, which
    /// trusts only the initial key, follows the rotation (its signature from GET /v1/keys), checks
    /// the next checkpoint with the new key, and keeps the chain across a restart.
    @Test func followsAKeyRotationFromTheInitialKey() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (loop, service) = try await Self.service(in: folder)
        defer { loop.ledger.close() }
        let ledger = loop.ledger
        let initial = ledger.verifier
        let state = folder.path + "/monitor"
        try Self.append(ledger, 300, from: 0)
        try await ledger.checkpoint()
        let app = Application(router: service.router(), logger: Self.quiet)
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(client.port!)"
            let monitor = try Monitor(.init(url: url, logKey: initial, stateDirectory: state))
            _ = try #require(try await monitor.poll())
            let next = try SigningKey.generate(name: ledger.origin)
            try ledger.rotateKey(to: next, reason: .scheduled)
            try Self.append(ledger, 100, from: 300)
            try await ledger.checkpoint()
            let after = try #require(try await monitor.poll())
            #expect(after.checkpoint.size == ledger.size)
            #expect(await monitor.state.keys?.current == next.verifier)
            await monitor.close()
            let restarted = try Monitor(.init(url: url, logKey: initial, stateDirectory: state))
            #expect(await restarted.state.keys?.links.count == 2)
            try Self.append(ledger, 10, from: 400)
            try await ledger.checkpoint()
            #expect(try await restarted.poll()?.verifiedEntries == 10)
            await restarted.close()
        }
        #expect(TemporaryFolder.evidence(in: state).isEmpty)
    }

    /// The service over a new ledger in `folder` (checkpoints only when asked).
    static func service(in folder: TemporaryFolder) async throws -> (CommandLoop, Service) {
        var options = LedgerOptions()
        options.checkpointIntervalMicroseconds = 3_600_000_000
        let loop = try Startup.open(data: DataDirectory(folder.path + "/data"), policies: Self.policies, options: options).loop
        var settings = try ServiceSettings.load(policies: Self.policies)
        // The suite's load, not the policy's timeout, sets how long a request waits here.
        settings.limits.requestTimeoutSeconds = 120
        let service = Service(
            loop: loop, authority: try await TokenAuthority(seed: [UInt8](repeating: 3, count: 32)),
            settings: settings, vault: try PIIVault(directory: folder.path + "/vault", masterKey: [UInt8](repeating: 9, count: 32)),
            maskingSecret: [UInt8](repeating: 5, count: 32), logger: Self.quiet)
        return (loop, service)
    }

    static var quiet: Logger {
        var logger = Logger(label: "pahlawan.http")
        logger.logLevel = .warning
        return logger
    }

    /// Appends `count` entries stamped by the ledger's clock.
    static func append(_ ledger: Ledger, _ count: Int, from: Int) throws {
        for start in stride(from: 0, to: count, by: 1_000) {
            try ledger.append((start..<min(count, start + 1_000)).map { offset in
                EntryDraft(kind: "monitor.tested", actor: "tester", payload: ["number": .integer(Int64(from + offset))])
            })
        }
    }

    /// Past 65,536 entries a level-1 hash tile is full: the monitor checks it and the level-2
    /// partial tile above it, as well as every level-0 tile and bundle.
    @Test func followsALogPastAFullLevelOneTile() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(66_000, from: 0)
        try log.checkpoint()
        let tampering = Tampering(log.ledger)
        try await TamperingServer.run(tampering) { url in
            let monitor = try Monitor.test(url: url, state: folder.path + "/monitor")
            let progress = try #require(try await monitor.poll())
            #expect(progress.verifiedEntries == 66_000)
            await monitor.close()
        }
        let requested = tampering.requested.withLock { $0 }
        #expect(requested.contains("tile/1/000") && requested.contains("tile/2/000.p/1") && requested.contains("tile/1/001.p/1"))
        #expect(requested.contains("tile/entries/257.p/208") && requested.contains("tile/0/257.p/208"))
    }

    /// A checkpoint whose partial tiles the log has outgrown (entries appended since it was
    /// signed) is checked against the full tiles the partial ones became, as C2SP allows.
    @Test func partialTilesTheLogOutgrewAreReadFromTheFullTiles() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(300, from: 0)
        let old = try log.checkpoint()
        try log.append(300, from: 300)
        let tampering = Tampering(log.ledger)
        tampering.serveCheckpoint(old)
        try await TamperingServer.run(tampering) { url in
            let monitor = try Monitor.test(url: url, state: folder.path + "/monitor")
            #expect(try await monitor.poll()?.verifiedEntries == 300)
            await monitor.close()
        }
        let requested = tampering.requested.withLock { $0 }
        #expect(requested.contains("tile/0/001.p/44") && requested.contains("tile/0/001"))
    }

    // MARK: Evidence against the log

    /// After a checkpoint of 500 entries, the log serves its older one of 300: a rollback,
    /// reported with both notes and written to an evidence file; the state stays at 500.
    @Test func aRollbackIsReportedWithBothNotes() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(300, from: 0)
        let older = try log.checkpoint()
        try log.append(200, from: 300)
        let newer = try log.checkpoint()
        let tampering = Tampering(log.ledger)
        let state = folder.path + "/monitor"
        try await TamperingServer.run(tampering) { url in
            let monitor = try Monitor.test(url: url, state: state)
            #expect(try await monitor.poll()?.checkpoint.size == 500)
            tampering.serveCheckpoint(older)
            let failure = try #require(await monitor.failingPoll())
            #expect(failure.kind == .rollback)
            #expect(failure.verifiedNote == newer && failure.newNote == older)
            #expect(failure.isEvidence)
            let evidence = try #require(failure.evidenceFile)
            let text = try String(contentsOfFile: evidence, encoding: .utf8)
            #expect(text.contains(newer) && text.contains(older) && text.contains("rollback"))
            #expect(TemporaryFolder.evidence(in: state) == [evidence])
            #expect(await monitor.state.size == 500)
            await monitor.close()
        }
    }

    /// A second ledger with the same key, the same first 400 entries and then others: served
    /// from the same URL after the monitor verified the first, at the same size it is a fork
    /// (two roots for 500 entries), and grown past it, a changed entry the verified checkpoint
    /// covers. Both are reported with both notes.
    @Test func aForkWithTheSameKeyIsReportedWithBothNotes() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let honest = try TestLog(in: folder.path, name: "honest")
        let forked = try TestLog(in: folder.path, name: "forked")
        defer {
            honest.close()
            forked.close()
        }
        try honest.append(400, from: 0)
        try forked.append(400, from: 0)
        #expect(try honest.ledger.root(size: 400) == forked.ledger.root(size: 400))
        try honest.append(100, from: 400, variant: "a")
        try forked.append(100, from: 400, variant: "b")
        let honestNote = try honest.checkpoint()
        let forkedNote = try forked.checkpoint()
        let tampering = Tampering(honest.ledger)
        let state = folder.path + "/monitor"
        try await TamperingServer.run(tampering) { url in
            let monitor = try Monitor.test(url: url, state: state)
            #expect(try await monitor.poll()?.checkpoint.size == 500)
            tampering.serve(forked.ledger)
            let fork = try #require(await monitor.failingPoll())
            #expect(fork.kind == .fork)
            #expect(fork.verifiedNote == honestNote && fork.newNote == forkedNote)
            let text = try String(contentsOfFile: try #require(fork.evidenceFile), encoding: .utf8)
            #expect(text.contains(honestNote) && text.contains(forkedNote))

            // The fork grows past the verified size: its bundle now serves other bytes for seq 400.
            try forked.append(50, from: 500, variant: "b")
            let grownNote = try forked.checkpoint()
            let grown = try #require(await monitor.failingPoll())
            #expect(grown.kind == .changedEntry && grown.seq == 400 && grown.tilePath == "tile/entries/001")
            #expect(grown.verifiedNote == honestNote && grown.newNote == grownNote)
            #expect(TemporaryFolder.evidence(in: state).count == 2)
            #expect(await monitor.state.note == honestNote)
            await monitor.close()
        }
    }

    /// A checkpoint signed by another key under the log's name, and the log's own checkpoint
    /// with its root changed, both fail the signature check.
    @Test func aBadCheckpointSignatureIsReported() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(300, from: 0)
        let genuine = try log.checkpoint()
        let checkpoint = try Checkpoint(text: SignedNote(parsing: genuine).text)
        let forged = try Checkpoint(origin: checkpoint.origin, size: 301, root: checkpoint.root).sign(with: Keys.impostor).serialized
        let altered = genuine.replacingOccurrences(of: "\n300\n", with: "\n301\n")
        let tampering = Tampering(log.ledger)
        let state = folder.path + "/monitor"
        try await TamperingServer.run(tampering) { url in
            let monitor = try Monitor.test(url: url, state: state)
            #expect(try await monitor.poll()?.verifiedEntries == 300)
            for note in [forged, altered] {
                tampering.serveCheckpoint(note)
                let failure = try #require(await monitor.failingPoll())
                #expect(failure.kind == .badCheckpoint)
                #expect(failure.newNote == note && failure.verifiedNote == genuine)
                #expect(failure.evidenceFile != nil)
            }
            await monitor.close()
        }
        // From scratch too (no verified checkpoint yet).
        let fresh = folder.path + "/fresh"
        tampering.serveCheckpoint(forged)
        try await TamperingServer.run(tampering) { url in
            let monitor = try Monitor.test(url: url, state: fresh)
            let failure = try #require(await monitor.failingPoll())
            #expect(failure.kind == .badCheckpoint && failure.verifiedNote == nil && failure.newNote == forged)
            await monitor.close()
        }
    }

    /// A checkpoint our key did sign, over a root that is not the root of the entries served:
    /// from scratch, and after a verified checkpoint (where it cannot extend the verified tree).
    @Test func aSignedRootThatIsNotTheEntriesRootIsReported() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(300, from: 0)
        let genuine = try log.checkpoint()
        try log.append(100, from: 300)
        let wrongRoot = try Checkpoint(origin: Checkpoint.defaultOrigin, size: 400, root: log.ledger.root(size: 399)).sign(with: Keys.log).serialized
        let tampering = Tampering(log.ledger)
        tampering.serveCheckpoint(wrongRoot)
        try await TamperingServer.run(tampering) { url in
            let fresh = try Monitor.test(url: url, state: folder.path + "/fresh")
            let failure = try #require(await fresh.failingPoll())
            #expect(failure.kind == .rootMismatch && failure.newNote == wrongRoot && failure.verifiedNote == nil)
            await fresh.close()

            tampering.serveCheckpoint(genuine)
            let monitor = try Monitor.test(url: url, state: folder.path + "/monitor")
            #expect(try await monitor.poll()?.checkpoint.size == 300)
            tampering.serveCheckpoint(wrongRoot)
            let extended = try #require(await monitor.failingPoll())
            #expect(extended.kind == .rootMismatch && extended.verifiedNote == genuine && extended.newNote == wrongRoot)
            #expect(extended.message.contains("does not extend the verified checkpoint"))
            await monitor.close()
        }
    }

    /// One changed entry in a served bundle: a byte that makes the body non-canonical is a bad
    /// entry at its own seq; a byte that keeps it valid breaks the chain at the next seq (whose
    /// prev no longer matches); in the last entry, the hash tile disagrees. Each names the seq
    /// and the tile.
    @Test func aChangedEntryByteInABundleIsReported() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(700, from: 0)
        let note = try log.checkpoint()
        let tampering = Tampering(log.ledger)
        let cases: [(name: String, path: String, position: Int, change: @Sendable ([UInt8]) -> [UInt8], kind: MonitorFailure.Kind, seq: UInt64)] = [
            ("non-canonical", "tile/entries/001", 10, { replacing($0, "\"kind\"", with: "\"Kind\"") }, .badEntry, 266),
            ("valid", "tile/entries/001", 10, { replacing($0, "tester-", with: "tested-") }, .badEntry, 267),
            ("last", "tile/entries/002.p/188", 187, { replacing($0, "tester-", with: "tested-") }, .changedTile, 699),
        ]
        for item in cases {
            tampering.rewriteTiles { path, bytes in path == item.path ? rewritingEntry(bytes, at: item.position, item.change) : bytes }
            let state = folder.path + "/monitor-" + item.name
            try await TamperingServer.run(tampering) { url in
                let monitor = try Monitor.test(url: url, state: state)
                let failure = try #require(await monitor.failingPoll(), "\(item.name)")
                #expect(failure.kind == item.kind && failure.seq == item.seq, "\(item.name): \(failure)")
                #expect(failure.newNote == note && failure.verifiedNote == nil)
                #expect(failure.tilePath == (item.kind == .changedTile ? "tile/0/002.p/188" : item.path), "\(item.name)")
                #expect(await monitor.state.size == 0)
                #expect(TemporaryFolder.evidence(in: state).count == 1)
                await monitor.close()
            }
        }
        let valid = try String(contentsOfFile: TemporaryFolder.evidence(in: folder.path + "/monitor-valid")[0], encoding: .utf8)
        #expect(valid.contains("seq 266") && valid.contains("tested-"))
    }

    /// Hash tiles that disagree with the entries, at level 0 and at level 1 (partial), are
    /// changed tiles naming the path and the first seq they cover.
    @Test func aChangedHashTileIsReported() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(3_000, from: 0)
        try log.checkpoint()
        let tampering = Tampering(log.ledger)
        for (path, hash, seq) in [("tile/0/003", 5, UInt64(773)), ("tile/1/000.p/11", 4, UInt64(1_024))] {
            tampering.rewriteTiles { requested, bytes in
                guard requested == path else { return bytes }
                var changed = bytes
                changed[hash * 32 + 3] ^= 0x01
                return changed
            }
            try await TamperingServer.run(tampering) { url in
                let monitor = try Monitor.test(url: url, state: folder.path + "/monitor-\(hash)")
                let failure = try #require(await monitor.failingPoll())
                #expect(failure.kind == .changedTile && failure.tilePath == path && failure.seq == seq, "\(failure)")
                await monitor.close()
            }
        }
    }

    /// A bundle or a hash tile that the checkpoint covers and the log does not serve (404).
    @Test func aMissingTileIsReported() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(600, from: 0)
        let note = try log.checkpoint()
        let tampering = Tampering(log.ledger)
        for path in ["tile/entries/001", "tile/0/000", "tile/entries/002.p/88", "tile/0/002.p/88", "tile/1/000.p/2"] {
            // A partial tile's fallback, the full tile, is missing as well.
            let full = path.components(separatedBy: ".p/")[0]
            tampering.rewriteTiles { requested, bytes in requested == path || requested == full ? nil : bytes }
            try await TamperingServer.run(tampering) { url in
                let monitor = try Monitor.test(url: url, state: folder.path + "/monitor-" + path.replacingOccurrences(of: "/", with: "-"))
                let failure = try #require(await monitor.failingPoll())
                #expect(failure.kind == .missingTile && failure.tilePath == path, "\(path): \(failure)")
                #expect(failure.newNote == note && failure.evidenceFile != nil)
                await monitor.close()
            }
        }
    }

    /// A bundle with an entry too few is malformed.
    @Test func aTruncatedBundleIsReported() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(256, from: 0)
        try log.checkpoint()
        let tampering = Tampering(log.ledger)
        tampering.rewriteTiles { path, bytes in path == "tile/entries/000" ? Array(bytes.dropLast(10)) : bytes }
        try await TamperingServer.run(tampering) { url in
            let monitor = try Monitor.test(url: url, state: folder.path + "/monitor")
            let failure = try #require(await monitor.failingPoll())
            #expect(failure.kind == .badTile && failure.tilePath == "tile/entries/000")
            await monitor.close()
        }
    }

    /// With two of three witnesses required: one cosignature (and one by an untrusted
    /// witness) is not a quorum, and `/checkpoint/cosigned` has none either; two are.
    @Test func aQuorumNotMetIsReported() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(300, from: 0)
        let note = try log.checkpoint()
        let text = try SignedNote(parsing: note).text
        let now = UInt64(Date().timeIntervalSince1970)
        @Sendable func cosigned(_ witnesses: [SigningKey]) throws -> String {
            try SignedNote(parsing: note).adding(witnesses.map { Cosignature.sign(checkpointText: text, key: $0, time: now) }).serialized
        }
        let quorum = try WitnessQuorum(keys: Keys.witnesses.map(\.verifier), quorum: 2)
        let untrusted = try SigningKey(name: "witness9.example.org/w", seed: [UInt8](repeating: 99, count: 32), type: .cosignature)
        let short = try cosigned([Keys.witnesses[0], untrusted])
        let tampering = Tampering(log.ledger)
        tampering.serveCheckpoint(short)
        let state = folder.path + "/monitor"
        try await TamperingServer.run(tampering) { url in
            let monitor = try Monitor.test(url: url, state: state, witnesses: quorum)
            let failure = try #require(await monitor.failingPoll())
            #expect(failure.kind == .quorumNotMet && failure.newNote == short && failure.message.contains("cosigned by 1 of the 3"))
            #expect(failure.evidenceFile != nil)
            // The latest checkpoint lacks cosignatures, but the newest witnessed one has them.
            let witnessed = try cosigned([Keys.witnesses[0], Keys.witnesses[2]])
            tampering.cosigned.withLock { $0 = witnessed }
            let progress = try #require(try await monitor.poll())
            #expect(progress.verifiedEntries == 300 && progress.note == witnessed)
            await monitor.close()
        }
    }

    // MARK: State

    /// One monitor per state directory; a state file for another log, or damaged, is refused.
    @Test func theStateDirectoryIsLockedAndChecked() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let state = folder.path + "/monitor"
        let first = try Monitor(.init(url: "http://127.0.0.1:9", logKey: Keys.log.verifier, stateDirectory: state, requestTimeout: .seconds(1)))
        #expect(throws: MonitorFailure.self) { try Monitor.test(url: "http://127.0.0.1:9", state: state) }
        let unreachable = try #require(await first.failingPoll())
        #expect(unreachable.kind == .unavailable && unreachable.evidenceFile == nil)
        await first.close()

        let log = try TestLog(in: folder.path)
        defer { log.close() }
        try log.append(10, from: 0)
        try log.checkpoint()
        try await TamperingServer.run(Tampering(log.ledger)) { url in
            let monitor = try Monitor.test(url: url, state: state)
            #expect(try await monitor.poll()?.verifiedEntries == 10)
            await monitor.close()
        }
        do throws(MonitorFailure) {
            _ = try Monitor(.init(url: "http://127.0.0.1:9", logKey: Keys.impostor.verifier, stateDirectory: state))
            Issue.record("a state directory of another log was accepted")
        } catch {
            #expect(error.kind == .badState && error.message.contains("follows the log of key"))
        }
        let file = state + "/state.json"
        let saved = try String(contentsOfFile: file, encoding: .utf8)
        try saved.replacingOccurrences(of: "\"size\":10", with: "\"size\":11").write(toFile: file, atomically: true, encoding: .utf8)
        do throws(MonitorFailure) {
            _ = try Monitor.test(url: "http://127.0.0.1:9", state: state)
            Issue.record("a damaged state was accepted")
        } catch {
            #expect(error.kind == .badState)
        }
    }
}
