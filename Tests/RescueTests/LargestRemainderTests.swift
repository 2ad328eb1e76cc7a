import PropertyBased
import Testing
@testable import Rescue

@Suite struct LargestRemainderTests {
    /// FORMAT §7.13's worked example: Rp 100,000 for 3 + 3 + 1 portions.
    @Test func theWorkedExample() {
        #expect(LargestRemainder.split(100_000, by: [3, 3, 1]) == [42_857, 42_857, 14_286])
        // Equal weights: the leftover rupiah go to the earlier parts.
        #expect(LargestRemainder.split(10, by: [1, 1, 1]) == [4, 3, 3])
        #expect(LargestRemainder.split(0, by: [2, 5]) == [0, 0])
        #expect(LargestRemainder.split(7, by: [0, 1]) == [0, 7])
    }

    @Test func outsideTheDomainIsRefused() {
        #expect(LargestRemainder.split(-1, by: [1]) == nil)
        #expect(LargestRemainder.split(1, by: []) == nil)
        #expect(LargestRemainder.split(1, by: [0, 0]) == nil)
        #expect(LargestRemainder.split(1, by: [-1, 2]) == nil)
        #expect(LargestRemainder.split(1, by: [Int64.max, 1]) == nil)
    }

    /// Shares sum to the total, each is its quota rounded down or up (recomputed here with
    /// 128-bit integers), and a part never pays more than an equal part before it.
    @Test func sharesSumToTheTotalAndStayWithinTheirQuotas() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...1_000_000_000), Gen.int(in: 1...100_000).array(of: 1...40)) { total, weights in
            let weights = weights.map(Int64.init)
            guard let shares = LargestRemainder.split(Int64(total), by: weights) else {
                Issue.record("refused \(total) by \(weights)")
                return
            }
            #expect(shares.reduce(0, +) == Int64(total))
            let sum = Int128(weights.reduce(0, +))
            for (index, share) in shares.enumerated() {
                let exact = Int128(total) * Int128(weights[index])
                let floor = exact / sum
                let ceiling = (exact + sum - 1) / sum
                #expect(Int128(share) >= floor && Int128(share) <= ceiling, "share \(index): \(share) for quota \(floor)…\(ceiling)")
                for earlier in 0..<index where weights[earlier] == weights[index] {
                    #expect(shares[earlier] >= share)
                }
            }
        }
    }
}
