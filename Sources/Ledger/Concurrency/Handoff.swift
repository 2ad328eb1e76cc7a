import Dispatch
import Synchronization

/// One value handed from the thread that computes it to the thread that waits for it: a
/// completion handler calls `fulfil` once, the waiter blocks in `wait`. It is the one place a
/// result crosses threads outside an async continuation, so no caller needs an unchecked box.
public final class Handoff<Value: Sendable>: Sendable {
    private let slot = Mutex<Value?>(nil)
    private let ready = DispatchSemaphore(value: 0)

    public init() {}

    /// Stores the value and wakes the waiter (a second call is a programming error).
    public func fulfil(_ value: Value) {
        slot.withLock { stored in
            precondition(stored == nil, "a handoff is fulfilled once")
            stored = value
        }
        ready.signal()
    }

    /// Blocks until the value is there, then returns it.
    public func wait() -> Value {
        ready.wait()
        return slot.withLock { $0! }
    }
}
