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
}
