import Dispatch
import Synchronization
import Testing
@testable import Ledger

@Suite struct SharedBlocksTests {
    /// Counts the instances alive, to show that elements are neither leaked nor destroyed twice.
    final class Tracked: Sendable {
        static let alive = Atomic<Int>(0)
        let value: Int
        init(_ value: Int) {
            self.value = value
            Self.alive.add(1, ordering: .relaxed)
        }
        deinit { Self.alive.subtract(1, ordering: .relaxed) }
    }

    @Test(arguments: [(0, 1), (1, 1), (255, 256), (256, 256), (257, 256), (1_000, 1), (10_000, 7), (10_000, 256)])
    func everyElementIsComputedOnceAndReturnedInOrder(count: Int, blockSize: Int) {
        for helperCount in [0, 1, 3] {
            let calls = Mutex([Int](repeating: 0, count: count))
            let blocks = SharedBlocks(count: count, blockSize: blockSize) { index in
                calls.withLock { $0[index] += 1 }
                return index &* 31 &+ 7
            }
            let group = DispatchGroup()
            for _ in 0..<helperCount {
                DispatchQueue.global().async(group: group) { blocks.help() }
            }
            let values = blocks.wait()
            group.wait()
            #expect(values == (0..<count).map { $0 &* 31 &+ 7 }, "count \(count), block \(blockSize), helpers \(helperCount)")
            #expect(calls.withLock { $0.allSatisfy { $0 == 1 } }, "an element computed other than once")
        }
    }

    @Test func elementsNeverTakenOrNeverComputedAreNotLeaked() {
        let before = Tracked.alive.load(ordering: .relaxed)
        do {
            // Computed by a helper, never taken by `wait`: destroyed with the blocks.
            let helped = SharedBlocks(count: 1_000, blockSize: 64) { Tracked($0) }
            helped.help()
            // Never computed at all.
            _ = SharedBlocks(count: 1_000, blockSize: 64) { Tracked($0) }
            // Taken: the caller owns them, and the blocks destroy none.
            let taken = SharedBlocks(count: 500, blockSize: 64) { Tracked($0) }.wait()
            #expect(taken.map(\.value) == Array(0..<500))
            #expect(Tracked.alive.load(ordering: .relaxed) - before == 1_500)
        }
        #expect(Tracked.alive.load(ordering: .relaxed) == before)
    }
}
