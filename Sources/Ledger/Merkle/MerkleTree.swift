/// Every complete subtree hash of a small tree, in memory, level by level (level 0 = leaf hashes).
/// Used where a tree is built whole (tests, bundles); the ledger itself keeps them in `TileStore`.
public struct MerkleTree: Sendable {
    /// `levels[k][i]` is the hash of leaves [i·2^k, (i+1)·2^k).
    private(set) var levels: [[Hash]] = [[]]

    public init() {}

    /// The number of leaves.
    public var size: UInt64 { UInt64(levels[0].count) }

    /// Appends one leaf hash, completing whichever subtrees it closes.
    public mutating func append(_ leaf: Hash) {
        levels[0].append(leaf)
        var level = 0
        while levels[level].count % 2 == 0 {
            let count = levels[level].count
            let parent = MerkleHash.node(levels[level][count - 2], levels[level][count - 1])
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].append(parent)
            level += 1
        }
    }

    /// Drops leaves from the end (used when recovery truncates a torn tail before anything was acknowledged).
    public mutating func truncate(to newSize: UInt64) {
        precondition(newSize <= size)
        for level in levels.indices {
            let keep = Int(newSize >> UInt64(level))
            if levels[level].count > keep { levels[level].removeSubrange(keep...) }
        }
    }

    /// The leaf hash at `index`.
    public func leaf(_ index: UInt64) -> Hash { levels[0][Int(index)] }

    /// The root of the tree made of the first `size` leaves.
    public func root(size treeSize: UInt64) -> Hash { try! rootHash(size: treeSize) }

    /// RFC 9162 §2.1.3.1 PATH(index, D[0:size]).
    public func inclusionProof(index: UInt64, size treeSize: UInt64) -> [Hash] {
        try! buildInclusionProof(index: index, size: treeSize)
    }

    /// RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]); empty when the sizes are equal.
    public func consistencyProof(size1: UInt64, size2: UInt64) -> [Hash] {
        try! buildConsistencyProof(size1: size1, size2: size2)
    }
}

extension MerkleTree: PerfectSubtreeHashes {
    var leafCount: UInt64 { size }

    func perfectHash(level: Int, index: UInt64) throws(LedgerError) -> Hash { levels[level][Int(index)] }
}
