/// Anything that can produce the hash of a complete, aligned subtree: `hash(level: k, index: i)`
/// covers leaves [i·2^k, (i+1)·2^k). The in-memory `MerkleTree` and the on-disk `TileStore`
/// both are; roots and RFC 9162 proofs are built from these hashes alone, O(log n) of them.
protocol PerfectSubtreeHashes {
    /// The number of leaves available.
    var leafCount: UInt64 { get }
    func perfectHash(level: Int, index: UInt64) throws(LedgerError) -> Hash
}

extension PerfectSubtreeHashes {
    /// The hash of leaves [start, end) as RFC 6962 defines it for the subtrees its proofs use.
    func subtreeHash(_ start: UInt64, _ end: UInt64) throws(LedgerError) -> Hash {
        let count = end - start
        precondition(count > 0 && end <= leafCount)
        if count & (count - 1) == 0 && start % count == 0 {
            let level = count.trailingZeroBitCount
            return try perfectHash(level: level, index: start >> UInt64(level))
        }
        let split = MerkleHash.splitPoint(count)
        return MerkleHash.node(try subtreeHash(start, start + split), try subtreeHash(start + split, end))
    }

    /// The root of the tree made of the first `size` leaves.
    func rootHash(size treeSize: UInt64) throws(LedgerError) -> Hash {
        precondition(treeSize <= leafCount)
        if treeSize == 0 { return MerkleHash.emptyRoot }
        return try subtreeHash(0, treeSize)
    }

    /// RFC 9162 §2.1.3.1 PATH(index, D[0:size]).
    func buildInclusionProof(index: UInt64, size treeSize: UInt64) throws(LedgerError) -> [Hash] {
        precondition(index < treeSize && treeSize <= leafCount)
        var proof = [Hash]()
        var start: UInt64 = 0
        var end = treeSize
        // Walk down from the root, collecting siblings; the proof lists them leaf-first.
        while end - start > 1 {
            let split = MerkleHash.splitPoint(end - start)
            if index < start + split {
                proof.append(try subtreeHash(start + split, end))
                end = start + split
            } else {
                proof.append(try subtreeHash(start, start + split))
                start += split
            }
        }
        return proof.reversed()
    }

    /// RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]); empty when the sizes are equal or size1 is 0.
    func buildConsistencyProof(size1: UInt64, size2: UInt64) throws(LedgerError) -> [Hash] {
        precondition(size1 <= size2 && size2 <= leafCount)
        if size1 == 0 || size1 == size2 { return [] }
        var proof = [Hash]()
        var m = size1
        var start: UInt64 = 0
        var end = size2
        var isWholeOldTree = true
        while m != end - start {
            let split = MerkleHash.splitPoint(end - start)
            if m <= split {
                proof.append(try subtreeHash(start + split, end))
                end = start + split
            } else {
                proof.append(try subtreeHash(start, start + split))
                m -= split
                start += split
                isWholeOldTree = false
            }
        }
        if !isWholeOldTree { proof.append(try subtreeHash(start, end)) }
        return proof.reversed()
    }
}
