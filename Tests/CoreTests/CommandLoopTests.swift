import Compliance
import Core
import Foundation
import Ledger
import Rescue
import Testing

/// 2026-11-24 00:00 WIB.
let simulationStart: Int64 = 1_795_453_200_000_000

@Suite struct CommandLoopTests {
    /// Runs the simulator through the command loop into a real ledger, then rebuilds the state
    /// from the files alone: it must be identical, and the files must verify.
    @Test(arguments: [11, 12] as [UInt64])
    func replayOfTheLedgerRebuildsExactlyTheLiveState(seed: UInt64) throws {
        let path = CoreTestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clock = SimulatedClock(simulationStart)
        let loop = try Startup.open(data: DataDirectory(path), policies: CoreTestSupport.policies, clock: clock.function).loop
        var simulator = CitySimulator(seed: seed, start: simulationStart, days: 1, commandsPerDay: 700, devices: .ed25519(seed: seed)) {
            loop.pickupCodeDigest(claim: $0, code: $1)
        }
        let report = try SimulationDriver.run(&simulator, through: loop, clock: clock)
        #expect(report.violations.isEmpty, "seed \(seed): \(report.violations.prefix(3))")
        // Real signatures: the forged ones are refused by the loop before the world sees them.
        #expect(report.kinds["scan.attested", default: 0] > 0 && report.rejections["scanSignatureIsInvalid", default: 0] > 0, "\(report.rejections)")
        #expect(report.kinds["carbon.minted", default: 0] > 0 && report.kinds["escrow.refunded", default: 0] > 0)
        let live = loop.read { $0 }
        let size = loop.ledger.size
        loop.ledger.close()
        // The roles commands check are the registered participants' roles, no more, no fewer.
        #expect(live.participants.roles == live.participants.participants.mapValues(\.role))

        let verifier = try DataDirectory(path).loadVerifierKey()
        let reopened = try Ledger(directory: DataDirectory(path), signer: nil, verifier: verifier)
        let (replayed, replayedSize) = try CommandLoop.replay(reopened)
        #expect(replayedSize == size)
        let same = replayed == live  // a Bool: a failure should not print two whole worlds
        #expect(same, "seed \(seed): the replayed state differs from the live one")
        // In slices of a few entries: many slices decoding ahead of the one being applied.
        let (sliced, slicedSize) = try CommandLoop.replay(reopened, sliceEntries: 7)
        let slicedSame = sliced == live && slicedSize == size
        #expect(slicedSame, "seed \(seed): the replay in small slices differs from the live state")
        // FORMAT §7.9: every mint is the system's, also one that follows an operator's decision.
        var mintActors: Set<String> = []
        for seq in 0..<size {
            let body = try reopened.entry(seq).body
            if body.kind == "carbon.minted" { mintActors.insert(body.actor) }
        }
        #expect(mintActors == [CommandLoop.systemActor])
                #expect(LedgerVerifier.verify(directory: DataDirectory(path), key: verifier, checkSignatures: true, checkBodies: true).failure == nil)
    }

    /// 1,000 claimants race for one donation through the real loop and ledger; those who saw a
    /// stale version retry with the current one. Exactly the portions offered are granted.
    @Test func aThousandConcurrentClaimsGrantExactlyThePortionsOffered() async throws {
        let path = CoreTestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loop = try Startup.open(data: DataDirectory(path), policies: CoreTestSupport.policies).loop
        try loop.executeAndWait(.register(.init(id: "cmp-jkt-1", role: .company, region: "ID-JK")), actor: "operator")
        try loop.executeAndWait(
            .register(.init(id: "site-jkt-1", role: .site, company: "cmp-jkt-1", region: "ID-JK", latitude: -6_208_800, longitude: 106_845_600)),
            actor: "operator")
        // The claimants are NGOs in Surabaya, out of matching range: the offer is open to all.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<1_000 {
                group.addTask {
                    try await loop.execute(
                        .register(.init(
                            id: "ngo-sby-\(number)", role: .recipient, region: "ID-JI", latitude: -7_257_500, longitude: 112_752_100,
                            registrationNumber: "AHU-\(number)", capacityPortions: 50, acceptedCategories: ["mixedMeals"],
                            serviceRadiusMetres: 10_000, headcountServed: 100)),
                        actor: "operator")
                }
            }
            try await group.waitForAll()
        }
        let now = Ledger.wallClockMicroseconds()
        let offered: Int64 = 250
        try loop.executeAndWait(
            .post(OfferPost(
                id: "off-1", provider: "", category: "mixedMeals", grams: offered * 400, portions: offered, latitude: -6_208_800,
                longitude: 106_845_600, temperature: .ambient, expiresAt: now + 3_600_000_000, priceRupiah: 0, now: 0)),
            actor: "site-jkt-1")
        #expect(loop.read { $0.matches.matches["off-1"] } == nil)

        let granted = await withTaskGroup(of: Int64.self) { group in
            for number in 0..<1_000 {
                group.addTask { await Self.claimUntilServed(loop, number: number) }
            }
            return await group.reduce(0, +)
        }
        #expect(granted == offered)
        #expect(loop.read { $0.offers.offers["off-1"]!.remainingPortions } == 0)
        #expect(loop.read { $0.invariantViolations() }.isEmpty)

        // The ledger says the same: claims summing to exactly the portions offered.
        var claimedInLedger: Int64 = 0
        try loop.ledger.forEachEntry(from: 0, to: loop.ledger.size) { entry in
            if entry.body.kind == "claim.placed" { claimedInLedger += entry.body.payload["portions"]!.integerValue! }
        }
        #expect(claimedInLedger == offered)
    }

    /// One claimant: wants 1–3 portions, retries on a stale version, settles for one portion
    /// when fewer remain, gives up when none do. Returns the portions granted.
    static func claimUntilServed(_ loop: CommandLoop, number: Int) async -> Int64 {
        var wanted = Int64(1 + number % 3)
        while true {
            let version = loop.read { $0.offers.offers["off-1"]!.version }
            do {
                try await loop.execute(
                    .claim(id: "clm-\(number)", offer: "off-1", seenVersion: version, portions: wanted, pickupCodeDigest: "d\(number)"),
                    actor: "ngo-sby-\(number)")
                return wanted
            } catch {
                switch error {
                case .rejected(.offer(.offerVersionIsStale)): continue
                case .rejected(.offer(.claimExceedsRemaining)): wanted = 1
                default: return 0
                }
            }
        }
    }

    /// A pickup code is the first 8 bytes of HMAC-SHA-256(pickup key, "pickup-code\0" ‖ claim)
    /// read 5 bits each in the 32-letter alphabet: a retried claim gets the same code, and two
    /// services sharing a data directory agree. Recomputed here from the key file.
    @Test func pickupCodesAreTheKeyedDerivationOfTheClaim() throws {
        let path = CoreTestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loop = try Startup.open(data: DataDirectory(path), policies: CoreTestSupport.policies).loop
        defer { loop.ledger.close() }
        let (key, _) = try DataDirectory(path).loadOrCreateSecret(named: Startup.pickupKeyFile)
        let letters = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
        for claim in ["clm-1", "clm-jkt-000123-abcdef", String(repeating: "x", count: 200)] {
            let mac = Sodium.hmacSHA256(key: key, message: Array("pickup-code\u{0}\(claim)".utf8))
            let expected = String(mac.prefix(8).map { letters[Int($0 % 32)] })
            #expect(loop.pickupCode(claim: claim) == expected)
        }
        #expect(loop.pickupCode(claim: "clm-1") != loop.pickupCode(claim: "clm-2"))
    }

    @Test func policiesAreActivatedOnceAndStampedOnEveryEntry() throws {
        let path = CoreTestSupport.makeTemporaryDirectory()
        let policies = CoreTestSupport.makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: policies)
        }
        for name in PolicySet.fileNames {
            try FileManager.default.copyItem(atPath: CoreTestSupport.policies + "/" + name, toPath: policies + "/" + name)
        }
        var loop: CommandLoop? = try Startup.open(data: DataDirectory(path), policies: policies).loop
        let first = loop!.policies.hash
        #expect(try loop!.ledger.entry(0).body.kind == "policy.activated")
        #expect(try loop!.ledger.entry(0).body.payload["policy"] == .string(first.hex))
        try loop!.executeAndWait(.register(.init(id: "cmp-1", role: .company, region: "ID-JK")), actor: "operator")
        // A refused command writes nothing.
        let size = loop!.ledger.size
        #expect(throws: CommandError.rejected(.participant(.participantAlreadyRegistered))) {
            try loop!.executeAndWait(.register(.init(id: "cmp-1", role: .company, region: "ID-JK")), actor: "operator")
        }
        #expect(throws: CommandError.rejected(.participant(.idIsNotPseudonymous))) {
            try loop!.executeAndWait(.register(.init(id: "Budi Santoso", role: .buyer, region: "ID-JK")), actor: "operator")
        }
        #expect(loop!.ledger.size == size)
        loop!.ledger.close()
        loop = nil

        // Reopening with the same policies activates nothing new.
        loop = try Startup.open(data: DataDirectory(path), policies: policies).loop
        #expect(loop!.ledger.size == size)
        loop!.ledger.close()
        loop = nil

        // A changed policy file is a new activation, and later entries carry its hash.
        let matching = policies + "/matching.yaml"
        let text = try String(contentsOfFile: matching, encoding: .utf8).replacingOccurrences(of: "acceptWindowMinutes: 5", with: "acceptWindowMinutes: 7")
        try text.write(toFile: matching, atomically: true, encoding: .utf8)
        loop = try Startup.open(data: DataDirectory(path), policies: policies).loop
        let second = loop!.policies.hash
        #expect(second != first)
        #expect(loop!.policies.matchAcceptWindowMicroseconds == 7 * 60_000_000)
        #expect(try loop!.ledger.entry(size).body.kind == "policy.activated")
        try loop!.executeAndWait(.register(.init(id: "cmp-2", role: .company, region: "ID-JK")), actor: "operator")
        var stamps: [String] = []
        try loop!.ledger.forEachEntry(from: 0, to: loop!.ledger.size) { stamps.append($0.body.policy.hex) }
        #expect(stamps == [first.hex, first.hex, second.hex, second.hex])
        #expect(loop!.read { $0.activePolicy } == second.hex)
        loop!.ledger.close()
    }

    /// A damaged record read while an earlier slice is still decoding: the earlier bad entry's
    /// seq is the one reported (the first failure by seq), not the later read failure's.
    @Test func theReplayReportsTheFirstFailureBySeqWhenALaterRecordIsDamaged() throws {
        let path = CoreTestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loop = try Startup.open(data: DataDirectory(path), policies: CoreTestSupport.policies).loop
        try loop.ledger.append([EntryDraft(kind: "claim.placed", actor: "ngo-1", payload: ["claim": "clm-1", "portions": "many"], policy: loop.policies.hash)])
        for number in 0..<4 {
            try loop.ledger.append([EntryDraft(kind: "claim.placed", actor: "ngo-1", payload: ["claim": .string("clm-\(number + 2)"), "portions": 1], policy: loop.policies.hash)])
        }
        var starts = [Int]()
        var offset = 32  // the segment header
        for seq in 0..<loop.ledger.size {
            starts.append(offset)
            offset += 72 + (try loop.ledger.entry(seq)).bodyBytes.count
        }
        loop.ledger.close()
        // Seq 3's body.
        let log = DataDirectory(path).logDirectory
        let segment = log + "/" + (try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".seg") }.sorted().last!)
        // Damaged after opening (opening checks the records): the disk rots under a running replay.
        let reopened = try Ledger(directory: DataDirectory(path), signer: nil, verifier: try DataDirectory(path).loadVerifierKey())
        defer { reopened.close() }
        let file = try FileHandle(forUpdating: URL(fileURLWithPath: segment))
        try file.seek(toOffset: UInt64(starts[3] + 80))
        let byte = try #require(try file.read(upToCount: 1)?.first)
        try file.seek(toOffset: UInt64(starts[3] + 80))
        try file.write(contentsOf: [byte ^ 0x20])
        try file.close()
        do {
            _ = try CommandLoop.replay(reopened, sliceEntries: 1)
            Issue.record("the replay accepted a damaged ledger")
        } catch {
            #expect(error.description.contains("seq 1"), "\(error)")
        }
    }

    @Test func aDomainEntryThatBreaksItsContractStopsTheReplayAtItsSeq() throws {
        let path = CoreTestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let opened = try Startup.open(data: DataDirectory(path), policies: CoreTestSupport.policies)
        let policy = opened.loop.policies.hash
        try opened.loop.ledger.append([EntryDraft(kind: "claim.placed", actor: "ngo-1", payload: ["claim": "clm-1", "portions": "many"], policy: policy)])
        opened.loop.ledger.close()
        do {
            _ = try Startup.open(data: DataDirectory(path), policies: CoreTestSupport.policies)
            Issue.record("the replay accepted a broken claim.placed")
        } catch let error as CoreError {
            #expect(error.description.contains("seq 1"), "\(error)")
            #expect(error.description.contains("claim.placed"), "\(error)")
        }
        // Also when the broken entry's slice is decoded while earlier slices are being applied.
        let reopened = try Ledger(directory: DataDirectory(path), signer: nil, verifier: try DataDirectory(path).loadVerifierKey())
        defer { reopened.close() }
        do {
            _ = try CommandLoop.replay(reopened, sliceEntries: 1)
            Issue.record("the replay in slices of one accepted a broken claim.placed")
        } catch {
            #expect(error.description.contains("seq 1"), "\(error)")
        }
    }
}
