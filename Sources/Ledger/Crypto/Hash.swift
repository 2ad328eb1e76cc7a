import CSodium

/// A 32-byte SHA-256 digest, stored inline so that millions of them cost no allocations.
public struct Hash: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    /// The all-zero hash: the `prev` of seq 0 and the `policy` when no policy is in force.
    public static let zero = Hash(words: (0, 0, 0, 0))

    private var words: (UInt64, UInt64, UInt64, UInt64)

    private init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// Takes exactly 32 bytes; returns nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Hash.byteCount else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        // One copy from contiguous bytes (arrays and their slices, the usual case): called across
        // modules this generic is not specialised, and a byte loop through it costs more than a SHA-256.
        let copied = bytes.withContiguousStorageIfAvailable { source in
            withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(source)) }
        }
        if copied == nil {
            withUnsafeMutableBytes(of: &words) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
            }
        }
        self.words = words
    }

    /// Parses 64 lowercase hexadecimal digits (the form used inside entry bodies).
    public init?(hex: String) {
        guard let bytes = Hex.decodeLowercase(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// Parses standard base64 of exactly 32 bytes.
    public init?(base64: String) {
        guard let bytes = Base64.decode(base64) else { return nil }
        self.init(bytes: bytes)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = words
        return try Swift.withUnsafeBytes(of: &copy, body)
    }

    /// Lets a hash function write its 32-byte output straight into a `Hash`.
    static func filling(_ body: (UnsafeMutablePointer<UInt8>) -> Void) -> Hash {
        var hash = Hash.zero
        Swift.withUnsafeMutableBytes(of: &hash.words) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return hash
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
    public var hex: String { Hex.encode(bytes) }
    public var base64: String { Base64.encode(bytes) }
    public var description: String { hex }

    public static func == (lhs: Hash, rhs: Hash) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// SHA-256 through libsodium; the prefix form avoids copying a body just to put one byte before it.
public enum SHA256 {
    public static func hash(_ data: some ContiguousBytes) -> Hash {
        hash(prefix: nil, data)
    }

    public static func hash(prefix: UInt8?, _ data: some ContiguousBytes) -> Hash {
        Sodium.ensureInitialised()
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        if var prefix {
            crypto_hash_sha256_update(&state, &prefix, 1)
        }
        data.withUnsafeBytes { raw in
            _ = crypto_hash_sha256_update(
                &state, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(raw.count))
        }
        return finish(&state)
    }

    /// SHA-256(prefix ‖ left ‖ right) for Merkle interior nodes.
    public static func hash(prefix: UInt8, _ left: Hash, _ right: Hash) -> Hash {
        Sodium.ensureInitialised()
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        var prefix = prefix
        crypto_hash_sha256_update(&state, &prefix, 1)
        left.withUnsafeBytes { raw in
            _ = crypto_hash_sha256_update(&state, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        }
        right.withUnsafeBytes { raw in
            _ = crypto_hash_sha256_update(&state, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        }
        return finish(&state)
    }

    private static func finish(_ state: inout crypto_hash_sha256_state) -> Hash {
        Hash.filling { output in _ = crypto_hash_sha256_final(&state, output) }
    }
}

/// Types whose bytes can be read contiguously (arrays, slices, strings' UTF-8 views).
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(self)
    }
}
