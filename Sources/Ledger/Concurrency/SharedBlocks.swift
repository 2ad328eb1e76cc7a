import Dispatch
import Synchronization

/// `[element(0), …, element(count - 1)]` computed in blocks that any number of threads take in
/// turn: background threads start on it (`help`), and the thread that needs the result helps
/// with whatever is left instead of waiting idle (`wait`). A pipeline whose consumer would
/// otherwise sleep while its producer works keeps both cores busy this way (issue 19: replay's
/// decoding thread was the bottleneck while the applying thread slept a quarter of the time).
public final class SharedBlocks<Element: Sendable>: @unchecked Sendable {
    // @unchecked: `storage` is written only at the indices of a block its claimer holds, and
    // read only after every block has finished (the semaphore orders those writes first).
    private let count: Int
    private let blockSize: Int
    private let blockCount: Int
    private let element: @Sendable (Int) -> Element
    private let storage: UnsafeMutablePointer<Element>
    private struct Progress {
        var nextBlock = 0
        var finishedBlocks = 0
        var taken = false
    }
    private let progress = Mutex(Progress())
    private let finished = DispatchSemaphore(value: 0)

    public init(count: Int, blockSize: Int, _ element: @escaping @Sendable (Int) -> Element) {
        precondition(count >= 0 && blockSize > 0)
        self.count = count
        self.blockSize = blockSize
        blockCount = (count + blockSize - 1) / blockSize
        self.element = element
        storage = .allocate(capacity: max(1, count))
        if blockCount == 0 { finished.signal() }
    }

    /// Computes blocks until none is left to take.
    public func help() {
        while let block = takeBlock() {
            let range = block * blockSize..<min(count, (block + 1) * blockSize)
            for index in range { (storage + index).initialize(to: element(index)) }
            let isLast = progress.withLock { state in
                state.finishedBlocks += 1
                return state.finishedBlocks == blockCount
            }
            if isLast { finished.signal() }
        }
    }

    /// Helps, then waits for the blocks other threads hold, and returns every element in order.
    /// Called at most once.
    public func wait() -> [Element] {
        help()
        finished.wait()
        progress.withLock { state in
            precondition(!state.taken, "SharedBlocks.wait is called once")
            state.taken = true
        }
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { buffer.baseAddress!.moveInitialize(from: storage, count: count) }
            initialized = count
        }
    }

    private func takeBlock() -> Int? {
        progress.withLock { state in
            guard state.nextBlock < blockCount else { return nil }
            state.nextBlock += 1
            return state.nextBlock - 1
        }
    }

    deinit {
        // Every block taken has finished by now (its taker held a reference until it had);
        // elements not moved out by `wait` are destroyed here.
        let state = progress.withLock { $0 }
        if !state.taken {
            let initialized = min(count, state.nextBlock * blockSize)
            storage.deinitialize(count: initialized)
        }
        storage.deallocate()
    }
}
