import Foundation
import Testing
@testable import Ledger

@Suite struct LedgerAppendTests {
    func freshLedger() throws -> Ledger {
        try Ledger(directory: DataDirectory(TestSupport.makeTemporaryDirectory()), signer: TestSupport.signingKey)
    }

    func body(_ ledger: Ledger, time: Int64 = 1_795_453_200_000_000, prev: Hash? = nil, seq: UInt64? = nil) -> EntryBody {
        EntryBody(seq: seq ?? ledger.size, time: time, kind: "claim.placed", actor: "rcp-jkt-001",
            payload: ["offer": "off-1", "portions": 3], policy: .zero,
            prev: prev ?? (ledger.size == 0 ? .zero : try! ledger.leafHash(ledger.size - 1)), key: TestSupport.signingKey.verifier.id)
    }

    func expectRejection(_ code: LedgerError.Code, _ ledger: Ledger, _ bytes: [UInt8]) {
        let before = ledger.size
        do {
            try ledger.appendBodies([bytes])
            Issue.record("expected \(code)")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.seq == before)
        }
        #expect(ledger.size == before, "a rejected append writes nothing")
    }

    /// A draft's time is an entry's time: outside 0…2^53 − 1 no strict reader would take the
    /// entry, so the append is refused and writes nothing.
    @Test func aDraftTimeOutsideTheIntegerDomainIsRefused() throws {
        let ledger = try freshLedger()
        try ledger.append([TestSupport.draft(0)])
        for time in [Int64(-1), 9_007_199_254_740_992, Int64.max] {
            #expect(throws: LedgerError.self) { try ledger.append([TestSupport.draft(1, time: time)]) }
        }
        #expect(ledger.size == 1)
        try ledger.append([TestSupport.draft(1, time: 9_007_199_254_740_991)])
        #expect(try ledger.entry(1).body.time == 9_007_199_254_740_991)
        ledger.close()
    }

    @Test func everyContractViolationIsRejectedAndWritesNothing() throws {
        let ledger = try freshLedger()
        try ledger.appendBodies([body(ledger).canonicalBytes()])
        let good = String(decoding: body(ledger).canonicalBytes(), as: UTF8.self)
        expectRejection(.bodyNotCanonical, ledger, Array(good.replacingOccurrences(of: ",", with: ", ").utf8))
        expectRejection(.floatNotAllowed, ledger, Array(good.replacingOccurrences(of: "\"portions\":3", with: "\"portions\":3.5").utf8))
        expectRejection(.nullNotAllowed, ledger, Array(good.replacingOccurrences(of: "\"portions\":3", with: "\"portions\":null").utf8))
        expectRejection(.timeGoesBackwards, ledger, body(ledger, time: 1_795_453_199_999_999).canonicalBytes())
        expectRejection(.wrongPrev, ledger, body(ledger, prev: .zero).canonicalBytes())
        expectRejection(.wrongSeq, ledger, body(ledger, seq: ledger.size + 1).canonicalBytes())
        var huge = body(ledger)
        huge.payload["note"] = .string(String(repeating: "x", count: EntryBody.byteCountMax))
        expectRejection(.bodyTooLarge, ledger, huge.canonicalBytes())
        var other = body(ledger)
        other.key = KeyID(value: 1)
        expectRejection(.wrongKey, ledger, other.canonicalBytes())
        var badKind = body(ledger)
        badKind.kind = "Claim placed"
        expectRejection(.badEntry, ledger, badKind.canonicalBytes())
        var email = body(ledger)
        email.actor = "siti@example.com"
        expectRejection(.badEntry, ledger, email.canonicalBytes())
        #expect(ledger.size == 1)
        try ledger.appendBodies([body(ledger).canonicalBytes()])
        #expect(ledger.size == 2)
    }

    @Test func aRejectedDraftInABatchRejectsTheWholeBatch() throws {
        let ledger = try freshLedger()
        var drafts = (0..<5).map { TestSupport.draft($0) }
        drafts[3].time = 0
        #expect(throws: LedgerError.self) { try ledger.append(drafts) }
        #expect(ledger.size == 0)
    }

    @Test func entriesSurviveReopenWithTheSameRoot() throws {
        let (ledger, path) = try TestSupport.makeLedger(entries: 300)
        let root = try ledger.root(size: 300)
        let entry = try ledger.entry(123)
        #expect(throws: LedgerError.self, "a second writer is locked out") {
            try Ledger(directory: DataDirectory(path), signer: TestSupport.signingKey)
        }
        ledger.close()
        let reopened = try Ledger(directory: DataDirectory(path), signer: TestSupport.signingKey)
        #expect(reopened.size == 300)
        #expect(try reopened.root(size: 300) == root)
        #expect(try reopened.entry(123) == entry)
        try reopened.append([TestSupport.draft(300)])
        #expect(reopened.size == 301)
        reopened.close()
        let readOnly = try Ledger(directory: DataDirectory(path), signer: nil, verifier: TestSupport.signingKey.verifier)
        #expect(readOnly.size == 301)
        #expect(throws: LedgerError.self) { try readOnly.append([TestSupport.draft(301)]) }
    }

    /// Found by the crash harness: a writer killed before its first append left no checkpoint,
    /// so the (empty) ledger did not verify.
    @Test func anEmptyLedgerHasASignedCheckpointAndVerifies() throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let ledger = try Ledger(directory: DataDirectory(directory), signer: TestSupport.signingKey)
        #expect(ledger.latestCheckpoint?.checkpoint.size == 0)
        #expect(ledger.latestCheckpoint?.checkpoint.root == MerkleHash.emptyRoot)
        ledger.abandon()
        let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: TestSupport.signingKey.verifier)
        #expect(report.isValid, "\(String(describing: report.failure))")
        // The next open extends it consistently.
        let reopened = try Ledger(directory: DataDirectory(directory), signer: TestSupport.signingKey)
        try reopened.append([TestSupport.draft(0)])
        #expect(try reopened.checkpoint().contains("\n1\n"))
        reopened.close()
    }

    @Test func checkpointsAreSignedPersistedAndConsistent() throws {
        let (ledger, path) = try TestSupport.makeLedger(entries: 10)
        let first = try #require(ledger.latestCheckpoint)
        try ledger.append([TestSupport.draft(10)])
        try ledger.checkpoint()
        let second = try #require(ledger.latestCheckpoint)
        #expect(second.checkpoint.size == 11)
        let proof = try ledger.consistencyProof(from: 10, to: 11)
        try MerkleProofs.verifyConsistency(size1: 10, size2: 11, root1: first.checkpoint.root, root2: second.checkpoint.root, proof: proof)
        let onDisk = try #require(try DataDirectory(path).readCheckpointNote())
        #expect(try Checkpoint.open(onDisk, verifier: TestSupport.signingKey.verifier) == second.checkpoint)
    }
}
