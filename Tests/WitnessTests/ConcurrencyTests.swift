import Foundation
import Ledger
import Testing
import Witness

/// The race C2SP warns about: checking `old` and storing the new checkpoint must be one step,
/// or two requests that both claim the same old size are both cosigned and the later store
/// rolls the witness back. Requests run on real threads released at once.
@Suite struct ConcurrencyTests {
    /// Runs `work(0..<count)` on `count` threads that all start together; returns when all end.
    static func concurrently(_ count: Int, _ work: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for index in 0..<count {
            group.enter()
            Thread {
                start.wait()
                work(index)
                group.leave()
            }.start()
        }
        for _ in 0..<count { start.signal() }
        group.wait()
    }

    /// Samples the witness's size on its own thread while `body` runs; returns each change seen.
    static func sampling(_ witness: Witness, during body: () -> Void) -> [UInt64] {
        let samples = Locked([UInt64]())
        let running = Locked(true)
        let done = DispatchSemaphore(value: 0)
        Thread {
            var last: UInt64?
            while running.withLock({ $0 }) {
                let size = witness.latest(origin: Fixtures.origin)?.size ?? 0
                // Only changes are kept: enough to see a step backwards.
                if size != last { samples.withLock { $0.append(size) } }
                last = size
            }
            done.signal()
        }.start()
        body()
        running.withLock { $0 = false }
        done.wait()
        return samples.withLock { $0 }
    }

    @Test func ofManyRequestsClaimingTheSameOldSizeExactlyOneIsCosigned() throws {
        let log = try TestLog()
        _ = try log.grow(to: 200)
        let witness = try Fixtures.witness()
        defer { witness.close() }
        #expect(witness.addCheckpoint(try log.body(old: 0, size: 1)).isCosigned)
        var current: UInt64 = 1
        for round in 0..<10 {
            let targets = (1...16).map { current + UInt64($0) }
            let bodies = try targets.map { try log.body(old: current, size: $0) }
            let answers = Locked([Witness.Answer?](repeating: nil, count: targets.count))
            let samples = Self.sampling(witness) {
                Self.concurrently(targets.count) { index in
                    let answer = witness.addCheckpoint(bodies[index])
                    answers.withLock { $0[index] = answer }
                }
            }
            let all = answers.withLock { $0 }.map { $0! }
            let winners = all.indices.filter { all[$0].isCosigned }
            try #require(winners.count == 1, "round \(round): \(winners.count) of \(targets.count) requests with old \(current) were cosigned")
            let winner = targets[winners[0]]
            for (index, answer) in all.enumerated() where index != winners[0] {
                #expect(answer.conflictSize == winner, "round \(round): request to \(targets[index]) got \(answer), the winner is \(winner)")
            }
            #expect(witness.latest(origin: Fixtures.origin)?.size == winner)
            #expect(zip(samples, samples.dropFirst()).allSatisfy { $0 <= $1 }, "round \(round): the stored size went backwards")
            current = winner
        }
    }

    /// A chain of checkpoints, each sent (twice, by two clients) with old = its predecessor's
    /// size; a client whose predecessor is not stored yet retries. Every link is cosigned exactly
    /// once, and the witness never stands at a size it then leaves backwards.
    @Test func aChainSentOutOfOrderIsCosignedExactlyOnceInOrder() throws {
        let log = try TestLog()
        let sizes: [UInt64] = [3] + (1...24).map { 3 + UInt64($0) * 7 }
        _ = try log.grow(to: sizes.last!)
        let witness = try Fixtures.witness()
        defer { witness.close() }
        #expect(witness.addCheckpoint(try log.body(old: 0, size: sizes[0])).isCosigned)
        let bodies = try (1..<sizes.count).map { try log.body(old: sizes[$0 - 1], size: sizes[$0]) }
        // Per link: how many 200s, and the order in which links were cosigned.
        let cosigned = Locked([Int]())
        let wrongConflicts = Locked([String]())
        let requests = bodies.count * 2
        let samples = Self.sampling(witness) {
            Self.concurrently(requests) { request in
                let link = request % bodies.count
                let (old, new) = (sizes[link], sizes[link + 1])
                for _ in 0..<100_000 {
                    let answer = witness.addCheckpoint(bodies[link])
                    if answer.isCosigned {
                        cosigned.withLock { $0.append(link) }
                        return
                    }
                    guard let size = answer.conflictSize else {
                        wrongConflicts.withLock { $0.append("\(old) → \(new): \(answer)") }
                        return
                    }
                    if size >= new { return }  // the other client sent this link first
                    if size > old || !sizes.contains(size) {
                        wrongConflicts.withLock { $0.append("\(old) → \(new): 409 with \(size)") }
                        return
                    }
                    usleep(UInt32.random(in: 50...500))
                }
                wrongConflicts.withLock { $0.append("\(old) → \(new): never cosigned") }
            }
        }
        #expect(wrongConflicts.withLock { $0 } == [])
        // Recorded after each answer, so the order of recording is not the order of storing
        // (that one is what the samples show): each link exactly once.
        let order = cosigned.withLock { $0 }
        #expect(order.sorted() == Array(0..<bodies.count), "each link cosigned exactly once: \(order.sorted())")
        #expect(witness.latest(origin: Fixtures.origin)?.size == sizes.last)
        #expect(zip(samples, samples.dropFirst()).allSatisfy { $0 <= $1 }, "the stored size went backwards")
        #expect(Set(samples).isSubset(of: Set(sizes)), "the witness only ever stood at sizes of the chain")
    }
}
