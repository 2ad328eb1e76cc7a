/// The right edge of a Merkle tree being built left to right: one perfect subtree per set bit
/// of the size, so memory is O(log n).
public struct CompactRange: Sendable {
    private var stack: [(hash: Hash, level: Int)] = []

    public init() {}

    /// Appends a perfect subtree of 2^level leaves; the size so far must be a multiple of 2^level.
    public mutating func append(_ hash: Hash, level: Int) {
        var hash = hash
        var level = level
        while let last = stack.last, last.level == level {
            stack.removeLast()
            hash = MerkleHash.node(last.hash, hash)
            level += 1
        }
        stack.append((hash, level))
    }

    /// The root of the tree of the leaves appended so far (the empty tree's when none).
    public var root: Hash {
        guard var hash = stack.last?.hash else { return MerkleHash.emptyRoot }
        for item in stack.dropLast().reversed() { hash = MerkleHash.node(item.hash, hash) }
        return hash
    }
}
