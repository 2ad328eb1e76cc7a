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

    @Test func aTornTailBeyondTheCheckpointIsTruncatedOnOpen() throws {
        let (ledger, directory) = try TestSupport.makeLedger(entries: 20)
        try ledger.append((20..<25).map { TestSupport.draft($0) })
        let segment = segmentPath(directory)
        let full = fileSize(segment)
        // Tear the last write at every byte offset of the last record: open must keep 24 entries.
        let lastRecord = full - (try ledger.entry(24)).bodyBytes.count - 72
        let original = FileManager.default.contents(atPath: segment)!
        for cut in lastRecord..<full {
            FileManager.default.createFile(atPath: segment, contents: original.prefix(cut))
            let reopened = try Ledger(directory: DataDirectory(directory), signer: Self.key)
            #expect(reopened.size == 24, "cut at \(cut)")
            #expect(fileSize(segment) == lastRecord)
            let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier)
            #expect(report.isValid && report.entries == 24)
        }
    }

    @Test func damageInsideTheCheckpointStopsTheOpenWithTheSeq() throws {
        let (_, directory) = try TestSupport.makeLedger(entries: 20)
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
        let original = FileManager.default.contents(atPath: segment)!
        // Where each seq's frame starts, so the expected seq of every byte is known.
        var starts = [Int]()
        var offset = SegmentFormat.headerByteCount
        for seq in 0..<12 {
            starts.append(offset)
            offset += 72 + (try ledger.entry(UInt64(seq))).bodyBytes.count
        }
        #expect(offset == original.count)
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
        FileManager.default.createFile(atPath: segmentPath(directory), contents: Data(bytes))
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier)
        #expect(report.failure?.code == .badSignature)
        #expect(report.failure?.seq == 5)
        #expect(LedgerVerifier.verify(directory: DataDirectory(directory), key: Self.key.verifier, checkSignatures: false).isValid)
    }

    @Test func verifyRejectsAnotherKey() throws {
        let (_, directory) = try TestSupport.makeLedger(entries: 3)
        let stranger = try SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 8, count: 32))
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: stranger.verifier)
        #expect(report.failure?.code == .wrongKey)
        #expect(report.failure?.seq == 0)
    }
}
