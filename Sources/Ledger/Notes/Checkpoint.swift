/// A C2SP tlog-checkpoint: origin line, decimal tree size, base64 root hash.
public struct Checkpoint: Sendable, Equatable {
    /// The default origin and key name of Pahlawan Pangan's ledger.
    public static let defaultOrigin = "pahlawan-pangan.id/ledger"

    public let origin: String
    public let size: UInt64
    public let root: Hash

    public init(origin: String, size: UInt64, root: Hash) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    /// Parses checkpoint text (the text of a signed note). Extension lines are not accepted: we never write them.
    public init(text: String) throws(LedgerError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 4, lines[3].isEmpty else {
            throw LedgerError(.badCheckpoint, "a checkpoint is exactly three lines: origin, size, root")
        }
        guard !lines[0].isEmpty else { throw LedgerError(.badCheckpoint, "the origin line is empty") }
        guard let size = UInt64(lines[1]), String(size) == lines[1] else {
            throw LedgerError(.badCheckpoint, "the tree size is not a canonical decimal number")
        }
        guard let root = Hash(base64: String(lines[2])) else {
            throw LedgerError(.badCheckpoint, "the root is not base64 of 32 bytes")
        }
        self.init(origin: String(lines[0]), size: size, root: root)
    }

    public var text: String { "\(origin)\n\(size)\n\(root.base64)\n" }

    /// Signs the checkpoint as a note; the key's name must be the origin, as C2SP expects.
    public func sign(with key: SigningKey) throws(LedgerError) -> SignedNote {
        try SignedNote.sign(text: text, with: key)
    }

    /// Opens a signed checkpoint note with `key` and parses its text.
    public static func open(_ serialized: String, verifier key: VerifierKey) throws(LedgerError) -> Checkpoint {
        let note = try SignedNote.open(serialized, verifier: key)
        let checkpoint = try Checkpoint(text: note.text)
        guard checkpoint.origin == key.name else {
            throw LedgerError(.badCheckpoint, "the checkpoint's origin \(checkpoint.origin) is not the key's name \(key.name)")
        }
        return checkpoint
    }
}
