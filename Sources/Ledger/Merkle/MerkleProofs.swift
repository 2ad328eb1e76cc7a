/// Verification of RFC 9162 §2.1.3.2 inclusion proofs and §2.1.4.2 consistency proofs.
/// Both are pure functions of their inputs, so auditors' tools and ours must agree bit for bit.
public enum MerkleProofs {
    /// Why a proof does not verify.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case indexBeyondSize
        case wrongProofLength(expected: Int, actual: Int)
        case rootMismatch
        case sizesOutOfOrder
        case emptyOldTree
        case proofMustBeEmpty

        public var description: String {
            switch self {
            case .indexBeyondSize: "leaf index is not below the tree size"
            case .wrongProofLength(let expected, let actual): "proof has \(actual) hashes, expected \(expected)"
            case .rootMismatch: "computed root does not match"
            case .sizesOutOfOrder: "first tree size is larger than the second"
            case .emptyOldTree: "a consistency proof from the empty tree proves nothing"
            case .proofMustBeEmpty: "equal tree sizes take an empty proof"
            }
        }
    }

    /// The exact number of hashes an inclusion proof for (index, size) has; any other length is rejected.
    public static func inclusionProofLength(index: UInt64, size: UInt64) -> Int {
        precondition(index < size)
        let inner = innerProofLength(index: index, size: size)
        let border = (index >> UInt64(inner)).nonzeroBitCount
        return inner + border
    }

    private static func innerProofLength(index: UInt64, size: UInt64) -> Int {
        64 - (index ^ (size - 1)).leadingZeroBitCount
    }

    /// Checks that `leaf` sits at `index` in the tree of `size` leaves whose root is `root`.
    public static func verifyInclusion(
        leaf: Hash, index: UInt64, size: UInt64, proof: [Hash], root: Hash
    ) throws(Failure) {
        guard index < size else { throw .indexBeyondSize }
        let expected = inclusionProofLength(index: index, size: size)
        guard proof.count == expected else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        guard rootFromInclusion(leaf: leaf, index: index, size: size, proof: proof) == root else {
            throw .rootMismatch
        }
    }

    /// The RFC 9162 §2.1.3.2 fold: the root that `proof` implies for `leaf` at `index`.
    public static func rootFromInclusion(leaf: Hash, index: UInt64, size: UInt64, proof: [Hash]) -> Hash {
        var fn = index
        var sn = size - 1
        var result = leaf
        for sibling in proof {
            if fn & 1 == 1 || fn == sn {
                result = MerkleHash.node(sibling, result)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                result = MerkleHash.node(result, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return result
    }

    /// Checks that the tree of `size2` leaves with `root2` extends the tree of `size1` leaves with `root1`.
    public static func verifyConsistency(
        size1: UInt64, size2: UInt64, root1: Hash, root2: Hash, proof: [Hash]
    ) throws(Failure) {
        guard size1 <= size2 else { throw .sizesOutOfOrder }
        if size1 == size2 {
            guard proof.isEmpty else { throw .proofMustBeEmpty }
            guard root1 == root2 else { throw .rootMismatch }
            return
        }
        guard size1 > 0 else { throw .emptyOldTree }
        let expected = consistencyProofLength(size1: size1, size2: size2)
        guard proof.count == expected else { throw .wrongProofLength(expected: expected, actual: proof.count) }

        var path = proof
        if size1 & (size1 - 1) == 0 { path.insert(root1, at: 0) }
        var fn = size1 - 1
        var sn = size2 - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var firstRoot = path[0]
        var secondRoot = path[0]
        for sibling in path.dropFirst() {
            guard sn != 0 else { throw .rootMismatch }
            if fn & 1 == 1 || fn == sn {
                firstRoot = MerkleHash.node(sibling, firstRoot)
                secondRoot = MerkleHash.node(sibling, secondRoot)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                secondRoot = MerkleHash.node(secondRoot, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0, firstRoot == root1, secondRoot == root2 else { throw .rootMismatch }
    }

    /// The exact number of hashes a consistency proof between two distinct non-zero sizes has
    /// (the decomposition transparency-dev/merkle uses).
    public static func consistencyProofLength(size1: UInt64, size2: UInt64) -> Int {
        precondition(0 < size1 && size1 < size2)
        let inner = innerProofLength(index: size1 - 1, size: size2)
        let border = ((size1 - 1) >> UInt64(inner)).nonzeroBitCount
        let shift = size1.trailingZeroBitCount
        // When size1 is a power of two its own root is the seed, so the proof omits it.
        let seedIncluded = size1 & (size1 - 1) == 0 ? 0 : 1
        return seedIncluded + (inner - shift) + border
    }
}
