import CSodium

/// A public Ed25519 key in C2SP signed-note verifier form: `<name>+<8 hex key id>+<base64(0x01 ‖ key)>`.
public struct VerifierKey: Hashable, Sendable, CustomStringConvertible {
    public static let publicKeyByteCount = 32
    public static let signatureByteCount = 64

    public let name: String
    public let id: KeyID
    public let publicKey: [UInt8]

    public init(name: String, publicKey: [UInt8]) throws(LedgerError) {
        try KeyName.validate(name)
        guard publicKey.count == Self.publicKeyByteCount else {
            throw LedgerError(.badKey, "an Ed25519 public key has 32 bytes, got \(publicKey.count)")
        }
        self.name = name
        self.publicKey = publicKey
        self.id = KeyID(name: name, ed25519PublicKey: publicKey)
    }

    /// Parses the verifier-key text, checking that the stated key id matches the key.
    public init(text: String) throws(LedgerError) {
        let trimmed = text.trimmingWhitespace()
        // The name has no "+", the key id neither; base64 may, so split at the first two only.
        let parts = trimmed.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw LedgerError(.badKey, "a verifier key has the form <name>+<8 hex key id>+<base64 key>")
        }
        guard let statedID = KeyID(hex: String(parts[1])) else {
            throw LedgerError(.badKey, "the key id must be 8 lowercase hex digits")
        }
        guard let material = Base64.decode(String(parts[2])), material.count == 1 + Self.publicKeyByteCount,
            material[0] == SignatureAlgorithm.ed25519
        else {
            throw LedgerError(.badKey, "the key must be base64 of 0x01 followed by a 32-byte Ed25519 public key")
        }
        try self.init(name: String(parts[0]), publicKey: Array(material.dropFirst()))
        guard id == statedID else {
            throw LedgerError(.badKey, "the key id \(statedID) does not match the key (expected \(id))")
        }
    }

    public var text: String {
        "\(name)+\(id.hex)+\(Base64.encode([SignatureAlgorithm.ed25519] + publicKey))"
    }
    public var description: String { text }

    /// Checks an Ed25519 signature over `message`.
    public func isValidSignature(_ signature: some Collection<UInt8>, for message: some ContiguousBytes) -> Bool {
        guard signature.count == Self.signatureByteCount else { return false }
        Sodium.ensureInitialised()
        let signatureBytes = Array(signature)
        return message.withUnsafeBytes { raw in
            crypto_sign_verify_detached(
                signatureBytes, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(raw.count), publicKey
            ) == 0
        }
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
