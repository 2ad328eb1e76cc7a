import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import NIOCore
import Testing
import Witness

/// The attack a witness exists for: the log's key signs two histories that agree on a prefix
/// and then diverge (same origin, same key). Whichever the witness saw first, it never cosigns
/// the other past the fork, and it keeps both signed notes as evidence.
@Suite struct SplitViewTests {
    /// Ledgers A and B share their first 5 entries and differ from the 6th on.
    static func branches() throws -> (a: TestLog, b: TestLog) {
        let a = try TestLog(branch: "A", forkAt: 5)
        let b = try TestLog(branch: "B", forkAt: 5)
        return (a, b)
    }

    @Test func aLaterCheckpointOfTheOtherBranchIsRefusedAndKeptAsEvidence() throws {
        let (a, b) = try Self.branches()
        let a5 = try a.grow(to: 5)
        let b5 = try b.grow(to: 5)
        #expect(try Fixtures.head(a5) == Fixtures.head(b5), "the common prefix gives the same checkpoint")
        let a8 = try a.grow(to: 8)
        let b8 = try b.grow(to: 8)
        let b12 = try b.grow(to: 12)
        #expect(try Fixtures.head(a8).root != Fixtures.head(b8).root, "the branches diverge")
        // B's own proof from 8 to 12 is valid for B's tree: it just does not start at A's root.
        try MerkleProofs.verifyConsistency(
            size1: 8, size2: 12, root1: Fixtures.head(b8).root, root2: Fixtures.head(b12).root, proof: b.proof(from: 8, to: 12))

        let directory = Fixtures.makeTemporaryDirectory()
        let witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: a5)).isCosigned)
        #expect(witness.addCheckpoint(try a.body(old: 5, size: 8)).isCosigned)

        let refused = witness.addCheckpoint(try b.body(old: 8, size: 12))
        #expect(refused.status == 422, "B at 12 with B's proof from 8: \(refused)")
        #expect(refused.cosignature == nil)
        #expect(witness.latest(origin: Fixtures.origin)?.note == a8, "nothing of B is cosigned")

        let files = try Fixtures.evidenceFiles(in: directory)
        try #require(files.count == 1, "one piece of evidence: \(files.count)")
        #expect(files[0].contains(a8), "the evidence holds the note the witness had cosigned")
        #expect(files[0].contains(b12), "the evidence holds the note it refused")
        for hash in try b.proof(from: 8, to: 12) { #expect(files[0].contains(hash.base64), "and the proof") }
        #expect(try witness.evidence() == files)

        // B's checkpoint at the size the witness holds: equal sizes, different roots.
        let fork = witness.addCheckpoint(Fixtures.body(old: 8, note: b8))
        #expect(fork.conflictSize == 8, "B at 8 against A at 8: \(fork)")
        #expect(witness.latest(origin: Fixtures.origin)?.note == a8)
        let more = try Fixtures.evidenceFiles(in: directory)
        try #require(more.count == 2)
        let sameSize = try #require(more.first { $0.contains(b8) }, "evidence of the equal-size fork")
        #expect(sameSize.contains(a8))

        // A stale B request is no fork claim: 409, no evidence. A goes on.
        #expect(witness.addCheckpoint(try b.body(old: 5, size: 12)).conflictSize == 8)
        #expect(try Fixtures.evidenceFiles(in: directory).count == 2)
        _ = try a.grow(to: 12)
        #expect(witness.addCheckpoint(try a.body(old: 8, size: 12)).isCosigned)
        #expect(witness.addCheckpoint(Fixtures.body(old: 12, note: b12)).conflictSize == 12, "B at 12 against A at 12")
    }

    /// The witness sees B first, from the common prefix (which B legitimately extends); from then
    /// on A is the fork.
    @Test func theBranchSeenFirstWinsAndTheOtherIsRefused() throws {
        let (a, b) = try Self.branches()
        let a5 = try a.grow(to: 5)
        _ = try b.grow(to: 5)
        let a8 = try a.grow(to: 8)
        let a16 = try a.grow(to: 16)
        let b12 = try b.grow(to: 12)
        let directory = Fixtures.makeTemporaryDirectory()
        let witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: a5)).isCosigned)
        #expect(witness.addCheckpoint(try b.body(old: 5, size: 12)).isCosigned, "B extends the prefix A and B share")
        #expect(witness.addCheckpoint(Fixtures.body(old: 12, note: a8)).status == 400, "old 12 > 8")
        #expect(witness.addCheckpoint(try a.body(old: 8, size: 16)).conflictSize == 12)
        // A at 16 with a proof from 12 made on A's tree: does not start at B's root at 12.
        let forged = Fixtures.body(old: 12, proof: try a.proof(from: 12, to: 16), note: a16)
        #expect(witness.addCheckpoint(forged).status == 422)
        #expect(witness.latest(origin: Fixtures.origin)?.note == b12)
        let files = try Fixtures.evidenceFiles(in: directory)
        #expect(files.count == 1 && files[0].contains(b12) && files[0].contains(a16))
        _ = a8
    }

    /// After a rollback attempt the witness still holds the newest size: an older checkpoint with
    /// old = the witness's size is 400 (old > size), with its own size 409 naming the newest.
    @Test func anOlderCheckpointIsNeverCosignedAgain() async throws {
        let log = try TestLog()
        let witness = try Fixtures.witness()
        defer { witness.close() }
        let note5 = try log.grow(to: 5)
        _ = try log.grow(to: 8)
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: note5)).isCosigned)
        #expect(witness.addCheckpoint(try log.body(old: 5, size: 8)).isCosigned)
        let app = Application(router: witness.router())
        try await app.test(.router) { client in
            let over = try await WitnessHTTP.post(client, Fixtures.body(old: 8, note: note5))
            WitnessHTTP.expectProblem(over, .badRequest, "malformedRequest", "old 8 > size 5")
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, Fixtures.body(old: 5, note: note5)), size: 8, "old 5, size 5")
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, Fixtures.body(old: 0, note: note5)), size: 8, "old 0, size 5")
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, try log.body(old: 3, size: 5)), size: 8, "old 3, size 5")
        }
        #expect(witness.latest(origin: Fixtures.origin)?.size == 8)
    }
}
