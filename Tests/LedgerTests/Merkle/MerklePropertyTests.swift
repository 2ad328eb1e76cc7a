import PropertyBased
import Testing
@testable import Ledger

/// Invariants of proofs over every tree shape up to 300 leaves.
@Suite struct MerklePropertyTests {
    static let tree: MerkleTree = {
        var tree = MerkleTree()
        for index in 0..<300 { tree.append(MerkleHash.leaf(Array("leaf \(index)".utf8))) }
        return tree
    }()

    static func flipBit(_ hashes: [Hash], hash: Int, bit: Int) -> [Hash] {
        var copy = hashes
        var bytes = copy[hash].bytes
        bytes[bit / 8] ^= UInt8(1 << (bit % 8))
        copy[hash] = Hash(bytes: bytes)!
        return copy
    }

    @Test func everyInclusionProofVerifiesAndFailsAfterAnyBitFlip() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...300), Gen.int(in: 0...299), Gen.int(in: 0...255)) { size, rawIndex, bit in
            let index = UInt64(rawIndex % size)
            let tree = Self.tree
            let root = tree.root(size: UInt64(size))
            let leaf = tree.leaf(index)
            let proof = tree.inclusionProof(index: index, size: UInt64(size))
            #expect(proof.count == MerkleProofs.inclusionProofLength(index: index, size: UInt64(size)))
            #expect((try? MerkleProofs.verifyInclusion(leaf: leaf, index: index, size: UInt64(size), proof: proof, root: root)) != nil)
            if !proof.isEmpty {
                let flipped = Self.flipBit(proof, hash: bit % proof.count, bit: bit)
                #expect((try? MerkleProofs.verifyInclusion(leaf: leaf, index: index, size: UInt64(size), proof: flipped, root: root)) == nil)
            }
            let flippedLeaf = Self.flipBit([leaf], hash: 0, bit: bit)[0]
            #expect((try? MerkleProofs.verifyInclusion(leaf: flippedLeaf, index: index, size: UInt64(size), proof: proof, root: root)) == nil)
            #expect((try? MerkleProofs.verifyInclusion(leaf: leaf, index: index, size: UInt64(size), proof: proof + [root], root: root)) == nil)
        }
    }

    @Test func everyConsistencyProofVerifiesAndFailsAfterAnyBitFlip() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...300), Gen.int(in: 1...300), Gen.int(in: 0...255)) { a, b, bit in
            let (size1, size2) = (UInt64(min(a, b)), UInt64(max(a, b)))
            let tree = Self.tree
            let root1 = tree.root(size: size1)
            let root2 = tree.root(size: size2)
            let proof = tree.consistencyProof(size1: size1, size2: size2)
            #expect((try? MerkleProofs.verifyConsistency(size1: size1, size2: size2, root1: root1, root2: root2, proof: proof)) != nil)
            if !proof.isEmpty {
                let flipped = Self.flipBit(proof, hash: bit % proof.count, bit: bit)
                #expect((try? MerkleProofs.verifyConsistency(size1: size1, size2: size2, root1: root1, root2: root2, proof: flipped)) == nil)
            }
            let wrongRoot = Self.flipBit([root1], hash: 0, bit: bit)[0]
            #expect((try? MerkleProofs.verifyConsistency(size1: size1, size2: size2, root1: wrongRoot, root2: root2, proof: proof)) == nil)
        }
    }

    /// The stored-levels tree agrees with a direct recursive computation of RFC 6962's MTH.
    @Test func rootsMatchTheDefinition() async {
        func definition(_ leaves: ArraySlice<Hash>) -> Hash {
            if leaves.count == 1 { return leaves.first! }
            let split = Int(MerkleHash.splitPoint(UInt64(leaves.count)))
            return MerkleHash.node(definition(leaves.prefix(split)), definition(leaves.dropFirst(split)))
        }
        let leaves = (0..<300).map { Self.tree.leaf(UInt64($0)) }
        await propertyCheck(count: 100, input: Gen.int(in: 1...300)) { size in
            #expect(Self.tree.root(size: UInt64(size)) == definition(leaves.prefix(size)))
        }
    }
}

/// Any sequence of appends, in any batching, yields a ledger that verifies and whose reopened root is the same.
@Suite struct LedgerPropertyTests {
    @Test func anyAppendSequenceVerifies() async {
        await propertyCheck(count: 25, input: Gen.int(in: 1...40).array(of: 1...8)) { batches in
            let directory = TestSupport.makeTemporaryDirectory()
            let key = TestSupport.signingKey
            do {
                let ledger = try Ledger(directory: DataDirectory(directory), signer: key)
                var number = 0
                for size in batches {
                    try ledger.append((number..<number + size).map { TestSupport.draft($0) })
                    number += size
                    if size % 3 == 0 { try ledger.checkpoint() }
                }
                ledger.close()
                let report = LedgerVerifier.verify(directory: DataDirectory(directory), key: key.verifier, checkSignatures: true)
                #expect(report.isValid, "\(String(describing: report.failure))")
                #expect(report.entries == UInt64(number))
                let reopened = try Ledger(directory: DataDirectory(directory), signer: key)
                #expect(try reopened.root(size: UInt64(number)) == report.root)
            } catch {
                Issue.record("\(error)")
            }
        }
    }
}
