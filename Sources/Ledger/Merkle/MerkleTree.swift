/// The hashes of every complete subtree of the log, level by level (level 0 = leaf hashes),
/// which is exactly what C2SP tlog-tiles store. Any root or proof reads O(log n) of them.
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
    public func root(size treeSize: UInt64) -> Hash {
        precondition(treeSize <= size)
        if treeSize == 0 { return MerkleHash.emptyRoot }
        return subtreeHash(0, treeSize)
    }

    /// The hash of leaves [start, end) as RFC 6962 defines it for the subtrees its proofs use.
    func subtreeHash(_ start: UInt64, _ end: UInt64) -> Hash {
        let count = end - start
        precondition(count > 0 && end <= size)
        if count & (count - 1) == 0 && start % count == 0 {
            let level = count.trailingZeroBitCount
            return levels[level][Int(start >> UInt64(level))]
        }
        let split = MerkleHash.splitPoint(count)
        return MerkleHash.node(subtreeHash(start, start + split), subtreeHash(start + split, end))
    }

    /// RFC 9162 §2.1.3.1 PATH(index, D[0:size]).
    public func inclusionProof(index: UInt64, size treeSize: UInt64) -> [Hash] {
        precondition(index < treeSize && treeSize <= size)
        var proof = [Hash]()
        inclusionPath(index, 0, treeSize, into: &proof)
        return proof
    }

    private func inclusionPath(_ index: UInt64, _ start: UInt64, _ end: UInt64, into proof: inout [Hash]) {
        let count = end - start
        if count == 1 { return }
        let split = MerkleHash.splitPoint(count)
        if index < split {
            inclusionPath(index, start, start + split, into: &proof)
            proof.append(subtreeHash(start + split, end))
        } else {
            inclusionPath(index - split, start + split, end, into: &proof)
            proof.append(subtreeHash(start, start + split))
        }
    }

    /// RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]); empty when the sizes are equal.
    public func consistencyProof(size1: UInt64, size2: UInt64) -> [Hash] {
        precondition(size1 <= size2 && size2 <= size)
        if size1 == 0 || size1 == size2 { return [] }
        var proof = [Hash]()
        subproof(size1, 0, size2, true, into: &proof)
        return proof
    }

    private func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ isWholeOldTree: Bool, into proof: inout [Hash]) {
        let count = end - start
        if m == count {
            if !isWholeOldTree { proof.append(subtreeHash(start, end)) }
            return
        }
        let split = MerkleHash.splitPoint(count)
        if m <= split {
            subproof(m, start, start + split, isWholeOldTree, into: &proof)
            proof.append(subtreeHash(start + split, end))
        } else {
            subproof(m - split, start + split, end, false, into: &proof)
            proof.append(subtreeHash(start, start + split))
        }
    }
}
