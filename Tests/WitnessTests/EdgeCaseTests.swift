import Foundation
import Ledger
import Testing
import Witness

/// The corners of the protocol: the empty tree, equal sizes, several logs.
@Suite struct EdgeCaseTests {
    /// A new ledger signs a size-0 checkpoint on creation, and a log client may well send it
    /// first. Having cosigned the empty tree, the witness must accept the next checkpoint with
    /// `old 0` and the empty proof C2SP requires ("the proof MUST be empty if the old size is
    /// zero"): every tree extends the empty tree. It answered 422 (RFC 9162's verifier refuses
    /// a proof from size 0), so that log could never be cosigned again.
    @Test func afterTheEmptyTreeTheNextCheckpointIsCosigned() throws {
        let log = try TestLog()
        let empty = try log.grow(to: 0)
        #expect(try Fixtures.head(empty).root == MerkleHash.emptyRoot)
        let directory = Fixtures.makeTemporaryDirectory()
        let witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        let first = witness.addCheckpoint(Fixtures.body(old: 0, note: empty))
        _ = try CheckedCosignature(try #require(first.cosignature, "\(first)"), note: empty)
        #expect(witness.latest(origin: Fixtures.origin)?.size == 0)

        let note = try log.grow(to: 6)
        let next = witness.addCheckpoint(Fixtures.body(old: 0, note: note))
        _ = try CheckedCosignature(try #require(next.cosignature, "size 0 → 6 with the empty proof: \(next)"), note: note)
        #expect(witness.latest(origin: Fixtures.origin)?.size == 6)
        #expect(try Fixtures.evidenceFiles(in: directory).isEmpty, "no fork was claimed")
        #expect(witness.addCheckpoint(try log.body(old: 6, size: 6)).isCosigned)
    }

    /// From the stored empty tree, a non-empty proof is still refused (422) and the empty
    /// tree twice is fine.
    @Test func afterTheEmptyTreeANonEmptyProofIsRefused() throws {
        let log = try TestLog()
        let empty = try log.grow(to: 0)
        let witness = try Fixtures.witness()
        defer { witness.close() }
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: empty)).isCosigned)
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: empty)).isCosigned, "the empty tree again")
        let note = try log.grow(to: 6)
        let proof = try log.ledger.consistencyProof(from: 3, to: 6)
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, proof: proof, note: note)).isInconsistent)
        #expect(witness.latest(origin: Fixtures.origin)?.size == 0)
    }

    /// RFC 6962's consistency proof between equal sizes is empty: any hash there is a proof that
    /// does not verify (422), even when the roots match. The witness cosigned it, ignoring the
    /// proof.
    @Test func atEqualSizesANonEmptyProofIs422() throws {
        let log = try TestLog()
        let note = try log.grow(to: 6)
        let witness = try Fixtures.witness()
        defer { witness.close() }
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: note)).isCosigned)
        let junk = try log.ledger.consistencyProof(from: 3, to: 6)
        let answer = witness.addCheckpoint(Fixtures.body(old: 6, proof: junk, note: note))
        #expect(answer.isInconsistent, "old 6, size 6, a proof of \(junk.count) hashes: \(answer)")
        // Different roots at equal sizes stay a 409 whatever the proof.
        let fork = try Checkpoint(origin: Fixtures.origin, size: 6, root: MerkleHash.emptyRoot).sign(with: Fixtures.logKey).serialized
        #expect(witness.addCheckpoint(Fixtures.body(old: 6, proof: junk, note: fork)).conflictSize == 6)
        #expect(witness.latest(origin: Fixtures.origin)?.note == note)
    }

    /// Two logs, each with its own state: one's size never answers for the other's.
    @Test func eachOriginHasItsOwnState() throws {
        let log = try TestLog()
        let witness = try Fixtures.witness(logKeys: [Fixtures.logKey.verifier, Fixtures.strangerKey.verifier])
        defer { witness.close() }
        #expect(witness.origins == [Fixtures.origin, Fixtures.strangerKey.verifier.name].sorted())
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: try log.grow(to: 7))).isCosigned)
        let root = try log.ledger.root(size: 3)
        let stranger = try Checkpoint(origin: Fixtures.strangerKey.verifier.name, size: 3, root: root).sign(with: Fixtures.strangerKey).serialized
        #expect(witness.addCheckpoint(Fixtures.body(old: 7, note: stranger)).status == 400, "old 7 > 3")
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: stranger)).isCosigned, "the other log starts at 0")
        // The log key does not vouch for the other origin, nor the reverse.
        let crossed = try SignedNote.sign(text: "\(Fixtures.strangerKey.verifier.name)\n9\n\(root.base64)\n", with: Fixtures.logKey).serialized
        #expect(witness.addCheckpoint(Fixtures.body(old: 3, note: crossed)).isForbidden)
        #expect(witness.latest(origin: Fixtures.origin)?.size == 7)
        #expect(witness.latest(origin: Fixtures.strangerKey.verifier.name)?.size == 3)
    }

    /// A witness key of the wrong type and a log key of the witness type are refused at start.
    @Test func keysOfTheWrongTypeAreRefused() throws {
        #expect(throws: LedgerError.self) { try Witness(key: Fixtures.logKey, logKeys: [Fixtures.logKey.verifier], directory: Fixtures.makeTemporaryDirectory()) }
        #expect(throws: LedgerError.self) {
            try Witness(key: Fixtures.witnessKey, logKeys: [Fixtures.witnessKey.verifier], directory: Fixtures.makeTemporaryDirectory())
        }
    }
}

/// What a hostile log can make a witness write, and who else may write its state.
@Suite struct WitnessStateGuardTests {
    /// Anyone holding the log's published checkpoints can send bad proofs: the same refusal sent
    /// again is kept once, so repeating it cannot fill the disk.
    @Test func theSameRefusalIsKeptAsEvidenceOnce() throws {
        let log = try TestLog()
        let directory = Fixtures.makeTemporaryDirectory()
        let witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: try log.grow(to: 4))).isCosigned)
        let note = try log.grow(to: 9)
        var proof = try log.proof(from: 4, to: 9)
        proof[0] = Hash(bytes: [UInt8](repeating: 0xAB, count: 32))!
        for _ in 0..<20 { #expect(witness.addCheckpoint(Fixtures.body(old: 4, proof: proof, note: note)).status == 422) }
        #expect(try Fixtures.evidenceFiles(in: directory).count == 1)
        #expect(try witness.evidence().count == 1)
        // Fresh random proof hashes for the same two checkpoints make no new files either.
        for round in 0..<20 {
            proof[0] = Hash(bytes: (0..<32).map { UInt8(truncatingIfNeeded: $0 * 7 + round) })!
            #expect(witness.addCheckpoint(Fixtures.body(old: 4, proof: proof, note: note)).status == 422)
        }
        #expect(try Fixtures.evidenceFiles(in: directory).count == 1)
    }

    /// Two witness processes on one state directory would each check and store on their own:
    /// the second is refused while the first holds it.
    @Test func aSecondWitnessOnTheSameStateIsRefused() throws {
        let directory = Fixtures.makeTemporaryDirectory()
        let first = try Fixtures.witness(directory: directory)
        let error = #expect(throws: LedgerError.self) { try Fixtures.witness(directory: directory) }
        #expect(error?.code == .locked)
        first.close()
        try Fixtures.witness(directory: directory).close()
    }
}
