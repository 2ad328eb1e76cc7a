import Synchronization

/// A `Mutex` shared by reference, for state that escaping closures (threads, completion
/// handlers) capture; a `Mutex` itself is a value that cannot be captured that way.
public final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: sending Value) { mutex = Mutex(value) }

    /// Runs `body` with exclusive access to the value.
    public func withLock<Result: Sendable, E: Error>(_ body: (inout sending Value) throws(E) -> Result) throws(E) -> Result {
        try mutex.withLock { (value) throws(E) -> Result in try body(&value) }
    }
}
