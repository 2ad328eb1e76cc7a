/// An offline proof of one entry in the C2SP tlog-proof v1 form (ledger/FORMAT.md §10.5): the
/// entry (its signature and exact body, as `extra`), its index, its RFC 9162 inclusion proof and
/// the cosigned checkpoint it leads to. It needs no network and no trust in us beyond the keys.
public struct TlogProof: Sendable, Equatable {
    public static let header = "c2sp.org/tlog-proof@v1"
    /// Deeper than any tree of 2^63 leaves needs; bounds what a reader accepts.
    public static let proofLineCountMax = 63

    public let index: UInt64
    public let signature: [UInt8]
    public let body: [UInt8]
    public let proof: [Hash]
    /// The checkpoint note, with our signature and the witnesses' cosignatures.
    public let checkpoint: String

    public init(index: UInt64, signature: [UInt8], body: [UInt8], proof: [Hash], checkpoint: String) {
        self.index = index
        self.signature = signature
        self.body = body
        self.proof = proof
        self.checkpoint = checkpoint
    }

    /// The proof of entry `seq` against `checkpointNote` (a note of a tree `ledger` holds).
    public static func make(_ ledger: Ledger, seq: UInt64, checkpointNote: String) throws(LedgerError) -> TlogProof {
        let note = try SignedNote(parsing: checkpointNote)
        let checkpoint = try Checkpoint(text: note.text)
        guard seq < checkpoint.size else {
            throw LedgerError(.notFound, "seq \(seq) is not in the checkpoint of size \(checkpoint.size)", seq: seq)
        }
        // A proof nobody would accept is refused here rather than handed out.
        _ = try ledger.keys.checkpointKey(size: checkpoint.size, witnessed: true)
        let entry = try ledger.storedEntry(seq)
        return TlogProof(
            index: seq, signature: entry.signature, body: entry.body, proof: try ledger.inclusionProof(seq: seq, size: checkpoint.size),
            checkpoint: checkpointNote)
    }

    /// The `.tlog-proof` text.
    public var serialized: String {
        "\(Self.header)\nextra \(Base64.encode(signature + body))\nindex \(index)\n" + proof.map { $0.base64 + "\n" }.joined() + "\n" + checkpoint
    }

    /// Parses the text strictly (no signature is checked here; see `verify`).
    public init(parsing text: String) throws(LedgerError) {
        guard text.utf8.count <= 2 * 65_536 + SignedNote.byteCountMax else { throw LedgerError(.badBundle, "a proof is at most 144 KiB") }
        var rest = Substring(text)
        func line() throws(LedgerError) -> Substring {
            guard let end = rest.firstIndex(of: "\n") else { throw LedgerError(.badBundle, "a line of the proof does not end in a newline") }
            defer { rest = rest[rest.index(after: end)...] }
            return rest[..<end]
        }
        guard try line() == Self.header[...] else { throw LedgerError(.badBundle, "the first line is not \(Self.header)") }
        let extra = try line()
        guard extra.hasPrefix("extra "), let material = Base64.decode(String(extra.dropFirst(6))),
            material.count > VerifierKey.signatureByteCount
        else {
            throw LedgerError(.badBundle, "the second line is `extra <base64(entry signature ‖ body)>`")
        }
        let indexLine = try line()
        guard indexLine.hasPrefix("index "), let index = UInt64(indexLine.dropFirst(6)), String(index) == indexLine.dropFirst(6) else {
            throw LedgerError(.badBundle, "the index line is `index <decimal with no leading zeros>`")
        }
        var proof = [Hash]()
        while true {
            let next = try line()
            if next.isEmpty { break }
            guard proof.count < Self.proofLineCountMax, let hash = Hash(base64: String(next)) else {
                throw LedgerError(.badBundle, "inclusion proof lines are at most \(Self.proofLineCountMax) base64 hashes")
            }
            proof.append(hash)
        }
        self.init(
            index: index, signature: Array(material.prefix(VerifierKey.signatureByteCount)),
            body: Array(material.dropFirst(VerifierKey.signatureByteCount)), proof: proof, checkpoint: String(rest))
    }

    /// Checks everything: the body's form and seq, the entry's signature by the key `keys` name
    /// for its seq, the inclusion proof to the checkpoint's root, the signature on the checkpoint by
    /// the key for its size, and `witnesses`' quorum. `keys` is the initial key alone unless a keys
    /// document (§10.7) proved later ones. Returns the verified entry and checkpoint.
    /// - Throws: the first check that fails (`badEntry`, `badSignature`, `proofFailed`, …).
    public func verify(keys: KeyChain, witnesses: WitnessQuorum, now: UInt64) throws(LedgerError) -> (entry: SignedEntry, checkpoint: Checkpoint) {
        let entryBody = try EntryBody.decode(body)
        guard entryBody.seq == index else { throw LedgerError(.wrongSeq, "the entry's body says seq \(entryBody.seq), the proof index \(index)", seq: index) }
        let entry = SignedEntry(body: entryBody, bodyBytes: body, leafHash: MerkleHash.leaf(body), signature: signature)
        let key = keys.key(forSeq: index)
        guard entry.hasValidSignature(by: key) else {
            throw LedgerError(.badSignature, "the entry's signature does not verify with \(key.name)+\(key.id)\(Self.rotationHint(keys))", seq: index)
        }
        let stated = try Checkpoint(text: try SignedNote(parsing: checkpoint).text)
        let checkpointKey = try keys.checkpointKey(size: stated.size, witnessed: witnesses.quorum > 0)
        let note: SignedNote
        do {
            note = try SignedNote.open(checkpoint, verifier: checkpointKey)
        } catch {
            throw LedgerError(error.code, error.reason + Self.rotationHint(keys))
        }
        let tree = try Checkpoint(text: note.text)
        guard tree.origin == checkpointKey.name else { throw LedgerError(.badCheckpoint, "the checkpoint's origin is not \(checkpointKey.name)") }
        do throws(MerkleProofs.Failure) {
            try MerkleProofs.verifyInclusion(leaf: entry.leafHash, index: index, size: tree.size, proof: proof, root: tree.root)
        } catch {
            throw LedgerError(.proofFailed, "the inclusion proof of seq \(index) in the tree of size \(tree.size) fails: \(error)", seq: index)
        }
        try witnesses.check(note, now: now)
        return (entry, tree)
    }

    private static func rotationHint(_ keys: KeyChain) -> String {
        keys.links.count == 1 ? " (if the log has rotated its key since, pass its keys document: GET /v1/keys)" : ""
    }
}
