import Testing
@testable import Ledger

@Suite struct SignedNoteTests {
    /// The published C2SP signed-note example.
    static let exampleKey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    static let exampleNote = """
        This is an example message.

        — example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=

        """

    @Test func thePublishedExampleVerifies() throws {
        let key = try VerifierKey(text: Self.exampleKey)
        #expect(key.id.hex == "530d903a")
        let note = try SignedNote.open(Self.exampleNote, verifier: key)
        #expect(note.text == "This is an example message.\n")
        #expect(note.serialized == Self.exampleNote)
    }

    @Test func aChangedTextFailsTheExample() throws {
        let key = try VerifierKey(text: Self.exampleKey)
        let tampered = Self.exampleNote.replacingOccurrences(of: "example message", with: "exemplary message")
        #expect(throws: LedgerError.self) { try SignedNote.open(tampered, verifier: key) }
    }

    @Test func aVerifierKeyWithAWrongIDIsRejected() {
        #expect(throws: LedgerError.self) {
            try VerifierKey(text: "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
        }
    }

    @Test func signaturesByUnknownKeysAreIgnored() throws {
        let ours = TestSupport.signingKey
        let other = try SigningKey(name: "witness.example", seed: [UInt8](repeating: 9, count: 32))
        var note = try Checkpoint(origin: ours.verifier.name, size: 3, root: MerkleHash.emptyRoot).sign(with: ours)
        let extra = try SignedNote.sign(text: note.text, with: other).signatures
        note = SignedNote(text: note.text, signatures: extra + note.signatures)
        let opened = try Checkpoint.open(note.serialized, verifier: ours.verifier)
        #expect(opened.size == 3)
        #expect(throws: LedgerError.self) { try SignedNote.open(note.serialized, verifier: try VerifierKey(name: "nobody", publicKey: ours.verifier.publicKey)) }
    }

    @Test func privateKeyTextRoundTrips() throws {
        let key = TestSupport.signingKey
        let again = try SigningKey(text: key.privateText)
        #expect(again.verifier == key.verifier)
        #expect(key.privateText.hasPrefix("PRIVATE+KEY+pahlawan-pangan.id/ledger+\(key.verifier.id.hex)+"))
    }

    @Test func checkpointTextIsExactlyThreeLines() throws {
        let checkpoint = Checkpoint(origin: "pahlawan-pangan.id/ledger", size: 12, root: MerkleHash.emptyRoot)
        #expect(checkpoint.text == "pahlawan-pangan.id/ledger\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
        #expect(try Checkpoint(text: checkpoint.text) == checkpoint)
        #expect(throws: LedgerError.self) { try Checkpoint(text: "origin\n012\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n") }
        #expect(throws: LedgerError.self) { try Checkpoint(text: "origin\n12\nnot-base64\n") }
    }
}

/// Any generated key's texts parse back to the same key (base64 of a key often contains "+").
@Suite struct KeyTextTests {
    @Test func generatedKeysRoundTripThroughTheirTexts() throws {
        for _ in 0..<300 {
            let key = try SigningKey.generate(name: Checkpoint.defaultOrigin)
            #expect(try VerifierKey(text: key.verifier.text) == key.verifier)
            #expect(try SigningKey(text: key.privateText).verifier == key.verifier)
        }
    }
}
