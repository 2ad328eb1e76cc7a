/// RFC 6962 / RFC 9162 hashing: domain-separated leaves and interior nodes over SHA-256.
public enum MerkleHash {
    /// The root of the empty tree: SHA-256 of no bytes.
    public static let emptyRoot = SHA256.hash([UInt8]())

    /// SHA-256(0x00 ‖ data): the leaf hash of an entry body.
    public static func leaf(_ data: some ContiguousBytes) -> Hash {
        SHA256.hash(prefix: 0x00, data)
    }

    /// SHA-256(0x01 ‖ left ‖ right).
    public static func node(_ left: Hash, _ right: Hash) -> Hash {
        SHA256.hash(prefix: 0x01, left, right)
    }

    /// The largest power of two strictly less than `count` (count ≥ 2): where RFC 6962 splits a tree.
    static func splitPoint(_ count: UInt64) -> UInt64 {
        precondition(count >= 2)
        return UInt64(1) << (63 - (count - 1).leadingZeroBitCount)
    }
}
