import CSodium

/// A public Ed25519 key in C2SP signed-note verifier form: `<name>+<8 hex key id>+<base64(type ‖ key)>`,
/// type 0x01 for the log's key, 0x04 for a witness's.
public struct VerifierKey: Hashable, Sendable, CustomStringConvertible {
    public static let publicKeyByteCount = 32
    public static let signatureByteCount = 64

    public let name: String
    public let id: KeyID
    public let publicKey: [UInt8]
    public let type: KeyType

    public init(name: String, publicKey: [UInt8], type: KeyType = .ed25519) throws(LedgerError) {
        try KeyName.validate(name)
        guard publicKey.count == Self.publicKeyByteCount else {
            throw LedgerError(.badKey, "an Ed25519 public key has 32 bytes, got \(publicKey.count)")
        }
        self.name = name
        self.publicKey = publicKey
        self.type = type
        self.id = KeyID(name: name, ed25519PublicKey: publicKey, type: type)
    }

    /// Parses the verifier-key text of a key of `type`, checking that the stated key id matches the key.
    public init(text: String, type: KeyType = .ed25519) throws(LedgerError) {
        let trimmed = text.trimmingWhitespace()
        // The name has no "+", the key id neither; base64 may, so split at the first two only.
        let parts = trimmed.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw LedgerError(.badKey, "a verifier key has the form <name>+<8 hex key id>+<base64 key>")
        }
        guard let statedID = KeyID(hex: String(parts[1])) else {
            throw LedgerError(.badKey, "the key id must be 8 lowercase hex digits")
        }
        guard let material = Base64.decode(String(parts[2])), material.count == 1 + Self.publicKeyByteCount else {
            throw LedgerError(.badKey, "the key must be base64 of a type byte followed by a 32-byte Ed25519 public key")
        }
        guard material[0] == type.rawValue else {
            let found = KeyType(rawValue: material[0]).map(\.label) ?? "0x" + Hex.encode([material[0]])
            throw LedgerError(.badKey, "expected a key of type \(type.label), got one of type \(found)")
        }
        try self.init(name: String(parts[0]), publicKey: Array(material.dropFirst()), type: type)
        guard id == statedID else {
            throw LedgerError(.badKey, "the key id \(statedID) does not match the key (expected \(id))")
        }
    }

    public var text: String {
        "\(name)+\(id.hex)+\(Base64.encode([type.rawValue] + publicKey))"
    }
    public var description: String { text }

    /// Checks an Ed25519 signature over `message`.
    public func isValidSignature(_ signature: some Collection<UInt8>, for message: some ContiguousBytes) -> Bool {
        Ed25519.verify(signature: Array(signature), message: message, publicKey: publicKey)
    }
}

/// Key names are C2SP note names: non-empty, no whitespace, no `+`.
enum KeyName {
    static let byteCountMax = 128

    static func validate(_ name: String) throws(LedgerError) {
        guard !name.isEmpty, name.utf8.count <= byteCountMax,
            !name.unicodeScalars.contains(where: { $0 == "+" || $0.properties.isWhitespace || $0.value < 0x20 })
        else {
            throw LedgerError(.badKey, "a key name is 1–\(byteCountMax) bytes with no spaces and no '+'")
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
