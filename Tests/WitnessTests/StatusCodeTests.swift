import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import NIOCore
import Testing
import Witness

/// Every answer C2SP tlog-witness v1 names, through the real router: status, Content-Type and
/// body. The witness has cosigned the test log at size 5 before each request; none of the
/// refused requests may move it.
@Suite struct StatusCodeTests {
    /// A witness that cosigned `log` at size 5, with the log grown to 8 (checkpoints at 5 and 8).
    struct Setup {
        let log: TestLog
        let witness: Witness
        let directory: String
        let note5: String
        let note8: String

        init() throws {
            log = try TestLog()
            directory = Fixtures.makeTemporaryDirectory()
            witness = try Fixtures.witness(directory: directory)
            note5 = try log.grow(to: 5)
            note8 = try log.grow(to: 8)
            try #require(witness.addCheckpoint(Fixtures.body(old: 0, note: note5)).isCosigned)
        }

        func expectUnmoved(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(witness.latest(origin: Fixtures.origin)?.size == 5, "\(what) moved the witness", sourceLocation: sourceLocation)
            #expect(witness.latest(origin: Fixtures.origin)?.note == note5, "\(what) moved the witness", sourceLocation: sourceLocation)
        }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func flipBit(_ hash: Hash, _ bit: Int = 0) -> Hash {
        var bytes = hash.bytes
        bytes[bit / 8] ^= UInt8(1 << (bit % 8))
        return Hash(bytes: bytes)!
    }

    @Test func malformedBodiesAre400() async throws {
        let setup = try Setup()
        defer { setup.witness.close() }
        let note = setup.note8
        let proof = try setup.log.proof(from: 5, to: 8).map { $0.base64 + "\n" }.joined()
        let text = try SignedNote(parsing: note).text
        let hash = Hash(bytes: [UInt8](repeating: 0xAB, count: 32))!.base64
        let cases: [(String, [UInt8])] = [
            ("no old line", Self.bytes(proof + "\n" + note)),
            ("the note alone", Self.bytes(note)),
            ("an empty first line", Self.bytes("\n" + note)),
            ("old 01", Self.bytes("old 05\n" + proof + "\n" + note)),
            ("old 00", Self.bytes("old 00\n\n" + note)),
            ("old -1", Self.bytes("old -1\n" + proof + "\n" + note)),
            ("old +5", Self.bytes("old +5\n" + proof + "\n" + note)),
            ("old with two spaces", Self.bytes("old  5\n" + proof + "\n" + note)),
            ("old with a trailing space", Self.bytes("old 5 \n" + proof + "\n" + note)),
            ("OLD in capitals", Self.bytes("OLD 5\n" + proof + "\n" + note)),
            ("old in hex", Self.bytes("old 0x5\n" + proof + "\n" + note)),
            ("old beyond 64 bits", Self.bytes("old 18446744073709551616\n" + proof + "\n" + note)),
            ("old with a CR", Self.bytes("old 5\r\n" + proof + "\n" + note)),
            ("old larger than the checkpoint's size", Self.bytes("old 9\n" + proof + "\n" + note)),
            ("old far larger than the checkpoint's size", Self.bytes("old 18446744073709551615\n\n" + note)),
            ("64 proof lines", Self.bytes("old 5\n" + String(repeating: hash + "\n", count: 64) + "\n" + note)),
            ("a proof line that is not base64", Self.bytes("old 5\n" + "not base64!\n" + "\n" + note)),
            ("a proof line of 31 bytes", Self.bytes("old 5\n" + Base64.encode([UInt8](repeating: 1, count: 31)) + "\n\n" + note)),
            ("a proof line of 33 bytes", Self.bytes("old 5\n" + Base64.encode([UInt8](repeating: 1, count: 33)) + "\n\n" + note)),
            ("no empty line before the note", Self.bytes("old 5\n" + proof + note)),
            ("the checkpoint text without signatures", Self.bytes("old 5\n" + proof + "\n" + text)),
            ("the checkpoint text and a blank line, no signature line", Self.bytes("old 5\n" + proof + "\n" + text + "\n")),
            ("a note whose signature line lacks its newline", Self.bytes("old 5\n" + proof + "\n" + String(note.dropLast()))),
            ("a note with a size that is not a number", Self.bytes("old 5\n\n" + Fixtures.signed("\(Fixtures.origin)\nfive\n\(hash)\n"))),
            ("a note with size 08", Self.bytes("old 5\n\n" + Fixtures.signed("\(Fixtures.origin)\n08\n\(hash)\n"))),
            ("a note with a root that is not 32 bytes", Self.bytes("old 5\n\n" + Fixtures.signed("\(Fixtures.origin)\n8\nAAAA\n"))),
            ("a note of two lines", Self.bytes("old 5\n\n" + Fixtures.signed("\(Fixtures.origin)\n8\n"))),
            ("an empty body", []),
            ("old without a newline", Self.bytes("old 5")),
            ("old and a proof, nothing else", Self.bytes("old 5\n" + proof)),
            ("bytes that are not UTF-8", [0x6F, 0x6C, 0x64, 0x20, 0x35, 0x0A, 0x0A, 0xFF, 0xFE, 0x0A]),
            ("garbage", (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }),
        ]
        let app = Application(router: setup.witness.router())
        try await app.test(.router) { client in
            for (what, body) in cases {
                let response = try await WitnessHTTP.post(client, body)
                WitnessHTTP.expectProblem(response, .badRequest, "malformedRequest", what)
            }
            // 63 proof lines are well-formed: that proof is merely wrong (422), not malformed.
            let response = try await WitnessHTTP.post(client, Self.bytes("old 5\n" + String(repeating: hash + "\n", count: 63) + "\n" + note))
            WitnessHTTP.expectProblem(response, .unprocessableContent, "inconsistentCheckpoint", "63 proof lines")
        }
        setup.expectUnmoved("a malformed request")
    }

    /// A body beyond the bound is refused before it is parsed.
    @Test func anOversizedBodyIsRefused() async throws {
        let setup = try Setup()
        defer { setup.witness.close() }
        let app = Application(router: setup.witness.router())
        try await app.test(.router) { client in
            let body = Self.bytes("old 5\n\n" + setup.note8 + String(repeating: "x", count: AddCheckpoint.byteCountMax))
            let response = try await WitnessHTTP.post(client, body)
            #expect(response.status == .contentTooLarge || response.status == .badRequest, "\(response.status)")
        }
        setup.expectUnmoved("an oversized body")
    }

    @Test func aCheckpointNoTrustedKeySignedIs403() async throws {
        let setup = try Setup()
        defer { setup.witness.close() }
        let text = try SignedNote(parsing: setup.note8).text
        // The same checkpoint, signed by a key with the log's name that the witness does not trust.
        let impostor = try SignedNote.sign(text: text, with: Fixtures.impostorKey).serialized
        // The log's own signature with one bit flipped (in the signature, then in the key id).
        let genuine = try SignedNote(parsing: setup.note8).signatures[0]
        var flippedSignature = genuine.signature
        flippedSignature[17] ^= 0x04
        let flipped = SignedNote(text: text, signatures: [.init(name: genuine.name, keyID: genuine.keyID, signature: flippedSignature)]).serialized
        let otherID = KeyID(value: genuine.keyID.value ^ 1)
        let wrongID = SignedNote(text: text, signatures: [.init(name: genuine.name, keyID: otherID, signature: genuine.signature)]).serialized
        // The genuine signature over a text with one character changed (another root).
        let otherRoot = Self.flipBit(try Fixtures.head(setup.note8).root).base64
        let moved = try SignedNote(parsing: setup.note8).signatures.map(SignedNote.line).joined()
        let tampered = "\(Fixtures.origin)\n8\n\(otherRoot)\n\n" + moved
        // A signature that is too short to be one.
        let short = SignedNote(text: text, signatures: [.init(name: genuine.name, keyID: genuine.keyID, signature: Array(genuine.signature.prefix(10)))]).serialized
        let proof = try setup.log.proof(from: 5, to: 8)
        let app = Application(router: setup.witness.router())
        try await app.test(.router) { client in
            for (what, note) in [
                ("an impostor's signature", impostor), ("a flipped signature", flipped), ("a wrong key id", wrongID),
                ("a tampered root", tampered), ("a short signature", short),
            ] {
                let response = try await WitnessHTTP.post(client, Fixtures.body(old: 5, proof: proof, note: note))
                WitnessHTTP.expectProblem(response, .forbidden, "unverifiedCheckpoint", what)
            }
        }
        setup.expectUnmoved("an unsigned checkpoint")
    }

    @Test func aCheckpointOfAnUnknownOriginIs404() async throws {
        let setup = try Setup()
        defer { setup.witness.close() }
        let hash = try Fixtures.head(setup.note8).root
        let stranger = try Checkpoint(origin: Fixtures.strangerKey.verifier.name, size: 8, root: hash).sign(with: Fixtures.strangerKey).serialized
        // The log's key signing a checkpoint of another origin does not make that origin known.
        let renamed = Fixtures.signed("\(Fixtures.origin).evil\n8\n\(hash.base64)\n")
        let app = Application(router: setup.witness.router())
        try await app.test(.router) { client in
            for (what, note) in [("an unknown log", stranger), ("an origin that extends a known one", renamed)] {
                let response = try await WitnessHTTP.post(client, Fixtures.body(old: 0, note: note))
                WitnessHTTP.expectProblem(response, .notFound, "unknownLog", what)
            }
        }
        setup.expectUnmoved("an unknown origin")
    }

    @Test func aStaleOldSizeOrAForkAtTheSameSizeIs409WithTheWitnessSize() async throws {
        let setup = try Setup()
        defer { setup.witness.close() }
        let otherRoot = Self.flipBit(try Fixtures.head(setup.note5).root, 77)
        let fork5 = try Checkpoint(origin: Fixtures.origin, size: 5, root: otherRoot).sign(with: Fixtures.logKey).serialized
        let app = Application(router: setup.witness.router())
        try await app.test(.router) { client in
            // old below what the witness cosigned, with a correct proof from that old size.
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, try setup.log.body(old: 3, size: 8)), size: 5, "old 3")
            // old 0 (a client that does not know the witness's state asks this way).
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, Fixtures.body(old: 0, note: setup.note8)), size: 5, "old 0")
            // old above what the witness cosigned (but not above the checkpoint's size).
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, try setup.log.body(old: 6, size: 8)), size: 5, "old 6")
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, Fixtures.body(old: 8, note: setup.note8)), size: 5, "old 8")
            // The sizes are equal and the roots differ: a fork.
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, Fixtures.body(old: 5, note: fork5)), size: 5, "a fork at size 5")
        }
        setup.expectUnmoved("a conflict")
        // A fresh witness answers 409 with size 0 to an old size it never cosigned.
        let fresh = try Fixtures.witness()
        defer { fresh.close() }
        #expect(fresh.addCheckpoint(try setup.log.body(old: 5, size: 8)) == .conflict(size: 0, reason: "the latest checkpoint cosigned for this log has size 0"))
    }

    @Test func aProofThatDoesNotVerifyIs422() async throws {
        let setup = try Setup()
        defer { setup.witness.close() }
        let proof = try setup.log.proof(from: 5, to: 8)
        try #require(proof.count >= 2)
        let app = Application(router: setup.witness.router())
        try await app.test(.router) { client in
            for index in proof.indices {
                for bit in [0, 100, 255] {
                    var flipped = proof
                    flipped[index] = Self.flipBit(flipped[index], bit)
                    let response = try await WitnessHTTP.post(client, Fixtures.body(old: 5, proof: flipped, note: setup.note8))
                    WitnessHTTP.expectProblem(response, .unprocessableContent, "inconsistentCheckpoint", "hash \(index) bit \(bit) flipped")
                }
            }
            for (what, bad) in [
                ("a hash missing", Array(proof.dropLast())), ("a hash too many", proof + [proof[0]]), ("an empty proof", []),
                ("the hashes swapped", Array(proof.reversed())),
            ] {
                let response = try await WitnessHTTP.post(client, Fixtures.body(old: 5, proof: bad, note: setup.note8))
                WitnessHTTP.expectProblem(response, .unprocessableContent, "inconsistentCheckpoint", what)
            }
            // A correct proof from a size the witness did not cosign is a stale old size (409), not 422.
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, try setup.log.body(old: 4, size: 8)), size: 5, "a proof from 4")
            WitnessHTTP.expectConflict(try await WitnessHTTP.post(client, try setup.log.body(old: 7, size: 8)), size: 5, "a proof from 7")
        }
        setup.expectUnmoved("a bad proof")
        // And then the right proof moves it.
        #expect(setup.witness.addCheckpoint(try setup.log.body(old: 5, size: 8)).isCosigned)
    }

    /// "The proof MUST be empty if the old size is zero."
    @Test func aNonEmptyProofWithOldZeroIs422() async throws {
        let log = try TestLog()
        let note = try log.grow(to: 8)
        let proof = try log.ledger.consistencyProof(from: 5, to: 8)
        let witness = try Fixtures.witness()
        defer { witness.close() }
        let app = Application(router: witness.router())
        try await app.test(.router) { client in
            let response = try await WitnessHTTP.post(client, Fixtures.body(old: 0, proof: proof, note: note))
            WitnessHTTP.expectProblem(response, .unprocessableContent, "inconsistentCheckpoint", "a proof with old 0")
            let one = try await WitnessHTTP.post(client, Fixtures.body(old: 0, proof: [proof[0]], note: note))
            WitnessHTTP.expectProblem(one, .unprocessableContent, "inconsistentCheckpoint", "one hash with old 0")
        }
        #expect(witness.latest(origin: Fixtures.origin) == nil, "nothing cosigned")
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: note)).isCosigned)
    }
}
