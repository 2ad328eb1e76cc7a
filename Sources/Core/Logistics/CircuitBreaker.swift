import Synchronization

/// A circuit breaker in front of an external service (FORMAT §7.16): closed, it lets calls
/// through and counts consecutive failures; at `failuresToOpen` it opens and refuses calls for
/// `openMicroseconds`; then it lets one trial call through (half-open), which closes it on
/// success or opens it again on failure. Times come from the caller (the service's clock).
public final class CircuitBreaker: Sendable {
    public enum State: Equatable, Sendable {
        case closed(failures: Int)
        case open(until: Int64)
        /// One trial call is out; others are refused until it reports.
        case halfOpen
    }

    private let failuresToOpen: Int
    private let openMicroseconds: Int64
    private let state = Mutex(State.closed(failures: 0))

    public init(failuresToOpen: Int, openMicroseconds: Int64) {
        self.failuresToOpen = max(1, failuresToOpen)
        self.openMicroseconds = openMicroseconds
    }

    public var current: State { state.withLock { $0 } }

    /// Whether a call may go out at `now`; a yes from an open breaker past its time is the
    /// half-open trial, and the caller must report its outcome.
    public func allows(now: Int64) -> Bool {
        state.withLock { state in
            switch state {
            case .closed: return true
            case .halfOpen: return false
            case .open(let until):
                guard now >= until else { return false }
                state = .halfOpen
                return true
            }
        }
    }

    public func succeeded() { state.withLock { $0 = .closed(failures: 0) } }

    public func failed(now: Int64) {
        state.withLock { state in
            switch state {
            case .closed(let failures):
                state = failures + 1 >= failuresToOpen ? .open(until: now + openMicroseconds) : .closed(failures: failures + 1)
            case .halfOpen, .open:
                state = .open(until: now + openMicroseconds)
            }
        }
    }
}
