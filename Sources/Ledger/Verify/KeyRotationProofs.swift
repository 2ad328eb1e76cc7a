import Foundation

/// A log's `key.rotated` entries below a checkpoint, each with its signature, exact body and
/// inclusion proof in that checkpoint (FORMAT §10.7): what someone who trusts only the initial key
/// needs to trust the key that signed the checkpoint. Bundles carry them (`key_rotations`), and so
/// does the keys document (`pahlawan-keys/v1`, `GET /v1/keys`).
public struct KeyRotationProofs: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public let seq: UInt64
        public let signature: [UInt8]
        public let body: [UInt8]
        public let proof: [Hash]
    }

    public let items: [Item]

    /// The rotations among the first `size` entries of `ledger`, proved in the tree of that size.
    public static func make(_ ledger: Ledger, size: UInt64) throws(LedgerError) -> KeyRotationProofs {
        var items = [Item]()
        for link in ledger.keys.links.dropFirst() where link.firstSeq <= size {
            let seq = link.firstSeq - 1
            let stored = try ledger.storedEntry(seq)
            items.append(Item(seq: seq, signature: stored.signature, body: stored.body, proof: try ledger.inclusionProof(seq: seq, size: size)))
        }
        return KeyRotationProofs(items: items)
    }

    /// The JSON form: `[{"seq", "signature", "body", "proof"}]` (base64 bytes and hashes).
    public var foundationValue: [[String: Any]] {
        items.map {
            ["seq": $0.seq, "signature": Base64.encode($0.signature), "body": Base64.encode($0.body), "proof": $0.proof.map(\.base64)]
        }
    }

    /// Parses the JSON form (nil, as in bundles made before rotations existed, is no rotations).
    public init(json: Any?) throws(LedgerError) {
        guard let json else {
            items = []
            return
        }
        guard let list = json as? [[String: Any]], list.count <= 1_024 else {
            throw LedgerError(.badBundle, "key rotations are a list of at most 1,024 objects")
        }
        var items = [Item]()
        for (index, item) in list.enumerated() {
            guard let number = item["seq"] as? NSNumber, number.int64Value >= 0, number.stringValue == String(number.int64Value),
                let signature = (item["signature"] as? String).flatMap(Base64.decode), signature.count == VerifierKey.signatureByteCount,
                let body = (item["body"] as? String).flatMap(Base64.decode),
                let strings = item["proof"] as? [String], strings.count <= TlogProof.proofLineCountMax
            else {
                throw LedgerError(.badBundle, "key rotation #\(index) needs seq, signature (64 bytes), body and proof, in base64")
            }
            let proof = strings.compactMap(Hash.init(base64:))
            guard proof.count == strings.count else { throw LedgerError(.badBundle, "key rotation #\(index): a proof hash is not base64 of 32 bytes") }
            items.append(Item(seq: UInt64(number.int64Value), signature: signature, body: body, proof: proof))
        }
        self.items = items
    }

    public init(items: [Item]) { self.items = items }

    /// Follows the rotations from `initial`: each entry must be included in the tree of `size`
    /// entries with `root`, come in seq order, be signed by the key before it and obey the rules.
    /// The caller then checks the checkpoint with `checkpointKey(size:witnessed:)` of the result: a rotation
    /// left out makes that signature fail, so the list cannot hide one.
    public func follow(from initial: VerifierKey, size: UInt64, root: Hash) throws(LedgerError) -> KeyChain {
        var chain = KeyChain(initial: initial)
        var last: UInt64?
        for item in items {
            guard item.seq < size, last.map({ item.seq > $0 }) ?? true else {
                throw LedgerError(.badKeyRotation, "key rotations must be in increasing seq order and inside the checkpoint's \(size) entries", seq: item.seq)
            }
            last = item.seq
            let body = try EntryBody.decode(item.body)
            guard body.seq == item.seq else { throw LedgerError(.wrongSeq, "the rotation's body says seq \(body.seq)", seq: item.seq) }
            let entry = SignedEntry(body: body, bodyBytes: item.body, leafHash: MerkleHash.leaf(item.body), signature: item.signature)
            do throws(MerkleProofs.Failure) {
                try MerkleProofs.verifyInclusion(leaf: entry.leafHash, index: item.seq, size: size, proof: item.proof, root: root)
            } catch {
                throw LedgerError(.proofFailed, "the key rotation at seq \(item.seq) is not in the checkpoint's tree: \(error)", seq: item.seq)
            }
            try chain.follow(entry)
        }
        return chain
    }
}

/// The keys document (`pahlawan-keys/v1`, FORMAT §10.7): the initial key, a checkpoint (with the
/// cosignatures we hold) and every rotation below it, proved in it. With it, a verifier who pins
/// only the initial key can check proofs and statements signed by any later key.
public enum KeysDocument {
    public static let format = "pahlawan-keys/v1"

    /// The document for `ledger`'s latest checkpoint, whose note (with cosignatures) is `note`.
    public static func make(_ ledger: Ledger, note: String) throws(LedgerError) -> Data {
        let checkpoint = try Checkpoint(text: try SignedNote(parsing: note).text)
        let document: [String: Any] = [
            "format": format,
            "initial": ledger.verifier.text,
            "checkpoint": note,
            "rotations": try KeyRotationProofs.make(ledger, size: checkpoint.size).foundationValue,
        ]
        do {
            return try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw LedgerError(.badBundle, "could not serialise the keys document: \(error)")
        }
    }

    /// Checks a keys document against the initial key you trust (and, when given, a quorum of
    /// witnesses on its checkpoint) and returns the key chain it proves.
    public static func verify(_ data: Data, initial: VerifierKey, witnesses: WitnessQuorum = .none, now: UInt64) throws(LedgerError) -> KeyChain {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], root["format"] as? String == format else {
            throw LedgerError(.badBundle, "not a \(format) JSON object")
        }
        guard let stated = root["initial"] as? String, stated.trimmingWhitespace() == initial.text else {
            throw LedgerError(.wrongKey, "the document's initial key is not the key you trust (\(initial.id))")
        }
        guard let note = root["checkpoint"] as? String else { throw LedgerError(.badBundle, "the document has no checkpoint") }
        let signed = try SignedNote(parsing: note)
        let checkpoint = try Checkpoint(text: signed.text)
        let chain = try KeyRotationProofs(json: root["rotations"]).follow(from: initial, size: checkpoint.size, root: checkpoint.root)
        let opened = try SignedNote.open(note, verifier: try chain.checkpointKey(size: checkpoint.size, witnessed: witnesses.quorum > 0))
        try witnesses.check(opened, now: now)
        return chain
    }
}
