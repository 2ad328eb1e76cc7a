import Foundation
import Testing
@testable import Ledger

@Suite struct RecoveryAndTamperTests {
    static let key = TestSupport.signingKey

    func segmentPath(_ directory: String) -> String {
        let log = DataDirectory(directory).logDirectory
        return log + "/" + (try! FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".seg") }.sorted().last!)
    }

    func fileSize(_ path: String) -> Int { (try! FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).intValue }

    func truncate(_ path: String, to length: Int) {
        let handle = FileHandle(forWritingAtPath: path)!
        try! handle.truncate(atOffset: UInt64(length))
        try! handle.close()
    }

    /// Simulated storage tearing the last write: the file ends at every byte offset of the last
    /// batch, or keeps its length with zeros from that offset (a file system that extended the
    /// file before the data landed). Open keeps exactly the whole records before the tear.
    @Test func aTornLastBatchIsTruncatedToItsLastWholeRecordAtEveryOffset() throws {
        let (ledger, directory) = try TestSupport.makeLedger(entries: 20)
        try ledger.append((20..<25).map { TestSupport.draft($0) })
        let frameSizes = try (20..<25).map { try ledger.entry(UInt64($0)).bodyBytes.count + 72 }
        let checkpointAt20 = ledger.latestCheckpoint!.note
        // Closing files trims the zeros preallocated beyond the last record; the zero-filled
        // variants below put such zeros back.
        ledger.abandon()
        var recordEnds = [Int]()
        var end = fileSize(segmentPath(directory))
        for size in frameSizes.reversed() {
            recordEnds.insert(end, at: 0)
            end -= size
        }
        let batchStart = end
        let segment = segmentPath(directory)
        let original = FileManager.default.contents(atPath: segment)!
        let index = DataDirectory(directory).logDirectory + "/" + SegmentStore.segmentName(firstSeq: 0).replacingOccurrences(of: ".seg", with: ".idx")
        let originalIndex = FileManager.default.contents(atPath: index)!
        for cut in batchStart..<original.count {
            for zeroFilled in [false, true] {
                var bytes = [UInt8](original.prefix(cut))
                if zeroFilled { bytes += [UInt8](repeating: 0, count: original.count - cut) }
                FileManager.default.createFile(atPath: segment, contents: Data(bytes))
                FileManager.default.createFile(atPath: index, contents: originalIndex)
                let whole = recordEnds.filter { $0 <= cut }.count
                let reopened = try Ledger(directory: DataDirectory(directory), signer: Self.key)
                #expect(reopened.size == UInt64(20 + whole), "cut at \(cut), zeros \(zeroFilled)")
                reopened.close()
                #expect(fileSize(segment) == (whole == 0 ? batchStart : recordEnds[whole - 1]))
                let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier)
                #expect(report.isValid && report.entries == UInt64(20 + whole), "\(String(describing: report.failure))")
                // Back to the pre-open state: the checkpoint the reopen signed must not cover the torn part.
                try FileIO.writeAtomically(DataDirectory(directory).checkpointFile, Array(checkpointAt20.utf8))
            }
        }
    }

    @Test func damageInsideTheCheckpointStopsTheOpenWithTheSeq() throws {
        let (ledger, directory) = try TestSupport.makeLedger(entries: 20)
        ledger.close()
        let segment = segmentPath(directory)
        truncate(segment, to: fileSize(segment) - 5)
        do {
            _ = try Ledger(directory: DataDirectory(directory), signer: Self.key)
            Issue.record("open must refuse to drop checkpointed entries")
        } catch {
            #expect(error.code == .damagedRecord)
            #expect(error.seq == 19)
        }
    }

    @Test func flippingAnyByteOfTheStoredLedgerFailsVerifyAndNamesTheSeq() throws {
        let (ledger, directory) = try TestSupport.makeLedger(entries: 12, batch: 5)
        let segment = segmentPath(directory)
        // Where each seq's frame starts, so the expected seq of every byte is known.
        var starts = [Int]()
        var offset = SegmentFormat.headerByteCount
        for seq in 0..<12 {
            starts.append(offset)
            offset += 72 + (try ledger.entry(UInt64(seq))).bodyBytes.count
        }
        ledger.close()
        let original = FileManager.default.contents(atPath: segment)!
        #expect(offset == original.count, "a closed segment ends at its last record")
        for position in 0..<original.count {
            var bytes = [UInt8](original)
            bytes[position] ^= 0x20
            FileManager.default.createFile(atPath: segment, contents: Data(bytes))
            let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier)
            let failure = try #require(report.failure, "byte \(position) flipped but verify passed")
            let expectedSeq = UInt64(starts.lastIndex(where: { $0 <= position }) ?? 0)
            #expect(failure.seq == expectedSeq, "byte \(position): \(failure)")
        }
        FileManager.default.createFile(atPath: segment, contents: original)
        let checkpoint = DataDirectory(directory).checkpointFile
        let note = FileManager.default.contents(atPath: checkpoint)!
        for position in 0..<note.count {
            var bytes = [UInt8](note)
            bytes[position] ^= 0x01
            FileManager.default.createFile(atPath: checkpoint, contents: Data(bytes))
            #expect(!LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier).isValid, "checkpoint byte \(position)")
        }
    }

    @Test func aMissingSegmentIsReportedNotRepaired() throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let ledger = try Ledger(directory: DataDirectory(directory), signer: Self.key)
        try ledger.append((0..<3).map { TestSupport.draft($0) })
        ledger.close()
        // A segment that claims to start later than the log ends is a hole, not a tail.
        let gap = DataDirectory(directory).logDirectory + "/" + SegmentStore.segmentName(firstSeq: 10)
        FileManager.default.createFile(atPath: gap, contents: Data(SegmentFormat.header(firstSeq: 10)))
        #expect(throws: LedgerError.self) { try Ledger(directory: DataDirectory(directory), signer: Self.key) }
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier)
        #expect(report.failure?.code == .missingSegment)
    }

    /// A forged signature with a correct checksum (the attacker recomputes the CRC) is still caught, with its seq.
    @Test func aSwappedSignatureWithAValidChecksumFailsVerify() throws {
        let (ledger, directory) = try TestSupport.makeLedger(entries: 20)
        var bytes = SegmentFormat.header(firstSeq: 0)
        for seq in 0..<20 {
            let entry = try ledger.entry(UInt64(seq))
            let signature = seq == 5 ? try ledger.entry(6).signature : entry.signature
            SegmentFormat.appendFrame(signature: signature, body: entry.bodyBytes, to: &bytes)
        }
        ledger.close()
        FileManager.default.createFile(atPath: segmentPath(directory), contents: Data(bytes))
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier, checkSignatures: true)
        #expect(report.failure?.code == .badSignature)
        #expect(report.failure?.seq == 5)
        #expect(LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier, checkSignatures: false).isValid)
    }

    @Test func verifyRejectsAnotherKey() throws {
        let (_, directory) = try TestSupport.makeLedger(entries: 3)
        let stranger = try SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 8, count: 32))
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: stranger.verifier, checkSignatures: true)
        #expect(report.failure?.code == .wrongKey)
        #expect(report.failure?.seq == 0)
    }
}
