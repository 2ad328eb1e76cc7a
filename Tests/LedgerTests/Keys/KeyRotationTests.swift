import Foundation
import Testing

@testable import Ledger

/// Key rotation (FORMAT §10.7): the writer, recovery, `verify`, bundles, keys documents and
/// offline proofs all follow the chain of `key.rotated` entries from the one initial key.
@Suite struct KeyRotationTests {
    static let initial = TestSupport.signingKey
    static let second = try! SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 21, count: 32))
    static let third = try! SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 22, count: 32))
    static let now: UInt64 = 1_900_000_000

    /// A draft stamped by the ledger's clock, as rotations are.
    static func draft(_ number: Int) -> EntryDraft {
        var draft = TestSupport.draft(number)
        draft.time = nil
        return draft
    }

    /// A data directory with key files, 30 entries, a scheduled rotation at seq 30, 20 more, a
    /// compromise rotation at seq 51 (untrusted from 40), 10 more: 62 entries, three keys.
    static func rotatedLedger() throws -> (Ledger, DataDirectory) {
        let path = TestSupport.makeTemporaryDirectory()
        try DataDirectory.writeKeyPair(initial, into: path)
        let data = DataDirectory(path)
        let ledger = try Ledger(directory: data, signer: try data.loadSigningKey())
        try ledger.append((0..<30).map { Self.draft($0) })
        try ledger.checkpoint()
        try ledger.rotateKey(to: second, reason: .scheduled)
        try ledger.append((30..<50).map { Self.draft($0) })
        try ledger.checkpoint()
        try ledger.rotateKey(to: third, reason: .compromise(untrustedFrom: 40))
        try ledger.append((50..<60).map { Self.draft($0) })
        try ledger.checkpoint()
        return (ledger, data)
    }

    @Test func entriesAndCheckpointsAfterARotationAreSignedByTheNewKey() throws {
        let (ledger, data) = try Self.rotatedLedger()
        #expect(ledger.size == 62)
        #expect(ledger.keys.links.map(\.firstSeq) == [0, 31, 52])
        #expect(ledger.keys.current == Self.third.verifier)
        let rotation = try ledger.entry(30)
        #expect(rotation.body.kind == KeyRotation.kind)
        #expect(rotation.hasValidSignature(by: Self.initial.verifier))
        #expect(try ledger.entry(31).hasValidSignature(by: Self.second.verifier))
        #expect(try ledger.entry(51).hasValidSignature(by: Self.second.verifier))
        #expect(try ledger.entry(52).hasValidSignature(by: Self.third.verifier))
        let latest = try #require(ledger.latestCheckpoint)
        #expect(throws: LedgerError.self) { try Checkpoint.open(latest.note, verifier: Self.initial.verifier) }
        #expect(try Checkpoint.open(latest.note, verifier: Self.third.verifier).size == 62)
        // The directory: the current key signs, verifier.key keeps the initial key, keys lists all three.
        #expect(try data.loadSigningKey().verifier == Self.third.verifier)
        #expect(try data.loadVerifierKey() == Self.initial.verifier)
        #expect(!FileIO.exists(data.nextSigningKeyFile))
        #expect(try data.readKeyChainLinks()?.map(\.firstSeq) == [0, 31, 52])
        // Statements are signed by the current key.
        let statement = try ledger.signStatement("Pahlawan Trust impact certificate v1\n")
        #expect(throws: Never.self) { try SignedNote.open(statement, verifier: Self.third.verifier) }
    }

    @Test func reopeningFollowsTheRotationsAndReadOnlyCopiesNeedOnlyTheInitialKey() throws {
        let (ledger, data) = try Self.rotatedLedger()
        ledger.close()
        let reopened = try Ledger(directory: data, signer: try data.loadSigningKey())
        #expect(reopened.keys.links.count == 3)
        try reopened.append([Self.draft(60)])
        #expect(try reopened.entry(62).hasValidSignature(by: Self.third.verifier))
        reopened.close()
        let copy = try Ledger(directory: data, signer: nil, verifier: Self.initial.verifier)
        #expect(copy.size == 63)
        #expect(copy.keys.current == Self.third.verifier)
        copy.close()
        #expect(throws: LedgerError.self) { try Ledger(directory: data, signer: nil, verifier: Self.second.verifier) }
        // The old key can no longer write this log.
        #expect(throws: LedgerError.self) { try Ledger(directory: data, signer: Self.initial) }
    }

    @Test func verifyFollowsTheRotationsFromTheInitialKeyOnly() throws {
        let (ledger, data) = try Self.rotatedLedger()
        ledger.close()
        let report = LedgerVerifier.verify(directory: data, key: Self.initial.verifier, checkSignatures: true, checkBodies: true)
        #expect(report.isValid, "\(String(describing: report.failure))")
        #expect(report.keys.links.map(\.key) == [Self.initial.verifier, Self.second.verifier, Self.third.verifier])
        #expect(report.keys.links[1].untrustedFrom == 40)
        // Without --signatures the rotations are still followed: the checkpoint's key depends on them.
        #expect(LedgerVerifier.verify(directory: data, key: Self.initial.verifier).isValid)
        // Trusting a later key is not enough: the log starts with another.
        #expect(!LedgerVerifier.verify(directory: data, key: Self.second.verifier, checkSignatures: true).isValid)
    }

    /// A rotation entry re-signed by the incoming key (a thief's rotation, with a valid checksum)
    /// is caught with its seq, with or without --signatures.
    @Test func aForgedRotationEntryFailsVerification() throws {
        let (ledger, data) = try Self.rotatedLedger()
        var bytes = SegmentFormat.header(firstSeq: 0)
        for seq in 0..<ledger.size {
            let entry = try ledger.entry(seq)
            let signature = seq == 30 ? Self.second.sign(SignedEntry.signatureMessage(leafHash: entry.leafHash)) : entry.signature
            SegmentFormat.appendFrame(signature: signature, body: entry.bodyBytes, to: &bytes)
        }
        ledger.close()
        FileManager.default.createFile(atPath: data.logDirectory + "/" + SegmentStore.segmentName(firstSeq: 0), contents: Data(bytes))
        for signatures in [true, false] {
            let report = LedgerVerifier.verify(directory: data, key: Self.initial.verifier, checkSignatures: signatures)
            #expect(report.failure?.code == .badSignature, "signatures: \(signatures)")
            #expect(report.failure?.seq == 30)
        }
    }

    @Test func theChainRulesRefuseEveryBadRotation() throws {
        var chain = KeyChain(initial: Self.initial.verifier)
        let stranger = try SigningKey(name: "elsewhere.example/log", seed: [UInt8](repeating: 9, count: 32))
        let cases: [(String, UInt64, KeyID, KeyRotation)] = [
            ("signed by another key", 5, Self.second.verifier.id, KeyRotation(newKey: Self.third.verifier, reason: .scheduled)),
            ("the same key again", 5, Self.initial.verifier.id, KeyRotation(newKey: Self.initial.verifier, reason: .scheduled)),
            ("another origin", 5, Self.initial.verifier.id, KeyRotation(newKey: stranger.verifier, reason: .scheduled)),
            ("untrustedFrom after the rotation", 5, Self.initial.verifier.id, KeyRotation(newKey: Self.second.verifier, reason: .compromise(untrustedFrom: 6))),
        ]
        for (what, seq, signer, rotation) in cases {
            var copy = chain
            #expect(throws: LedgerError.self, "\(what)") { try copy.rotate(at: seq, signedBy: signer, rotation) }
        }
        try chain.rotate(at: 5, signedBy: Self.initial.verifier.id, KeyRotation(newKey: Self.second.verifier, reason: .scheduled))
        var copy = chain
        #expect(throws: LedgerError.self, "a key used before") {
            try copy.rotate(at: 9, signedBy: Self.second.verifier.id, KeyRotation(newKey: Self.initial.verifier, reason: .scheduled))
        }
        #expect(throws: LedgerError.self, "untrustedFrom before the key's first entry") {
            try copy.rotate(at: 9, signedBy: Self.second.verifier.id, KeyRotation(newKey: Self.third.verifier, reason: .compromise(untrustedFrom: 5)))
        }
        // Payloads are read strictly.
        for payload: [String: JSONValue] in [
            ["newKey": .string(Self.second.verifier.text), "reason": "scheduled", "untrustedFrom": 3],
            ["newKey": .string(Self.second.verifier.text), "reason": "compromise"],
            ["newKey": .string(Self.second.verifier.text), "reason": "lost"],
            ["newKey": "not a key", "reason": "scheduled"],
            ["newKey": .string(Self.second.verifier.text), "reason": "scheduled", "note": "x"],
        ] {
            #expect(throws: LedgerError.self, "\(payload)") { try KeyRotation(payload: payload) }
        }
        // Nobody writes key.rotated through append.
        let (ledger, _) = try TestSupport.makeLedger(entries: 1)
        #expect(throws: LedgerError.self) {
            try ledger.append([EntryDraft(kind: KeyRotation.kind, actor: "operator", payload: KeyRotation(newKey: Self.second.verifier, reason: .scheduled).payload)])
        }
    }

    @Test func aCompromisedKeysLaterCheckpointsAreNotTrusted() throws {
        var chain = KeyChain(initial: Self.initial.verifier)
        try chain.rotate(at: 51, signedBy: Self.initial.verifier.id, KeyRotation(newKey: Self.second.verifier, reason: .compromise(untrustedFrom: 40)))
        // A thief holding the key can sign any size and any root: only witnesses make its
        // checkpoints count, and only up to untrustedFrom.
        #expect(try chain.checkpointKey(size: 40, witnessed: true) == Self.initial.verifier)
        #expect(throws: LedgerError.self) { try chain.checkpointKey(size: 40, witnessed: false) }
        #expect(throws: LedgerError.self) { try chain.checkpointKey(size: 3, witnessed: false) }
        #expect(throws: LedgerError.self) { try chain.checkpointKey(size: 41, witnessed: true) }
        #expect(throws: LedgerError.self) { try chain.checkpointKey(size: 51, witnessed: true) }
        #expect(try chain.checkpointKey(size: 52, witnessed: false) == Self.second.verifier)
        #expect(chain.key(forSeq: 51) == Self.initial.verifier)
        #expect(chain.key(forSeq: 52) == Self.second.verifier)
    }

    @Test func bundlesCarryTheRotationsTheyNeed() throws {
        let (ledger, _) = try Self.rotatedLedger()
        let data = try Bundle.export(from: ledger, from: 25, to: 62)
        let verdict = Bundle.verify(data, key: Self.initial.verifier)
        #expect(verdict.isValid, "\(verdict.failures)")
        #expect(verdict.entriesChecked == 37)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var rotations = try #require(object["key_rotations"] as? [[String: Any]])
        #expect(rotations.map { $0["seq"] as? Int } == [30, 51])
        // Leaving one out, or swapping its signature for the new key's, fails.
        object["key_rotations"] = [rotations[0]]
        #expect(!Bundle.verify(try JSONSerialization.data(withJSONObject: object), key: Self.initial.verifier).isValid)
        let body = try #require(Base64.decode(rotations[0]["body"] as! String))
        rotations[0]["signature"] = Base64.encode(Self.second.sign(SignedEntry.signatureMessage(leafHash: MerkleHash.leaf(body))))
        object["key_rotations"] = rotations
        #expect(!Bundle.verify(try JSONSerialization.data(withJSONObject: object), key: Self.initial.verifier).isValid)
    }

    @Test func proofsSignedByALaterKeyVerifyWithTheKeysDocument() throws {
        let (ledger, _) = try Self.rotatedLedger()
        let note = try #require(ledger.latestCheckpoint?.note)
        let document = try KeysDocument.make(ledger, note: note)
        let chain = try KeysDocument.verify(document, initial: Self.initial.verifier, now: Self.now)
        #expect(chain == ledger.keys)
        #expect(throws: LedgerError.self) { try KeysDocument.verify(document, initial: Self.second.verifier, now: Self.now) }
        let proof = try TlogProof.make(ledger, seq: 55, checkpointNote: note)
        #expect(try proof.verify(keys: chain, witnesses: .none, now: Self.now).entry.seq == 55)
        let alone = Result { () throws(LedgerError) in try proof.verify(keys: KeyChain(initial: Self.initial.verifier), witnesses: .none, now: Self.now) }
        guard case .failure(let error) = alone else {
            Issue.record("a proof signed by a later key verified with the initial key alone")
            return
        }
        #expect(error.reason.contains("/v1/keys"))
        // A checkpoint the compromised key signed above untrustedFrom is refused; one at or below it is fine.
        let untrusted = try #require(try ledger.checkpointNote(size: 51))
        #expect(throws: LedgerError.self) { try TlogProof.make(ledger, seq: 35, checkpointNote: untrusted).verify(keys: chain, witnesses: .none, now: Self.now) }
        let early = try #require(try ledger.checkpointNote(size: 30))
        #expect(try TlogProof.make(ledger, seq: 3, checkpointNote: early).verify(keys: chain, witnesses: .none, now: Self.now).entry.seq == 3)
    }

    /// The writer keeps the incoming key in signing.key.next and names it in `keys` before the
    /// entry; reopening finishes a rotation whose entry is durable and undoes one whose is not.
    @Test func aCrashInsideARotationIsFinishedOrUndoneOnOpen() throws {
        // The entry is durable but signing.key was not replaced yet.
        let (ledger, data) = try Self.rotatedLedger()
        ledger.close()
        try FileIO.writeAtomically(data.nextSigningKeyFile, Array((Self.third.privateText + "\n").utf8), mode: 0o600)
        try FileIO.writeAtomically(data.signingKeyFile, Array((Self.second.privateText + "\n").utf8), mode: 0o600)
        let finished = try Ledger(directory: data, signer: try data.loadSigningKey())
        #expect(try data.loadSigningKey().verifier == Self.third.verifier)
        #expect(!FileIO.exists(data.nextSigningKeyFile))
        try finished.append([Self.draft(70)])
        finished.close()

        // The keys file and signing.key.next were written, the entry never became durable.
        let (fresh, path) = try TestSupport.makeLedger(entries: 5)
        fresh.close()
        let other = DataDirectory(path)
        var planned = KeyChain(initial: Self.initial.verifier)
        try planned.rotate(at: 5, signedBy: Self.initial.verifier.id, KeyRotation(newKey: Self.second.verifier, reason: .scheduled))
        try other.writeKeyChain(planned)
        try FileIO.writeAtomically(other.nextSigningKeyFile, Array((Self.second.privateText + "\n").utf8), mode: 0o600)
        let undone = try Ledger(directory: other, signer: Self.initial)
        #expect(undone.keys.links.count == 1)
        #expect(!FileIO.exists(other.nextSigningKeyFile))
        #expect(try other.readKeyChainLinks()?.count == 1)
        try undone.append([Self.draft(5)])
        undone.close()
        #expect(LedgerVerifier.verify(directory: other, key: Self.initial.verifier, checkSignatures: true).isValid)
    }

    /// Without the keys file, a rotated directory cannot say which keys came between
    /// verifier.key and signing.key: open refuses instead of taking signing.key as the first.
    @Test func aRotatedDirectoryWithoutItsKeysFileIsRefused() throws {
        let (ledger, data) = try Self.rotatedLedger()
        ledger.close()
        try FileIO.remove(data.keysFile)
        let refused = Result { () throws(LedgerError) in try Ledger(directory: data, signer: try data.loadSigningKey()) }
        guard case .failure(let error) = refused else {
            Issue.record("opened without the keys file")
            return
        }
        #expect(error.file == data.keysFile)
        // pahlawan verify does not need it: the rotations are in the log, and the chain it
        // followed opens the directory read-only for the checkpoint history.
        let report = LedgerVerifier.verify(directory: data, key: Self.initial.verifier, checkSignatures: true)
        #expect(report.isValid)
        let copy = try Ledger(directory: data, signer: nil, verifier: Self.initial.verifier, keys: report.keys)
        #expect(copy.keys == report.keys)
        copy.close()
    }

    /// A bundle made before a compromise was reported cannot know it; with the keys document the
    /// compromise applies, and a keys document that disagrees with the bundle's rotations is refused.
    @Test func aBundleCheckedWithTheKeysDocumentSeesALaterCompromise() throws {
        let path = TestSupport.makeTemporaryDirectory()
        try DataDirectory.writeKeyPair(Self.initial, into: path)
        let data = DataDirectory(path)
        let ledger = try Ledger(directory: data, signer: try data.loadSigningKey())
        try ledger.append((0..<20).map { Self.draft($0) })
        try ledger.checkpoint()
        let before = try Bundle.export(from: ledger, from: 5, to: 20)
        #expect(Bundle.verify(before, key: Self.initial.verifier).isValid)
        try ledger.rotateKey(to: Self.second, reason: .compromise(untrustedFrom: 10))
        try ledger.checkpoint()
        let document = try KeysDocument.make(ledger, note: try #require(ledger.latestCheckpoint?.note))
        let chain = try KeysDocument.verify(document, initial: Self.initial.verifier, now: Self.now)
        #expect(!Bundle.verify(before, key: Self.initial.verifier, keys: chain).isValid)
        let after = try Bundle.export(from: ledger, from: 5, to: 21)
        #expect(Bundle.verify(after, key: Self.initial.verifier, keys: chain).isValid)
        var other = KeyChain(initial: Self.initial.verifier)
        try other.rotate(at: 20, signedBy: Self.initial.verifier.id, KeyRotation(newKey: Self.third.verifier, reason: .scheduled))
        #expect(!Bundle.verify(after, key: Self.initial.verifier, keys: other).isValid)
    }
}
