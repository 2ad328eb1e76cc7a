import CSodium

/// An Ed25519 signing key with its note name. The seed never leaves this type except to be saved.
public final class SigningKey: Sendable {
    public static let seedByteCount = 32
    private static let secretKeyByteCount = 64
    private static let privateKeyPrefix = "PRIVATE+KEY+"

    /// The public half, in verifier form.
    public let verifier: VerifierKey
    private let secretKey: [UInt8]
    private let seed: [UInt8]

    /// Derives the key pair from a 32-byte seed (deterministic, so tests can use fixed seeds).
    public init(name: String, seed: [UInt8], type: KeyType = .ed25519) throws(LedgerError) {
        guard seed.count == Self.seedByteCount else {
            throw LedgerError(.badKey, "an Ed25519 seed has 32 bytes, got \(seed.count)")
        }
        Sodium.ensureInitialised()
        var publicKey = [UInt8](repeating: 0, count: VerifierKey.publicKeyByteCount)
        var secretKey = [UInt8](repeating: 0, count: Self.secretKeyByteCount)
        crypto_sign_seed_keypair(&publicKey, &secretKey, seed)
        self.verifier = try VerifierKey(name: name, publicKey: publicKey, type: type)
        self.secretKey = secretKey
        self.seed = seed
    }

    /// A fresh key from the operating system's random source.
    public static func generate(name: String, type: KeyType = .ed25519) throws(LedgerError) -> SigningKey {
        var seed = Sodium.randomBytes(seedByteCount)
        defer { Sodium.wipe(&seed) }
        return try SigningKey(name: name, seed: seed, type: type)
    }

    /// Parses the private-key text `PRIVATE+KEY+<name>+<8 hex key id>+<base64(type ‖ seed)>`
    /// (the form Go's golang.org/x/mod/sumdb/note uses), for a key of `type`.
    public convenience init(text: String, type: KeyType = .ed25519) throws(LedgerError) {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.hasPrefix(Self.privateKeyPrefix) else {
            throw LedgerError(.badKey, "a signing key file starts with PRIVATE+KEY+")
        }
        let parts = trimmed.dropFirst(Self.privateKeyPrefix.count).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let statedID = KeyID(hex: String(parts[1])),
            let material = Base64.decode(String(parts[2])), material.count == 1 + Self.seedByteCount
        else {
            throw LedgerError(.badKey, "a signing key has the form PRIVATE+KEY+<name>+<8 hex key id>+<base64(type ‖ seed)>")
        }
        guard material[0] == type.rawValue else {
            throw LedgerError(.badKey, "expected a signing key of type \(type.label), got type byte 0x\(Hex.encode([material[0]]))")
        }
        try self.init(name: String(parts[0]), seed: Array(material.dropFirst()), type: type)
        guard verifier.id == statedID else {
            throw LedgerError(.badKey, "the signing key's id \(statedID) does not match its seed")
        }
    }

    /// The private-key text; write it only to a file of mode 0600.
    public var privateText: String {
        "\(Self.privateKeyPrefix)\(verifier.name)+\(verifier.id.hex)+\(Base64.encode([verifier.type.rawValue] + seed))"
    }

    /// A detached Ed25519 signature (64 bytes) over `message`.
    public func sign(_ message: some ContiguousBytes) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: VerifierKey.signatureByteCount)
        message.withUnsafeBytes { raw in
            _ = crypto_sign_detached(
                &signature, nil, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(raw.count), secretKey)
        }
        return signature
    }

    /// Signs `message` into the 64 bytes at `signature`: the group-commit writer signs straight
    /// into its batch buffer, from several threads at once (libsodium signing is thread-safe).
    func sign(_ message: UnsafeRawBufferPointer, into signature: UnsafeMutableRawPointer) {
        secretKey.withUnsafeBufferPointer { secret in
            _ = crypto_sign_detached(
                signature.assumingMemoryBound(to: UInt8.self), nil, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                UInt64(message.count), secret.baseAddress!)
        }
    }
}
