/// A C2SP signed note: text ending in "\n", a blank line, then `— <name> <base64(key id ‖ signature)>` lines.
public struct SignedNote: Sendable, Equatable {
    /// One signature line.
    public struct Signature: Sendable, Equatable {
        public let name: String
        public let keyID: KeyID
        public let signature: [UInt8]

        public init(name: String, keyID: KeyID, signature: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.signature = signature
        }
    }

    /// Bounds what a note reader accepts (checkpoints are well under 1 KiB).
    public static let byteCountMax = 16 * 1024
    public static let signatureCountMax = 100
    private static let signaturePrefix = "\u{2014} "

    public let text: String
    public let signatures: [Signature]

    /// Signs `text` with `key`, producing the note with one signature.
    public static func sign(text: String, with key: SigningKey) throws(LedgerError) -> SignedNote {
        try validateText(text)
        let signature = key.sign(Array(text.utf8))
        return SignedNote(
            text: text,
            signatures: [Signature(name: key.verifier.name, keyID: key.verifier.id, signature: signature)])
    }

    /// Parses a note's serialized form without checking any signature.
    public init(parsing serialized: String) throws(LedgerError) {
        guard serialized.utf8.count <= Self.byteCountMax else {
            throw LedgerError(.badNote, "a note is at most \(Self.byteCountMax) bytes")
        }
        guard let split = serialized.range(of: "\n\n", options: .backwards) else {
            throw LedgerError(.badNote, "no blank line separates the text from the signatures")
        }
        let text = String(serialized[..<split.lowerBound]) + "\n"
        try Self.validateText(text)
        let signatures = try Self.parseLines(String(serialized[split.upperBound...]))
        self.init(text: text, signatures: signatures)
    }

    public init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    /// Parses and checks that `key` signed the note; signatures by other keys are ignored, as C2SP requires.
    public static func open(_ serialized: String, verifier key: VerifierKey) throws(LedgerError) -> SignedNote {
        let note = try SignedNote(parsing: serialized)
        let message = Array(note.text.utf8)
        let byKey = note.signatures.filter { $0.name == key.name && $0.keyID == key.id }
        guard !byKey.isEmpty else {
            throw LedgerError(.badNote, "the note carries no signature by \(key.name)+\(key.id)")
        }
        guard byKey.allSatisfy({ key.isValidSignature($0.signature, for: message) }) else {
            throw LedgerError(.badSignature, "the note's signature by \(key.name)+\(key.id) does not verify")
        }
        return note
    }

    public var serialized: String {
        text + "\n" + signatures.map(Self.line).joined()
    }

    /// One signature line, `— <name> <base64(key id ‖ signature)>` with its newline.
    public static func line(_ signature: Signature) -> String {
        "\(signaturePrefix)\(signature.name) \(Base64.encode(signature.keyID.bytes + signature.signature))\n"
    }

    /// Parses signature lines alone (a witness's answer to add-checkpoint): 1–`signatureCountMax`
    /// lines, each ending in a newline.
    public static func parseLines(_ block: String) throws(LedgerError) -> [Signature] {
        guard block.utf8.count <= byteCountMax else { throw LedgerError(.badNote, "signature lines are at most \(byteCountMax) bytes") }
        guard block.hasSuffix("\n") else { throw LedgerError(.badNote, "the signature lines must end with a newline") }
        var signatures = [Signature]()
        for line in block.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix(signaturePrefix) else {
                throw LedgerError(.badNote, "signature lines start with an em dash and a space")
            }
            let fields = line.dropFirst(signaturePrefix.count).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let material = Base64.decode(String(fields[1])), material.count >= 5 else {
                throw LedgerError(.badNote, "a signature line is `— <name> <base64(key id ‖ signature)>`")
            }
            signatures.append(Signature(name: String(fields[0]), keyID: KeyID(bytes: material.prefix(4))!, signature: Array(material.dropFirst(4))))
        }
        guard !signatures.isEmpty, signatures.count <= signatureCountMax else {
            throw LedgerError(.badNote, "a note has 1–\(signatureCountMax) signatures")
        }
        return signatures
    }

    /// The note with `more` signature lines after its own, skipping any it already carries.
    public func adding(_ more: [Signature]) -> SignedNote {
        var all = signatures
        for signature in more where !all.contains(signature) { all.append(signature) }
        return SignedNote(text: text, signatures: all)
    }

    private static func validateText(_ text: String) throws(LedgerError) {
        guard text.hasSuffix("\n"), !text.contains("\n\n"), !text.hasPrefix("\n") else {
            throw LedgerError(.badNote, "note text is non-empty lines, each ending in a newline, with no blank line")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) else {
            throw LedgerError(.badNote, "note text has no control characters besides newline")
        }
    }
}
