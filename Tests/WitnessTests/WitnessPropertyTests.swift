import Foundation
import Ledger
import PropertyBased
import Testing
import Witness

/// Random sequences of valid, stale, forked, arbitrary and malformed submissions of two
/// branches of one log (same key, diverging after 10 entries), with restarts in between. The
/// witness's one promise is checked on everything it cosigned: no two of its cosigned
/// checkpoints are inconsistent with each other. A reference model predicts each answer to a
/// well-formed request.
@Suite struct WitnessPropertyTests {
    static let forkAt: UInt64 = 10
    static let sizeMax: UInt64 = 40
    /// Both branches, grown to `sizeMax` (checkpoints signed by the ledgers along the way).
    static let branches: [TestLog] = {
        (["A", "B"]).map { name in
            let log = try! TestLog(branch: name, forkAt: forkAt)
            for size: UInt64 in [1, 4, 9, 10, 11, 17, 25, 32, 33, sizeMax] { try! log.grow(to: size) }
            return log
        }
    }()

    /// What a model witness holds: the head of the latest checkpoint it cosigned.
    struct Model {
        var latest: Checkpoint?

        /// The answer's status to a well-formed, validly signed request, per C2SP tlog-witness v1
        /// and RFC 6962 (a proof from the empty tree or between equal sizes is empty).
        func status(old: UInt64, proof: [Hash], head: Checkpoint) -> (status: Int, size: UInt64?) {
            guard old <= head.size else { return (400, nil) }
            let size = latest?.size ?? 0
            guard old == size else { return (409, size) }
            guard let latest else { return (proof.isEmpty ? 200 : 422, nil) }
            if latest.size == head.size {
                guard latest.root == head.root else { return (409, size) }
                return (proof.isEmpty ? 200 : 422, nil)
            }
            if latest.size == 0 { return (proof.isEmpty ? 200 : 422, nil) }
            let valid = (try? MerkleProofs.verifyConsistency(size1: latest.size, size2: head.size, root1: latest.root, root2: head.root, proof: proof)) != nil
            return (valid ? 200 : 422, nil)
        }
    }

    enum Operation: CustomStringConvertible {
        case submit(branch: Int, old: UInt64, proofFrom: UInt64, size: UInt64, kind: String)
        case mutate(branch: Int, old: UInt64, size: UInt64, position: Int, xor: UInt8)
        case restart

        var description: String {
            switch self {
            case .submit(let branch, let old, let proofFrom, let size, let kind): "\(kind) \(branch == 0 ? "A" : "B") old \(old) proof \(proofFrom)→\(size)"
            case .mutate(let branch, let old, let size, let position, let xor): "mutated \(branch == 0 ? "A" : "B") old \(old)→\(size) byte \(position) ^ \(xor)"
            case .restart: "restart"
            }
        }

        /// Decodes one generated number against the model's current size.
        static func decode(_ value: UInt64, current: UInt64) -> Operation {
            let branch = Int(value >> 3 & 1)
            let a = value >> 4 % (WitnessPropertyTests.sizeMax + 1)
            let step = value >> 10 % 9
            switch value % 8 {
            case 0, 1, 2:
                let size = min(current + step, WitnessPropertyTests.sizeMax)
                return .submit(branch: branch, old: current, proofFrom: current, size: size, kind: "valid")
            case 3:
                // A stale or future old size with a correct proof from it.
                let size = max(a, min(current + step, WitnessPropertyTests.sizeMax))
                let old = min(a, size)
                return .submit(branch: branch, old: old, proofFrom: old, size: size, kind: "stale")
            case 4:
                // The current old size with a proof made from another size (a broken client).
                let size = min(current + step + 1, WitnessPropertyTests.sizeMax)
                return .submit(branch: branch, old: current, proofFrom: min(a, size), size: size, kind: "wrong proof")
            case 5:
                // Anything, including old above the size.
                let size = value >> 16 % (WitnessPropertyTests.sizeMax + 1)
                return .submit(branch: branch, old: a, proofFrom: min(a, size), size: size, kind: "arbitrary")
            case 6:
                let size = min(current + step, WitnessPropertyTests.sizeMax)
                return .mutate(branch: branch, old: current, size: size, position: Int(value >> 20 % 4096), xor: UInt8(value >> 32 & 0xFF) | 1)
            default:
                return .restart
            }
        }
    }

    static func checkPairwiseConsistency(_ cosigned: [Checkpoint], _ trace: [String]) {
        for (i, first) in cosigned.enumerated() {
            for second in cosigned[(i + 1)...] {
                let (small, large) = first.size <= second.size ? (first, second) : (second, first)
                if small.size == large.size {
                    #expect(small.root == large.root, "two cosigned checkpoints at size \(small.size) with different roots; trace: \(trace)")
                    continue
                }
                if small.size == 0 { continue }  // every tree extends the empty one
                // The larger one is of one of the two branches; its ledger proves consistency or nothing does.
                let log = branches.first { (try? $0.ledger.root(size: large.size)) == large.root }
                guard let log else {
                    Issue.record("a cosigned checkpoint at size \(large.size) is of no branch; trace: \(trace)")
                    continue
                }
                let proof = (try? log.ledger.consistencyProof(from: small.size, to: large.size)) ?? []
                let consistent = (try? MerkleProofs.verifyConsistency(
                    size1: small.size, size2: large.size, root1: small.root, root2: large.root, proof: proof)) != nil
                #expect(consistent, "cosigned \(small.size) and \(large.size) are inconsistent; trace: \(trace)")
            }
        }
    }

    static func run(_ values: [UInt64], label: String = "property") throws {
        let directory = Fixtures.makeTemporaryDirectory("witness-property")
        var witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        var model = Model()
        var cosigned = [Checkpoint]()
        var history = [label]
        for value in values {
            let operation = Operation.decode(value, current: model.latest?.size ?? 0)
            history.append(operation.description)
            // Messages show the label and the last operations (the whole sequence replays from the seed).
            let trace = history.count > 13 ? [history[0], "…"] + history.suffix(12) : history
            switch operation {
            case .restart:
                witness.close()
                witness = try Fixtures.witness(directory: directory)
            case .submit(let branch, let old, let proofFrom, let size, _):
                let log = branches[branch]
                let note = try log.note(size: size)
                let head = try Fixtures.head(note)
                let proof = try log.proof(from: proofFrom, to: size)
                let answer = witness.addCheckpoint(Fixtures.body(old: old, proof: proof, note: note))
                let expected = model.status(old: old, proof: proof, head: head)
                #expect(answer.status == expected.status, "\(operation): \(answer), expected \(expected.status); trace: \(trace)")
                if let size = expected.size { #expect(answer.conflictSize == size, "\(operation): \(answer); trace: \(trace)") }
                if answer.isCosigned {
                    _ = try CheckedCosignature(answer.cosignature!, note: note)
                    cosigned.append(head)
                    model.latest = head
                }
            case .mutate(let branch, let old, let size, let position, let xor):
                var body = try branches[branch].body(old: old, size: size)
                body[position % body.count] ^= xor
                let answer = witness.addCheckpoint(body)
                if answer.isCosigned {
                    // A mutation that still reads as a signed request: whatever it says was cosigned.
                    let request = try AddCheckpoint(parsing: body)
                    let head = try Fixtures.head(request.note)
                    _ = try CheckedCosignature(answer.cosignature!, note: request.note)
                    cosigned.append(head)
                    model.latest = head
                }
            }
            let latest = witness.latest(origin: Fixtures.origin)
            #expect(latest?.size == model.latest?.size, "after \(operation); trace: \(trace)")
            if let latest { #expect(try Fixtures.head(latest.note) == model.latest, "after \(operation); trace: \(trace)") }
        }
        let trace = history.count > 13 ? [history[0], "…"] + history.suffix(12) : history
        checkPairwiseConsistency(cosigned, trace)
        // And the same over what the witness reports as its latest after a last restart.
        witness.close()
        witness = try Fixtures.witness(directory: directory)
        #expect(witness.latest(origin: Fixtures.origin)?.size == model.latest?.size, "after a final restart; trace: \(trace)")
    }

    @Test func noTwoCosignedCheckpointsAreInconsistent() async throws {
        try #require(try Self.branches[0].ledger.root(size: Self.forkAt) == Self.branches[1].ledger.root(size: Self.forkAt))
        try #require(try Self.branches[0].ledger.root(size: Self.forkAt + 1) != Self.branches[1].ledger.root(size: Self.forkAt + 1))
        await propertyCheck(count: 60, input: Gen.uint64().array(of: 1...30)) { values in
            try Self.run(values)
        }
    }

    /// The same with a plain seeded loop and longer sequences (a failure prints its seed;
    /// `PAHLAWAN_WITNESS_SEED` replays it).
    @Test func longSeededSequencesNeverCosignAFork() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["PAHLAWAN_WITNESS_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max)
        print("witness sequences: PAHLAWAN_WITNESS_SEED=\(seed)")
        var random = SeededRandom(seed: seed)
        for round in 0..<8 {
            let values = (0..<120).map { _ in random.next() }
            try Self.run(values, label: "PAHLAWAN_WITNESS_SEED=\(seed) round \(round)")
        }
    }
}
