import Foundation

/// The export bundle (contract `pahlawan-bundle/v1`): a signed checkpoint, the verifier key, and a
/// range of entries, each with its exact body bytes, signature and inclusion proof in that checkpoint.
public enum Bundle {
    public static let format = "pahlawan-bundle/v1"
    /// How many entries one bundle may carry; larger ranges are exported as several bundles.
    public static let entryCountMax: UInt64 = 1_000_000

    /// Builds the bundle for entries [from, to) against the ledger's latest checkpoint, which must cover them.
    public static func export(from ledger: Ledger, from start: UInt64, to end: UInt64) throws(LedgerError) -> Data {
        guard start < end, end - start <= entryCountMax else {
            throw LedgerError(.badRange, "need from < to with at most \(entryCountMax) entries; got from \(start), to \(end)")
        }
        guard let (note, checkpoint) = ledger.latestCheckpoint, checkpoint.size >= end else {
            throw LedgerError(.badRange, "no signed checkpoint covers seq \(end - 1) yet; the log holds \(ledger.size) entries")
        }
        var entries = [[String: Any]]()
        for seq in start..<end {
            let entry = try ledger.entry(seq)
            entries.append([
                "seq": seq,
                "body": Base64.encode(entry.bodyBytes),
                "leaf_hash": entry.leafHash.base64,
                "signature": Base64.encode(entry.signature),
                "proof": try ledger.inclusionProof(seq: seq, size: checkpoint.size).map(\.base64),
                "decoded": foundationValue(entry.body.jsonValue),
            ])
        }
        var bundle: [String: Any] = [
            "format": format,
            "checkpoint": note,
            "verifier_key": ledger.verifier.text,
            "entries": entries,
            "key_rotations": try KeyRotationProofs.make(ledger, size: checkpoint.size).foundationValue,
        ]
        if start > 0 {
            // Ties the first entry's `prev` to the checkpoint, so the range's chain is anchored too.
            bundle["previous"] = [
                "seq": start - 1,
                "leaf_hash": try ledger.leafHash(start - 1).base64,
                "proof": try ledger.inclusionProof(seq: start - 1, size: checkpoint.size).map(\.base64),
            ]
        }
        do {
            return try JSONSerialization.data(withJSONObject: bundle, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw LedgerError(.badBundle, "could not serialise the bundle: \(error)")
        }
    }

    static func foundationValue(_ value: JSONValue) -> Any {
        switch value {
        case .integer(let number): number
        case .string(let text): text
        case .bool(let flag): flag
        case .array(let elements): elements.map(foundationValue)
        case .object(let members): members.mapValues(foundationValue)
        }
    }

    /// What verifying a bundle found: one line per failure, empty when everything verifies.
    public struct Verdict: Sendable {
        public var checkpoint: Checkpoint?
        public var entriesChecked = 0
        public var failures: [String] = []
        public var isValid: Bool { failures.isEmpty && checkpoint != nil }
    }

    /// Verifies a bundle offline with `key` as the trust anchor (the bundle's own key is only
    /// compared), following the rotations it carries to the keys that signed its checkpoint and entries.
    /// With `keys` (a chain a keys document proved from `key`), the bundle's rotations must agree
    /// with it, and a compromise it reports after the bundle was made applies too.
    public static func verify(_ data: Data, key: VerifierKey, keys known: KeyChain? = nil) -> Verdict {
        var verdict = Verdict()
        func fail(_ line: String) { verdict.failures.append(line) }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            fail("bundle: not a JSON object")
            return verdict
        }
        guard root["format"] as? String == format else {
            fail("bundle: format is not \(format)")
            return verdict
        }
        if let stated = root["verifier_key"] as? String, stated.trimmingWhitespace() != key.text {
            fail("bundle: its verifier_key differs from the key you trust")
        }
        guard let note = root["checkpoint"] as? String else {
            fail("bundle: no checkpoint")
            return verdict
        }
        let checkpoint: Checkpoint
        let keys: KeyChain
        do throws(LedgerError) {
            let stated = try Checkpoint(text: try SignedNote(parsing: note).text)
            let carried = try KeyRotationProofs(json: root["key_rotations"]).follow(from: key, size: stated.size, root: stated.root)
            if let known {
                // One may be newer than the other; the longer one, which extends the shorter, decides.
                let (short, long) = known.links.count <= carried.links.count ? (known, carried) : (carried, known)
                guard long.links.prefix(short.links.count).map({ [$0.firstSeq: $0.key] }) == short.links.map({ [$0.firstSeq: $0.key] }) else {
                    throw LedgerError(.badKeyRotation, "the bundle's key rotations and the keys document's name different keys")
                }
                keys = long
            } else {
                keys = carried
            }
            checkpoint = try Checkpoint.open(note, verifier: try keys.checkpointKey(size: stated.size, witnessed: false))
        } catch {
            fail("checkpoint: \(error.code): \(error.reason)\(error.seq.map { " (seq \($0))" } ?? "")")
            return verdict
        }
        verdict.checkpoint = checkpoint
        guard let entries = root["entries"] as? [[String: Any]], !entries.isEmpty else {
            fail("bundle: no entries")
            return verdict
        }
        var previousLeaf: (seq: UInt64, hash: Hash)? = nil
        if let previous = root["previous"] as? [String: Any] {
            if let seq = (previous["seq"] as? NSNumber)?.uint64Value, let leaf = (previous["leaf_hash"] as? String).flatMap(Hash.init(base64:)),
                let proof = hashes(previous["proof"])
            {
                do {
                    try MerkleProofs.verifyInclusion(leaf: leaf, index: seq, size: checkpoint.size, proof: proof, root: checkpoint.root)
                    previousLeaf = (seq, leaf)
                } catch {
                    fail("previous seq \(seq): inclusion proof fails: \(error)")
                }
            } else {
                fail("previous: needs seq, leaf_hash and proof")
            }
        }
        for (index, item) in entries.enumerated() {
            guard let seq = (item["seq"] as? NSNumber)?.uint64Value else {
                fail("entry #\(index): no seq")
                continue
            }
            guard let bodyBytes = (item["body"] as? String).flatMap(Base64.decode) else {
                fail("seq \(seq): body is not base64")
                continue
            }
            let leaf = MerkleHash.leaf(bodyBytes)
            let body: EntryBody
            do {
                body = try EntryBody.decode(bodyBytes)
            } catch {
                fail("seq \(seq): \(error.code): \(error.reason)")
                continue
            }
            if body.seq != seq { fail("seq \(seq): the body says seq \(body.seq)") }
            if let stated = item["leaf_hash"] as? String, Hash(base64: stated) != leaf {
                fail("seq \(seq): leaf_hash does not match the body")
            }
            let signature = (item["signature"] as? String).flatMap(Base64.decode) ?? []
            let entry = SignedEntry(body: body, bodyBytes: bodyBytes, leafHash: leaf, signature: signature)
            if !entry.hasValidSignature(by: keys.key(forSeq: seq)) { fail("seq \(seq): entry signature does not verify") }
            if let proof = hashes(item["proof"]) {
                do {
                    try MerkleProofs.verifyInclusion(leaf: leaf, index: seq, size: checkpoint.size, proof: proof, root: checkpoint.root)
                } catch {
                    fail("seq \(seq): inclusion proof fails: \(error)")
                }
            } else {
                fail("seq \(seq): proof is not a list of base64 hashes")
            }
            if seq == 0 {
                if body.prev != .zero { fail("seq 0: prev is not all zeros") }
            } else if let previousLeaf, previousLeaf.seq == seq - 1 {
                if body.prev != previousLeaf.hash { fail("seq \(seq): prev does not match the leaf hash of seq \(seq - 1)") }
            } else if index > 0 {
                fail("seq \(seq): entries are not consecutive")
            }
            previousLeaf = (seq, leaf)
            verdict.entriesChecked += 1
        }
        return verdict
    }

    private static func hashes(_ value: Any?) -> [Hash]? {
        guard let strings = value as? [String] else { return nil }
        let parsed = strings.compactMap(Hash.init(base64:))
        return parsed.count == strings.count ? parsed : nil
    }
}
