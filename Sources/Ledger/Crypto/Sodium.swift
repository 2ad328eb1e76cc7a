import CSodium

/// libsodium set-up and the few primitives the ledger needs beyond hashing.
public enum Sodium {
    private static let initialised: Bool = { sodium_init() >= 0 }()

    /// Every entry point into libsodium calls this first; `sodium_init` is idempotent and thread-safe.
    public static func ensureInitialised() {
        precondition(initialised, "libsodium failed to initialise")
    }

    /// Fills `count` bytes from the operating system's cryptographic random source.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        ensureInitialised()
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, count)
        return bytes
    }

    /// Overwrites secret bytes in a way the optimiser may not remove.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            sodium_memzero(raw.baseAddress, raw.count)
        }
    }

    /// HMAC-SHA-256 (RFC 2104) of `message` under `key`, any key length.
    public static func hmacSHA256(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        ensureInitialised()
        var state = crypto_auth_hmacsha256_state()
        var tag = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        crypto_auth_hmacsha256_init(&state, key, key.count)
        let bytes = Array(message)
        crypto_auth_hmacsha256_update(&state, bytes, UInt64(bytes.count))
        crypto_auth_hmacsha256_final(&state, &tag)
        return tag
    }

    /// Constant-time equality of two byte strings of the same length (MACs, digests).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && sodium_memcmp(a, b, a.count) == 0
    }
}

/// Ed25519 signatures over raw 32-byte keys (devices' keys; the log's own keys are `VerifierKey`).
public enum Ed25519 {
    /// Whether `publicKey` is a usable Ed25519 key: a point on the curve, in the main subgroup,
    /// not of small order (an all-zero key, say, would name a device that can sign nothing).
    public static func isValidPublicKey(_ publicKey: [UInt8]) -> Bool {
        guard publicKey.count == 32 else { return false }
        Sodium.ensureInitialised()
        return crypto_core_ed25519_is_valid_point(publicKey) == 1
    }

    /// Whether `signature` (64 bytes) is `publicKey`'s (32 bytes) signature of `message`.
    public static func verify(signature: [UInt8], message: some ContiguousBytes, publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32 else { return false }
        Sodium.ensureInitialised()
        return message.withUnsafeBytes { raw in
            crypto_sign_verify_detached(signature, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(raw.count), publicKey) == 0
        }
    }
}
