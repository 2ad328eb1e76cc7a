import Dispatch

/// Work spread over every core by contiguous chunks of indices. Hashing and Ed25519 signing and
/// checking dominate appends, verification and recovery, so they run here; `map` is the one place
/// that shares a result array across threads.
public enum Parallel {
    /// Calls `body` once for each of `chunkCount` contiguous ranges that together cover `0..<count`,
    /// concurrently, and returns when all have finished.
    public static func forEachChunk(of count: Int, chunkCount: Int, _ body: @Sendable (Range<Int>) -> Void) {
        precondition(count >= 0 && chunkCount > 0)
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            body(count * chunk / chunkCount..<count * (chunk + 1) / chunkCount)
        }
    }

    /// The array `[element(0), …, element(count - 1)]`, computed in `chunkCount` chunks at once.
    public static func map<Element: Sendable>(count: Int, chunkCount: Int, _ element: @Sendable (Int) -> Element) -> [Element] {
        guard count > 0 else { return [] }
        return [Element](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            // Safe to share: the chunks are disjoint, so each element is written by exactly one
            // thread, and nothing reads the buffer until every chunk has finished.
            nonisolated(unsafe) let buffer = buffer
            forEachChunk(of: count, chunkCount: chunkCount) { range in
                for index in range { (buffer.baseAddress! + index).initialize(to: element(index)) }
            }
            initializedCount = count
        }
    }
}
