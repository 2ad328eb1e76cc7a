import Foundation
import PropertyBased
import Testing
@testable import Ledger

@Suite struct StorageFormatTests {
    @Test func crc32cHasTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    /// Slicing-by-8 must agree with the bit-by-bit definition at every length and seed.
    @Test func slicedCRCMatchesTheDefinition() async {
        await propertyCheck(input: Gen.uint8().array(of: 0...100), Gen.uint32()) { bytes, seed in
            var crc = ~seed
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            #expect(CRC32C.checksum(bytes, seed: seed) == ~crc)
        }
    }

    /// The CPU's instruction and the tables agree at every length, seed and alignment (the
    /// instruction path reads whole unaligned words), and a checksum continued from a seed
    /// equals the checksum of the joined bytes, as the segment records use it.
    @Test func theInstructionAndTheTablesAgree() async {
        #if arch(x86_64)
        #expect(CRC32C.usesInstruction, "every x86-64 CPU this service runs on has SSE 4.2")
        #endif
        await propertyCheck(input: Gen.uint8().array(of: 0...300), Gen.uint32(), Gen.int(in: 0...7)) { bytes, seed, offset in
            let padded = [UInt8](repeating: 0xA5, count: offset) + bytes
            padded.withUnsafeBytes { raw in
                let view = UnsafeRawBufferPointer(rebasing: raw[offset...])
                #expect(CRC32C.checksum(view, seed: seed) == CRC32C.tableChecksum(view, seed: seed))
                let cut = bytes.count / 3
                let head = UnsafeRawBufferPointer(rebasing: view[..<(view.startIndex + cut)])
                let tail = UnsafeRawBufferPointer(rebasing: view[(view.startIndex + cut)...])
                #expect(CRC32C.checksum(tail, seed: CRC32C.checksum(head, seed: seed)) == CRC32C.checksum(view, seed: seed))
            }
        }
    }

    /// The writer builds bodies as head ‖ tail; that must be byte for byte the canonical encoding,
    /// and the tail reader must read back what was written.
    @Test func headAndTailAreTheCanonicalBody() async {
        let text = Gen.character(in: "\u{0}"..."\u{2FF}").string(of: 0...12)
        await propertyCheck(
            input: Gen.int64(in: -9_007_199_254_740_991...9_007_199_254_740_991), text, Gen.uint64(in: 0...9_007_199_254_740_991),
            Gen.int64(in: 0...9_007_199_254_740_991)
        ) { number, note, seq, time in
            let prev = MerkleHash.leaf(Array(note.utf8))
            let payload: [String: JSONValue] = ["grams": .integer(number), "note": .string(note), "ok": .bool(true), "é": .array([.string(note)])]
            let key = TestSupport.signingKey.verifier.id
            var bytes = BodyLayout.head(actor: "rcp-jkt-001", key: key, kind: "claim.placed", payload: payload, policy: .zero)
            BodyLayout.appendTail(prev: prev, seq: seq, time: time, to: &bytes)
            let body = EntryBody(seq: seq, time: time, kind: "claim.placed", actor: "rcp-jkt-001", payload: payload, policy: .zero, prev: prev, key: key)
            #expect(bytes == body.canonicalBytes())
            #expect(bytes.withUnsafeBytes { BodyLayout.readTail($0) } == BodyLayout.Tail(prev: prev, seq: seq, time: time))
            #expect(bytes.withUnsafeBytes { BodyLayout.readKey($0) } == key)
        }
    }

    @Test func tilePathsFollowC2SP() {
        #expect(TileStore.path(level: 0, index: 0) == "tile/0/000")
        #expect(TileStore.path(level: 1, index: 1_234_067) == "tile/1/x001/x234/067")
        #expect(TileStore.path(level: 0, index: 1_000) == "tile/0/x001/000")
        #expect(TileStore.path(level: 2, index: 5, width: 17) == "tile/2/005.p/17")
    }
}

@Suite struct TileStoreTests {
    /// Roots and proofs read from stored tiles equal those of the in-memory tree, across the
    /// level-0 and level-1 tile boundaries, and again after reopening from the stored tiles.
    @Test func tilesGiveTheSameRootsAndProofsAsTheWholeTree() throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let tiles = try TileStore(directory: directory + "/tile", size: 0, lastLeaves: [], writable: true)
        var tree = MerkleTree()
        var leaves = [Hash]()
        let sizes: Set<UInt64> = [1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 66_000]
        for number in 0..<66_000 {
            let leaf = MerkleHash.leaf(Array("leaf \(number)".utf8))
            leaves.append(leaf)
            tree.append(leaf)
            try tiles.append(leaf)
            let size = UInt64(number + 1)
            guard sizes.contains(size) else { continue }
            #expect(try tiles.rootHash(size: size) == tree.root(size: size))
            for index in [0, size / 3, size - 1] {
                #expect(try tiles.buildInclusionProof(index: index, size: size) == tree.inclusionProof(index: index, size: size))
            }
            for older in [1, size / 2, size - 1] where older > 0 && older <= size {
                #expect(try tiles.buildConsistencyProof(size1: older, size2: size) == tree.consistencyProof(size1: older, size2: size))
            }
            let reopened = try TileStore(
                directory: directory + "/tile", size: size, lastLeaves: Array(leaves[Int(size - size % 256)..<Int(size)]), writable: false)
            #expect(try reopened.rootHash(size: size) == tree.root(size: size), "reopened at \(size)")
            #expect(try reopened.buildInclusionProof(index: size / 2, size: size) == tree.inclusionProof(index: size / 2, size: size))
            if size == 66_000 {
                // Every offset inside a tile, from a cold store (proofs fold from stored leaf groups and tile summaries).
                for index in stride(from: UInt64(3), to: size, by: 97) {
                    #expect(try reopened.buildInclusionProof(index: index, size: size) == tree.inclusionProof(index: index, size: size), "seq \(index)")
                }
            }
        }
        #expect(FileManager.default.fileExists(atPath: directory + "/tile/1/000"))
        #expect(FileManager.default.fileExists(atPath: directory + "/tile/0/x257/000") == false)
        #expect(FileManager.default.fileExists(atPath: directory + "/tile/0/256"))
    }

    /// Past 1,000 level-0 tiles the tiles sit in folders (`tile/0/x001/000`): proofs from a cold
    /// store read their leaf groups there, and give the whole tree's proofs on both sides of the
    /// folder boundary, in every 16-leaf group of a tile and for consecutive seqs of one group.
    @Test func proofsReadLeafTilesInsideTheirFolders() throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let tiles = try TileStore(directory: directory + "/tile", size: 0, lastLeaves: [], writable: true)
        var tree = MerkleTree()
        var leaves = [Hash]()
        let size: UInt64 = 1_002 * 256 + 40
        for number in 0..<size {
            // Any 32 bytes do as leaf hashes here; hashing 256 K bodies would only slow the test.
            var bytes = [UInt8](repeating: 0, count: 32)
            withUnsafeBytes(of: number.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            let leaf = Hash(bytes: bytes)!
            leaves.append(leaf)
            tree.append(leaf)
            try tiles.append(leaf)
        }
        try tiles.syncPending()
        #expect(FileManager.default.fileExists(atPath: directory + "/tile/0/x001/001"))
        // No whole leaf tile kept: every step below 16 leaves reads its group from the tile's file.
        let cold = try TileStore(
            directory: directory + "/tile", size: size, lastLeaves: Array(leaves[Int(size - size % 256)..<Int(size)]), writable: false,
            leafTilesCached: 0)
        var seqs = [UInt64]()
        for tile: UInt64 in [0, 999, 1_000, 1_001] {
            for group: UInt64 in 0..<16 { seqs.append(tile * 256 + group * 16 + group % 16) }
        }
        seqs += (1_000 * 256 + 32..<1_000 * 256 + 48).map { $0 } + [size - 1, size - 41]
        for seq in seqs {
            #expect(try cold.buildInclusionProof(index: seq, size: size) == tree.inclusionProof(index: seq, size: size), "seq \(seq)")
            #expect(try cold.leafHash(seq) == leaves[Int(seq)], "seq \(seq)")
        }
    }
}

@Suite struct GroupCommitTests {
    func options(_ change: (inout LedgerOptions) -> Void = { _ in }) -> LedgerOptions {
        var options = LedgerOptions()
        change(&options)
        return options
    }

    /// While a batch's `fdatasync` is under way, readers of what is already published go on:
    /// the sync runs outside the state lock. The batch being synced is not readable until it is
    /// durable. (Were the sync inside the lock, the reads below would wait for the held sync.)
    @Test func readsDoNotWaitForADataSync() throws {
        let held = Locked(false)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let ledger = try Ledger(
            directory: DataDirectory(TestSupport.makeTemporaryDirectory()), signer: TestSupport.signingKey,
            options: options {
                $0.beforeDataSync = {
                    guard held.withLock({ $0 }) else { return }
                    entered.signal()
                    release.wait()
                }
            })
        defer { ledger.close() }
        try ledger.append([TestSupport.draft(0), TestSupport.draft(1)])
        try ledger.checkpoint()
        held.withLock { $0 = true }
        let appended = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? ledger.append([TestSupport.draft(2)])
            appended.signal()
        }
        #expect(entered.wait(timeout: .now() + 10) == .success, "the append reached its sync")
        held.withLock { $0 = false }
        let reads = DispatchSemaphore(value: 0)
        let seen = Locked<(size: UInt64, kind: String?, proof: Int)?>(nil)
        DispatchQueue.global().async {
            let entry = try? ledger.entry(1)
            let proof = (try? ledger.inclusionProof(seq: 1, size: 2))?.count ?? -1
            seen.withLock { $0 = (ledger.size, entry?.body.kind, proof) }
            reads.signal()
        }
        let answered = reads.wait(timeout: .now() + 5) == .success
        release.signal()
        #expect(appended.wait(timeout: .now() + 10) == .success)
        #expect(answered, "reads waited for the data sync")
        let during = seen.withLock { $0 }
        #expect(during?.size == 2, "the entry being synced is not published before it is durable")
        #expect(during?.kind == TestSupport.draft(1).kind && during?.proof == 1)
        #expect(ledger.size == 3)
    }

    @Test func concurrentWritersGetContiguousSeqsAndTheirOwnEntries() async throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let ledger = try Ledger(directory: DataDirectory(directory), signer: TestSupport.signingKey)
        let results = try await withThrowingTaskGroup(of: [(UInt64, Int, Int)].self) { group in
            for writer in 0..<32 {
                group.addTask {
                    var mine = [(UInt64, Int, Int)]()
                    for number in 0..<40 {
                        let drafts = (0..<(number % 3 + 1)).map { part in
                            EntryDraft(kind: "test.entry", actor: "w-\(writer)", payload: ["n": .integer(Int64(number * 10 + part))])
                        }
                        let entries = try await ledger.append(drafts)
                        // A multi-entry request is written as consecutive seqs.
                        #expect(entries.map(\.seq) == Array(entries[0].seq..<entries[0].seq + UInt64(entries.count)))
                        for (part, entry) in entries.enumerated() { mine.append((entry.seq, writer, number * 10 + part)) }
                    }
                    return mine
                }
            }
            var all = [(UInt64, Int, Int)]()
            for try await mine in group { all += mine }
            return all
        }
        #expect(results.map(\.0).sorted() == Array(0..<UInt64(results.count)))
        #expect(ledger.size == UInt64(results.count))
        for (seq, writer, number) in results.filter({ $0.0 % 7 == 0 }) {
            let entry = try ledger.entry(seq)
            #expect(entry.body.actor == "w-\(writer)" && entry.body.payload["n"] == .integer(Int64(number)))
        }
        #expect(ledger.statistics.batches < results.count, "appends from concurrent writers share durable writes")
        ledger.close()
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: TestSupport.signingKey.verifier, checkSignatures: true)
        #expect(report.isValid && report.entries == UInt64(results.count))
    }

    /// With the writer held back, the queue fills and further appends are refused with
    /// `pushback` at once; everything accepted is still written.
    @Test func aFullQueuePushesBackInsteadOfGrowing() async throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let ledger = try Ledger(
            directory: DataDirectory(directory), signer: TestSupport.signingKey,
            options: options { $0.queueEntriesMax = 16; $0.batchEntriesMax = 4 })
        let release = holdWriter(ledger)
        final class Outcomes: @unchecked Sendable {
            let lock = NSLock()
            var pushbacks = 0
            var written = 0
            var other: [String] = []
        }
        let outcomes = Outcomes()
        var tasks = [Task<Void, Never>]()
        for number in 0..<200 {
            tasks.append(Task {
                do {
                    // Stamped by the writer: tasks run in any order, so a time of their own could
                    // go backwards (TestSupport.draft fills in one when given nil).
                    var draft = TestSupport.draft(number)
                    draft.time = nil
                    _ = try await ledger.append(draft)
                    outcomes.lock.withLock { outcomes.written += 1 }
                } catch let error as LedgerError where error.code == .pushback {
                    outcomes.lock.withLock { outcomes.pushbacks += 1 }
                } catch {
                    outcomes.lock.withLock { outcomes.other.append("\(error)") }
                }
            })
        }
        // Refusals come back at once, while the writer is still held.
        try await Task.sleep(nanoseconds: 300_000_000)
        let refusedWhileHeld = outcomes.lock.withLock { outcomes.pushbacks }
        let writtenWhileHeld = outcomes.lock.withLock { outcomes.written }
        release.signal()
        for task in tasks { await task.value }
        #expect(writtenWhileHeld == 0, "nothing is acknowledged while the writer cannot write")
        #expect(refusedWhileHeld > 100, "beyond the queue bound appends are refused, not queued")
        #expect(outcomes.other.isEmpty, "\(outcomes.other)")
        #expect(outcomes.written + outcomes.pushbacks == 200)
        #expect(UInt64(outcomes.written) == ledger.size)
        ledger.close()
    }

    /// Holds the lock stage two needs to publish a batch, on a thread of its own (a lock must be
    /// released by the thread that took it), until the returned semaphore is signalled.
    func holdWriter(_ ledger: Ledger) -> DispatchSemaphore {
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let engine = ledger.engine
        Thread {
            engine.stateLock.lock()
            held.signal()
            release.wait()
            engine.stateLock.unlock()
        }.start()
        held.wait()
        return release
    }

    @Test func checkpointsAreSignedWithoutBeingAsked() throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let ledger = try Ledger(
            directory: DataDirectory(directory), signer: TestSupport.signingKey,
            options: options { $0.checkpointIntervalMicroseconds = 50_000 })
        for round in 0..<3 {
            try ledger.append((round * 10..<round * 10 + 10).map { TestSupport.draft($0) })
            usleep(250_000)
            #expect(ledger.latestCheckpoint?.checkpoint.size == ledger.size, "round \(round)")
            let stored = try #require(try DataDirectory(directory).readCheckpointNote())
            #expect(try Checkpoint.open(stored, verifier: TestSupport.signingKey.verifier).size == ledger.size)
        }
        ledger.close()
    }

    @Test func theLogRollsOverIntoSegmentsAndReopensAcrossThem() throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let small = options { $0.segmentBytesMax = 4_096 }
        let ledger = try Ledger(directory: DataDirectory(directory), signer: TestSupport.signingKey, options: small)
        for start in stride(from: 0, to: 300, by: 7) { try ledger.append((start..<start + 7).map { TestSupport.draft($0) }) }
        let root = try ledger.root(size: 301)
        ledger.close()
        let segments = try FileManager.default.contentsOfDirectory(atPath: DataDirectory(directory).logDirectory).filter { $0.hasSuffix(".seg") }
        #expect(segments.count > 10)
        let reopened = try Ledger(directory: DataDirectory(directory), signer: TestSupport.signingKey, options: small)
        #expect(reopened.size == 301)
        #expect(try reopened.root(size: 301) == root)
        #expect(try reopened.entry(150).body.payload["offer"] == .string("off-150"))
        reopened.close()
        #expect(LedgerVerifier.verify(directory: DataDirectory(directory), key: TestSupport.signingKey.verifier).isValid)
    }
}

@Suite struct DerivedFileDamageTests {
    static let key = TestSupport.signingKey

    /// A closed, checkpointed ledger in several segments.
    func ledger(entries: Int = 600) throws -> String {
        let directory = TestSupport.makeTemporaryDirectory()
        var options = LedgerOptions()
        options.segmentBytesMax = 16_384
        let ledger = try Ledger(directory: DataDirectory(directory), signer: Self.key, options: options)
        for start in stride(from: 0, to: entries, by: 50) { try ledger.append((start..<start + 50).map { TestSupport.draft($0) }) }
        ledger.close()
        return directory
    }

    func segments(_ directory: String) -> [String] {
        let log = DataDirectory(directory).logDirectory
        return try! FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".seg") }.sorted().map { log + "/" + $0 }
    }

    func firstSeq(_ segment: String) -> UInt64 { UInt64(URL(fileURLWithPath: segment).lastPathComponent.prefix(20))! }

    @Test func anIndexThatDisagreesStopsOpenAndFailsVerify() throws {
        let directory = try ledger()
        let middle = segments(directory)[2]
        let index = SegmentStore.indexPath(forSegment: middle)
        var bytes = [UInt8](FileManager.default.contents(atPath: index)!)
        bytes[4 * 3] ^= 0x01
        FileManager.default.createFile(atPath: index, contents: Data(bytes))
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier)
        #expect(report.failure?.code == .damagedIndex)
        #expect(report.failure?.seq == firstSeq(middle) + 3)
        #expect(report.failure?.file == index)
        // The last segment's index is what open reads: damage there stops the open.
        let last = SegmentStore.indexPath(forSegment: segments(directory).last!)
        var lastBytes = [UInt8](FileManager.default.contents(atPath: last)!)
        lastBytes[lastBytes.count - 4] ^= 0x10
        FileManager.default.createFile(atPath: last, contents: Data(lastBytes))
        #expect(throws: LedgerError.self) { try Ledger(directory: DataDirectory(directory), signer: Self.key) }
    }

    /// A sequential read takes its length from the index entry after the range, but only to
    /// shorten the read: with that entry off in either direction, every body is still read.
    @Test func aRangeReadIsRightWhenTheIndexEntryAfterItIsOff() throws {
        let directory = try ledger()
        let middle = segments(directory)[2]
        let first = firstSeq(middle)
        let clean = try Ledger(directory: DataDirectory(directory), signer: Self.key)
        var expected = [[UInt8]]()
        try clean.forEachBodySlice(from: first, to: first + 6) { expected += $0.map(\.bytes) }
        clean.close()
        #expect(expected.count == 6)
        let index = SegmentStore.indexPath(forSegment: middle)
        let original = [UInt8](FileManager.default.contents(atPath: index)!)
        for (byte, flip) in [(0, UInt8(0x01)), (0, 0x80), (1, 0x01), (1, 0x02), (2, 0x01)] {
            var bytes = original
            bytes[4 * 6 + byte] ^= flip
            FileManager.default.createFile(atPath: index, contents: Data(bytes))
            let ledger = try Ledger(directory: DataDirectory(directory), signer: Self.key)
            var read = [[UInt8]]()
            try ledger.forEachBodySlice(from: first, to: first + 6) { read += $0.map(\.bytes) }
            ledger.close()
            #expect(read == expected, "byte \(byte) flipped by \(flip)")
        }
    }

    @Test func aMissingIndexStopsOpenAndReindexRebuildsIt() throws {
        let directory = try ledger()
        try FileManager.default.removeItem(atPath: SegmentStore.indexPath(forSegment: segments(directory)[1]))
        do {
            _ = try Ledger(directory: DataDirectory(directory), signer: Self.key)
            Issue.record("open must not invent an index")
        } catch {
            #expect(error.code == .damagedIndex)
            #expect(error.reason.contains("reindex"))
        }
        #expect(LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier).failure?.code == .damagedIndex)
        let result = try Reindex.run(directory: DataDirectory(directory), key: Self.key.verifier)
        #expect(result.entries == 600 && result.verification.isValid)
        let reopened = try Ledger(directory: DataDirectory(directory), signer: Self.key)
        #expect(reopened.size == 600)
        reopened.close()
    }

    /// Warming the proof summaries (what a service start does in the background) changes no
    /// proof, stops at the full tiles, and leaves the partial right edge to the usual path.
    @Test func warmedProofSummariesGiveTheSameProofs() throws {
        let (ledger, _) = try TestSupport.makeLedger(entries: 1_300, batch: 100)
        defer { ledger.close() }
        let size = ledger.size
        let cold = try (0..<size).map { try ledger.inclusionProof(seq: $0, size: size) }
        try ledger.warmProofs()
        let warm = try (0..<size).map { try ledger.inclusionProof(seq: $0, size: size) }
        #expect(cold == warm)
        var tree = MerkleTree()
        for seq in 0..<size { tree.append(try ledger.leafHash(seq)) }
        for seq in stride(from: UInt64(0), to: size, by: 13) { #expect(warm[Int(seq)] == tree.inclusionProof(index: seq, size: size), "seq \(seq)") }
        let tiles = try TileStore(directory: TestSupport.makeTemporaryDirectory() + "/tile", size: 0, lastLeaves: [], writable: true)
        for number in 0..<600 { try tiles.append(MerkleHash.leaf(Array("leaf \(number)".utf8))) }
        #expect(try tiles.warmLeafTile(0) && tiles.warmLeafTile(1))
        #expect(try tiles.warmLeafTile(2) == false, "tile 2 is the partial edge")
    }

    @Test func aDamagedTileFailsVerifyWithItsSeqAndReindexRebuildsIt() throws {
        let directory = try ledger()
        let tile = directory + "/" + TileStore.path(level: 0, index: 1)
        var bytes = [UInt8](FileManager.default.contents(atPath: tile)!)
        bytes[100] ^= 0x01
        FileManager.default.createFile(atPath: tile, contents: Data(bytes))
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier)
        #expect(report.failure?.code == .damagedTile)
        #expect(report.failure?.seq == 256)
        // Tile 0/001 feeds the root, so open notices the checkpoint's root is no longer reproduced.
        #expect(throws: LedgerError.self) { try Ledger(directory: DataDirectory(directory), signer: Self.key) }
        #expect(try Reindex.run(directory: DataDirectory(directory), key: Self.key.verifier).verification.isValid)
    }

    @Test func aMissingMiddleSegmentStopsOpenAndFailsVerify() throws {
        let directory = try ledger()
        let gone = segments(directory)[3]
        try FileManager.default.removeItem(atPath: gone)
        do {
            _ = try Ledger(directory: DataDirectory(directory), signer: Self.key)
            Issue.record("open must refuse a hole in the log")
        } catch {
            #expect(error.code == .missingSegment)
            #expect(error.seq == firstSeq(gone))
        }
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier)
        #expect(report.failure?.code == .missingSegment)
        #expect(report.failure?.seq == firstSeq(gone))
    }
}
