import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import NIOCore
import Testing
import Witness

/// A correct log client against a real ledger: the first checkpoint with `old 0`, then each
/// next one with the ledger's own consistency proof from the size the witness last cosigned.
@Suite struct HappyPathTests {
    @Test func aRealLogIsCosignedFromZeroThenAlongItsConsistencyProofs() throws {
        let log = try TestLog()
        let witness = try Fixtures.witness()
        defer { witness.close() }

        let first = try log.grow(to: 3)
        let answer = witness.addCheckpoint(Fixtures.body(old: 0, note: first))
        let lines = try #require(answer.cosignature, "the first checkpoint, old 0: \(answer)")
        let checked = try CheckedCosignature(lines, note: first)
        #expect(checked.time == Fixtures.now, "the cosignature carries the injected clock's time")
        #expect(witness.latest(origin: Fixtures.origin)?.size == 3)
        #expect(witness.latest(origin: Fixtures.origin)?.note == first)

        var old: UInt64 = 3
        // Powers of two and their neighbours exercise every shape of proof (the old root as seed or not).
        for size: UInt64 in [4, 7, 8, 9, 16, 17, 31, 100, 256, 257, 300] {
            let note = try log.grow(to: size)
            let proof = try log.ledger.consistencyProof(from: old, to: size)
            #expect(!proof.isEmpty)
            let answer = witness.addCheckpoint(Fixtures.body(old: old, proof: proof, note: note))
            let lines = try #require(answer.cosignature, "\(old) → \(size): \(answer)")
            let checked = try CheckedCosignature(lines, note: note)
            #expect(checked.time == Fixtures.now)
            #expect(witness.latest(origin: Fixtures.origin)?.size == size)
            #expect(witness.latest(origin: Fixtures.origin)?.note == note)
            old = size
        }
    }

    /// A cosignature is over the checkpoint's text, not over its other signatures: two answers for
    /// the same checkpoint at the same time are the same line (Ed25519 is deterministic), and a
    /// client resending the checkpoint the witness already holds (old = its size) gets it again.
    @Test func resendingTheLatestCheckpointIsCosignedAgainWithTheSameLine() throws {
        let log = try TestLog()
        let witness = try Fixtures.witness()
        defer { witness.close() }
        let note = try log.grow(to: 6)
        let first = try #require(witness.addCheckpoint(Fixtures.body(old: 0, note: note)).cosignature)
        let again = try #require(witness.addCheckpoint(Fixtures.body(old: 6, note: note)).cosignature)
        #expect(first == again)
        #expect(witness.latest(origin: Fixtures.origin)?.size == 6)
    }

    /// C2SP: a checkpoint MAY carry several signatures and the witness MUST ignore those by keys it
    /// does not know (here an impostor with the log's name and a line of another log), cosigning
    /// the checkpoint's text.
    @Test func signaturesByUnknownKeysAreIgnored() throws {
        let log = try TestLog()
        let witness = try Fixtures.witness()
        defer { witness.close() }
        let note = try SignedNote(parsing: try log.grow(to: 4))
        let impostor = try SignedNote.sign(text: note.text, with: Fixtures.impostorKey).signatures[0]
        let stranger = try SignedNote.sign(text: note.text, with: Fixtures.strangerKey).signatures[0]
        // A cosignature by another witness, as a log resubmitting a cosigned checkpoint sends it.
        let otherWitness = try SigningKey(name: "witness.example/w2", seed: [UInt8](repeating: 12, count: 32), type: .cosignature)
        let cosigned = Cosignature.sign(checkpointText: note.text, key: otherWitness, time: Fixtures.now - 5)
        let crowded = SignedNote(text: note.text, signatures: [impostor, stranger] + note.signatures + [cosigned]).serialized
        let lines = try #require(witness.addCheckpoint(Fixtures.body(old: 0, note: crowded)).cosignature)
        _ = try CheckedCosignature(lines, note: crowded)
    }

    /// The answer as HTTP: 200, text/plain, the signature line as body.
    @Test func theRouterAnswersACosignatureAsTextPlain() async throws {
        let log = try TestLog()
        let witness = try Fixtures.witness()
        defer { witness.close() }
        let note4 = try log.grow(to: 4)
        let note9 = try log.grow(to: 9)
        let app = Application(router: witness.router())
        try await app.test(.router) { client in
            for (old, size, note) in [(UInt64(0), UInt64(4), note4), (4, 9, note9)] {
                let response = try await WitnessHTTP.post(client, try log.body(old: old, size: size))
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                _ = try CheckedCosignature(String(buffer: response.body), note: note)
            }
            try await client.execute(uri: "/key", method: .get) { response in
                #expect(String(buffer: response.body) == Fixtures.witnessKey.verifier.text + "\n")
            }
        }
    }
}
