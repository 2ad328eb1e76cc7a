import Compliance
import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Logging
import NIOCore
import Server
import Synchronization
import Testing
import Witness

/// The log and real C2SP witnesses on loopback: checkpoints are submitted with consistency
/// proofs, cosigned, served, and turned into offline proofs that both our verifier and the
/// independent `audit/verify.py` accept, and that each fail when any part is changed.
@Suite(.serialized) struct WitnessingTests {
    /// A running witness on a free loopback port.
    struct RunningWitness {
        let witness: Witness
        let url: String
        let task: Task<Void, Error>

        static func start(name: String, seed: UInt8, log: VerifierKey, directory: String) async throws -> RunningWitness {
            let key = try SigningKey(name: name, seed: [UInt8](repeating: seed, count: 32), type: .cosignature)
            let witness = try Witness(key: key, logKeys: [log], directory: directory)
            let port = Mutex<Int?>(nil)
            let quiet = Logger(label: "witness-test", factory: { _ in SwiftLogNoOpLogHandler() })
            let app = witness.application(host: "127.0.0.1", port: 0, logger: quiet) { channel in port.withLock { $0 = channel.localAddress?.port } }
            let task = Task { try await app.runService() }
            for _ in 0..<500 where port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            let bound = try #require(port.withLock { $0 })
            return RunningWitness(witness: witness, url: "http://127.0.0.1:\(bound)", task: task)
        }

        func stop() {
            task.cancel()
            witness.close()
        }
    }

    struct Setup {
        let path: String
        let loop: CommandLoop
        let witnesses: [RunningWitness]
        let client: WitnessClient
        let service: Service
        let running: Task<Void, Never>

        func close() {
            client.stop()
            running.cancel()
            for witness in witnesses { witness.stop() }
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// A service whose ledger has some entries, three witnesses (`running` of them started)
    /// and a client with `quorum`.
    static func setUp(quorum: Int = 2, running: Int = 3) async throws -> Setup {
        let path = NSTemporaryDirectory() + "pahlawan-witnessing-" + UUID().uuidString
        let loop = try Startup.open(data: DataDirectory(path + "/data"), policies: ServiceTests.policies).loop
        var witnesses = [RunningWitness]()
        var endpoints = [WitnessClient.Endpoint]()
        for index in 0..<3 {
            let name = "witness\(index).example/w"
            if index < running {
                let witness = try await RunningWitness.start(name: name, seed: UInt8(40 + index), log: loop.ledger.verifier, directory: path + "/w\(index)")
                witnesses.append(witness)
                endpoints.append(.init(key: witness.witness.key.verifier, url: witness.url))
            } else {
                // A witness that is down: nothing listens on its port.
                let key = try SigningKey(name: name, seed: [UInt8](repeating: UInt8(40 + index), count: 32), type: .cosignature)
                endpoints.append(.init(key: key.verifier, url: "http://127.0.0.1:1"))
            }
        }
        let client = try WitnessClient(
            ledger: loop.ledger, endpoints: endpoints, quorum: try WitnessQuorum(keys: endpoints.map(\.key), quorum: quorum),
            cosignedFile: path + "/data/checkpoint.cosigned", historyFile: path + "/data/checkpoints.cosigned", timeout: .seconds(2))
        let settings = try ServiceTests.settings()
        let vault = try PIIVault(directory: path + "/vault", masterKey: [UInt8](repeating: 9, count: 32))
        let service = Service(
            loop: loop, authority: try await TokenAuthority(seed: [UInt8](repeating: 3, count: 32)), settings: settings, vault: vault,
            maskingSecret: [UInt8](repeating: 5, count: 32), witnesses: client)
        let runningClient = Task { await client.run() }
        return Setup(path: path, loop: loop, witnesses: witnesses, client: client, service: service, running: runningClient)
    }

    /// Appends `count` entries outside the rescue domain and signs a checkpoint over them.
    static func grow(_ loop: CommandLoop, by count: Int) throws {
        for index in 0..<count {
            try loop.recordAndWait(kind: .piiAccessed, actor: "op-1", payload: ["subject": .string("sub-abcdefghijklmnop"), "reason": .string("subjectRequest"), "n": .integer(Int64(index))])
        }
        try loop.ledger.checkpoint()
    }

    /// Waits (at most 10 s) until the newest witnessed checkpoint covers `size`.
    static func waitForWitnessed(_ client: WitnessClient, size: UInt64) async throws {
        for _ in 0..<1_000 {
            if let witnessed = client.book.witnessed, witnessed.size >= size { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no quorum cosigned size \(size) within 10 s: \(client.status)")
    }

    /// Waits (at most 10 s) until `condition` holds.
    static func eventually(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<1_000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("not within 10 s: \(what)")
    }

    static var now: UInt64 { UInt64(Ledger.wallClockMicroseconds() / 1_000_000) }

    @Test func everyCheckpointIsCosignedAndServedWithItsCosignatures() async throws {
        let setup = try await Self.setUp()
        defer { setup.close() }
        for _ in 0..<3 {
            try Self.grow(setup.loop, by: 20)
            try await Self.waitForWitnessed(setup.client, size: setup.loop.ledger.latestCheckpoint!.checkpoint.size)
        }
        let size = setup.loop.ledger.latestCheckpoint!.checkpoint.size
        // Each witness comes to hold exactly our latest checkpoint as what it last cosigned (the
        // quorum is 2: the third may answer a moment later).
        try await Self.eventually("every witness cosigns size \(size)") {
            setup.witnesses.allSatisfy { $0.witness.latest(origin: setup.loop.ledger.origin)?.size == size }
                && setup.client.status.allSatisfy { $0.cosignedSize == size }
        }
        let app = Application(router: setup.service.router())
        try await app.test(.router) { client in
            // The served note gains the third cosignature once the client has stored it, which
            // may come a moment after the witness's status says so on a loaded machine.
            var cosigners = 0
            for _ in 0..<200 where cosigners < 3 {
                cosigners = try await client.execute(uri: "/checkpoint", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.cacheControl] == "no-cache")
                    let note = try SignedNote.open(String(buffer: response.body), verifier: setup.loop.ledger.verifier)
                    return setup.client.quorum.cosigners(of: note, now: Self.now).count
                }
                if cosigners < 3 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(cosigners == 3)
            try await client.execute(uri: "/checkpoint/cosigned", method: .get) { response in
                let note = try SignedNote.open(String(buffer: response.body), verifier: setup.loop.ledger.verifier)
                let cosigned = try Checkpoint(text: note.text)
                #expect(cosigned.size == size)
                try setup.client.quorum.check(note, now: Self.now)
            }
            // Every checkpoint ever signed is kept, by size, and verifies.
            try await client.execute(uri: "/v1/checkpoints/\(size)", method: .get) { response in
                #expect(response.status == .ok)
                let kept = try Checkpoint.open(String(buffer: response.body), verifier: setup.loop.ledger.verifier)
                #expect(kept.size == size)
            }
            try await client.execute(uri: "/v1/checkpoints/\(size + 1000)", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/v1/witnesses", method: .get) { response in
                let answer = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let listed = answer?["witnesses"] as? [[String: Any]] ?? []
                #expect(listed.count == 3)
                #expect(listed.allSatisfy { ($0["cosignedSize"] as? Int).map(UInt64.init) == size && ($0["lagEntries"] as? Int) == 0 })
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("witness_lag_entries{witness=\"witness0.example/w\"} 0"))
            }
        }
    }

    @Test func anOfflineProofVerifiesHereAndInPythonAndEveryMutationFails() async throws {
        let setup = try await Self.setUp()
        defer { setup.close() }
        try Self.grow(setup.loop, by: 300)
        let size = setup.loop.ledger.latestCheckpoint!.checkpoint.size
        try await Self.waitForWitnessed(setup.client, size: size)
        // The quorum is 2; the third cosignature follows within moments.
        try await Self.eventually("all three witnesses cosign the witnessed checkpoint") {
            guard let note = setup.client.book.witnessed.flatMap({ try? SignedNote(parsing: $0.note) }) else { return false }
            return setup.client.quorum.cosigners(of: note, now: Self.now).count == 3
        }
        let app = Application(router: setup.service.router())
        let authority = setup.service.authority
        let seq = size / 3
        let proofText = try await app.test(.router) { client in
            let headers: HTTPFields = [.authorization: "Bearer " + (try await authority.mint(subject: "audit-1", role: .auditor))]
            return try await client.execute(uri: "/v1/entries/\(seq)/proof", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
        }
        let log = setup.loop.ledger.verifier
        let witnessKeys = setup.witnesses.map { $0.witness.key.verifier }
        let quorum = try WitnessQuorum(keys: witnessKeys, quorum: 3)
        let proof = try TlogProof(parsing: proofText)
        let verified = try proof.verify(keys: KeyChain(initial: log), witnesses: quorum, now: Self.now)
        #expect(verified.entry.seq == seq)
        #expect(try Self.python(proofText, log: log, witnesses: witnessKeys, quorum: 3).status == 0)

        var mutations: [(String, String)] = []
        mutations.append(("index", proofText.replacingOccurrences(of: "\nindex \(seq)\n", with: "\nindex \(seq + 1)\n")))
        let lines = proofText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // The first inclusion-proof hash with its first base64 character changed.
        var hashFlipped = lines
        hashFlipped[3] = (hashFlipped[3].first == "A" ? "B" : "A") + hashFlipped[3].dropFirst()
        mutations.append(("hash", hashFlipped.joined(separator: "\n")))
        var hashDropped = lines
        hashDropped.remove(at: 3)
        mutations.append(("hash dropped", hashDropped.joined(separator: "\n")))
        mutations.append(("checkpoint size", proofText.replacingOccurrences(of: "\n\(size)\n", with: "\n\(size + 1)\n")))
        // One witness's cosignature changed in its last signature bytes: 2 of 3 left, quorum 3.
        let cosignatureLine = try #require(lines.firstIndex { $0.hasPrefix("— witness1.example/w ") })
        var cosignatureFlipped = lines
        let cosignature = cosignatureFlipped[cosignatureLine]
        let cut = cosignature.index(cosignature.endIndex, offsetBy: -6)
        cosignatureFlipped[cosignatureLine] = String(cosignature[..<cut]) + (cosignature[cut] == "A" ? "B" : "A") + cosignature[cosignature.index(after: cut)...]
        mutations.append(("cosignature", cosignatureFlipped.joined(separator: "\n")))
        var cosignatureDropped = lines
        cosignatureDropped.remove(at: cosignatureLine)
        mutations.append(("quorum", cosignatureDropped.joined(separator: "\n")))
        // A cosignature line duplicated cannot count twice.
        var duplicated = cosignatureDropped
        let other = try #require(duplicated.firstIndex { $0.hasPrefix("— witness0.example/w ") })
        duplicated.insert(duplicated[other], at: other)
        mutations.append(("duplicate cosignature", duplicated.joined(separator: "\n")))
        // The entry itself changed (one byte of the body in `extra`).
        let extra = try #require(lines.firstIndex { $0.hasPrefix("extra ") })
        var bytes = try #require(Base64.decode(String(lines[extra].dropFirst(6))))
        bytes[bytes.count - 3] ^= 1
        var bodyChanged = lines
        bodyChanged[extra] = "extra " + Base64.encode(bytes)
        mutations.append(("body", bodyChanged.joined(separator: "\n")))
        for (what, mutated) in mutations {
            #expect(mutated != proofText, "\(what): the mutation changed nothing")
            let ours = Result { () throws(LedgerError) in try TlogProof(parsing: mutated).verify(keys: KeyChain(initial: log), witnesses: quorum, now: Self.now) }
            if case .success = ours { Issue.record("our verifier accepted a proof with a changed \(what)") }
            let verdict = try Self.python(mutated, log: log, witnesses: witnessKeys, quorum: 3)
            #expect(verdict.status == 1, "verify.py accepted a proof with a changed \(what): \(verdict.output)")
        }
    }

    /// Witnesses keep only their latest checkpoint, so the cosignatures of older ones exist only
    /// with us: they are kept (the cosigned history) and served again after a restart.
    @Test func cosignaturesOfOlderCheckpointsSurviveARestart() async throws {
        let setup = try await Self.setUp()
        defer { setup.close() }
        try Self.grow(setup.loop, by: 10)
        let older = setup.loop.ledger.latestCheckpoint!
        try await Self.waitForWitnessed(setup.client, size: older.checkpoint.size)
        try await Self.eventually("all three cosign the older checkpoint") {
            (try? SignedNote(parsing: setup.client.book.cosigned(older.note, checkpoint: older.checkpoint))).map {
                setup.client.quorum.cosigners(of: $0, now: Self.now).count
            } == 3
        }
        try Self.grow(setup.loop, by: 10)
        try await Self.waitForWitnessed(setup.client, size: setup.loop.ledger.latestCheckpoint!.checkpoint.size)
        setup.client.stop()
        setup.running.cancel()
        await setup.running.value
        // A new client over the same files, as after a restart of the service.
        let restarted = try WitnessClient(
            ledger: setup.loop.ledger, endpoints: setup.client.endpoints, quorum: setup.client.quorum,
            cosignedFile: setup.path + "/data/checkpoint.cosigned", historyFile: setup.path + "/data/checkpoints.cosigned")
        let served = try SignedNote.open(restarted.book.cosigned(older.note, checkpoint: older.checkpoint), verifier: setup.loop.ledger.verifier)
        #expect(restarted.quorum.cosigners(of: served, now: Self.now).count == 3)
        // A note of another tree at that size gets nothing from the history.
        let other = try Checkpoint(origin: older.checkpoint.origin, size: older.checkpoint.size, root: Hash(bytes: [UInt8](repeating: 1, count: 32))!)
            .sign(with: SigningKey(name: older.checkpoint.origin, seed: [UInt8](repeating: 99, count: 32))).serialized
        #expect(restarted.book.cosigned(other, checkpoint: try Checkpoint(text: SignedNote(parsing: other).text)) == other)
    }

    @Test func aQuorumIsReachedWithAWitnessDownWhichReportsItsError() async throws {
        let setup = try await Self.setUp(quorum: 2, running: 2)
        defer { setup.close() }
        try Self.grow(setup.loop, by: 10)
        let size = setup.loop.ledger.latestCheckpoint!.checkpoint.size
        try await Self.waitForWitnessed(setup.client, size: size)
        try await Self.eventually("the down witness has failed and the others have caught up") {
            let status = setup.client.status
            return status[2].failures >= 1 && status[0].cosignedSize == size && status[1].cosignedSize == size
        }
        let status = setup.client.status
        #expect(status[0].cosignedSize == size && status[1].cosignedSize == size)
        #expect(status[2].cosignedSize == nil)
        #expect(status[2].lastError != nil && status[2].failures >= 1)
        #expect(status[2].lagEntries == size)
        #expect(!status[2].refusesOurTree, "a witness that is down is not a fork")
    }

    @Test func aProofOfAnEntryNewerThanTheWitnessedCheckpointIsAConflictUntilWitnessed() async throws {
        // Quorum 3 with one witness down: nothing is ever witnessed.
        let setup = try await Self.setUp(quorum: 3, running: 2)
        defer { setup.close() }
        try Self.grow(setup.loop, by: 5)
        let app = Application(router: setup.service.router())
        let authority = setup.service.authority
        try await app.test(.router) { client in
            let headers: HTTPFields = [.authorization: "Bearer " + (try await authority.mint(subject: "audit-1", role: .auditor))]
            try await client.execute(uri: "/checkpoint/cosigned", method: .get) { response in #expect(response.status == .notFound) }
            try await client.execute(uri: "/v1/entries/1/proof", method: .get, headers: headers) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/v1/entries/1/proof?witnessed=false", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).hasPrefix("c2sp.org/tlog-proof@v1\n"))
            }
            try await client.execute(uri: "/v1/entries/1/proof?witnessed=maybe", method: .get, headers: headers) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/entries/1/proof", method: .get) { response in #expect(response.status == .unauthorized) }
            // One resource, one URL: leading zeros and signs are not a seq or a size.
            for uri in ["/v1/entries/01/proof?witnessed=false", "/v1/entries/+1/proof?witnessed=false", "/v1/checkpoints/01", "/v1/entries/01"] {
                try await client.execute(uri: uri, method: .get, headers: headers) { response in #expect(response.status == .badRequest, "\(uri)") }
            }
        }
    }

    /// The witness answers bytes that are not HTTP/1.1 with its own problem+json, as the service does.
    @Test func aWitnessAnswersBytesThatAreNotHTTPWithAProblem() async throws {
        let path = NSTemporaryDirectory() + "pahlawan-witness-http-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = try SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 12, count: 32))
        let witness = try await RunningWitness.start(name: "witness.example/w", seed: 51, log: key.verifier, directory: path + "/w")
        defer { witness.stop() }
        let port = try #require(URL(string: witness.url)?.port)
        let socket = try RawHTTP(port: port)
        try socket.send("POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        let answer = try await socket.receiveUntilClosed()
        #expect(answer.hasPrefix("HTTP/1.1 400 ") && answer.lowercased().contains("content-type: application/problem+json"), "\(answer)")
        #expect(answer.contains("\"type\":\"https://pahlawan-pangan.id/problems/witness/malformedHTTP\""), "\(answer)")
    }

    @Test func aWitnessThatCosignedAForkOfOurLogRefusesOurCheckpointsAndTheClientSaysSo() async throws {
        let path = NSTemporaryDirectory() + "pahlawan-fork-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = try SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 11, count: 32))
        // Two ledgers under one key: the same first 5 entries, then each its own.
        let ours = try Ledger(directory: DataDirectory(path + "/ours"), signer: key)
        let fork = try Ledger(directory: DataDirectory(path + "/fork"), signer: key)
        defer { ours.close(); fork.close() }
        for (index, ledger) in [ours, fork].enumerated() {
            for number in 0..<5 { try await ledger.append(EntryDraft(time: 1_795_453_200_000_000 + Int64(number), kind: "test.entry", actor: "op-1", payload: ["n": .integer(Int64(number))])) }
            for number in 0..<5 { try await ledger.append(EntryDraft(time: 1_795_453_300_000_000 + Int64(number), kind: "test.entry", actor: "op-1", payload: ["side": .integer(Int64(index)), "n": .integer(Int64(number))])) }
            try await ledger.checkpoint()
        }
        let witness = try await RunningWitness.start(name: "witness.example/w", seed: 50, log: key.verifier, directory: path + "/w")
        defer { witness.stop() }
        // The fork's checkpoint is cosigned first (as if the operator showed it to this witness).
        let forked = try WitnessClient(
            ledger: fork, endpoints: [.init(key: witness.witness.key.verifier, url: witness.url)],
            quorum: try WitnessQuorum(keys: [witness.witness.key.verifier], quorum: 1), cosignedFile: path + "/fork.cosigned")
        let forkRun = Task { await forked.run() }
        try await Self.waitForWitnessed(forked, size: 10)
        forked.stop()
        await forkRun.value
        let honest = try WitnessClient(
            ledger: ours, endpoints: [.init(key: witness.witness.key.verifier, url: witness.url)],
            quorum: try WitnessQuorum(keys: [witness.witness.key.verifier], quorum: 1), cosignedFile: path + "/ours.cosigned")
        let honestRun = Task { await honest.run() }
        for _ in 0..<300 where honest.status[0].lastError == nil { try await Task.sleep(for: .milliseconds(10)) }
        honest.stop()
        await honestRun.value
        #expect(honest.book.witnessed == nil, "the witness must not cosign a checkpoint inconsistent with one it cosigned")
        #expect(honest.status[0].lastError?.contains("different root") == true, "\(String(describing: honest.status[0].lastError))")
        #expect(honest.status[0].refusesOurTree, "a witness holding another tree is an alarm")
        let evidence = try witness.witness.evidence()
        #expect(evidence.count >= 1)
        #expect(evidence.first?.contains(fork.latestCheckpoint!.note) == true && evidence.first?.contains(ours.latestCheckpoint!.note) == true)
    }

    /// `audit/verify.py --proof` on `text`.
    static func python(_ text: String, log: VerifierKey, witnesses: [VerifierKey], quorum: Int) throws -> (status: Int32, output: String) {
        let path = NSTemporaryDirectory() + "pahlawan-proof-" + UUID().uuidString + ".tlog-proof"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [root.path + "/audit/verify.py", "--proof", path, "--key", log.text]
            + witnesses.flatMap { ["--witness", $0.text] } + ["--quorum", String(quorum)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
