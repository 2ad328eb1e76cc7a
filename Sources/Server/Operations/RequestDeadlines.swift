import Dispatch
import Synchronization

/// The request timeout of every request in flight, kept by one timer: a task group with a
/// sleeping task per request (the obvious way) cost a fifth of a small request's CPU in task
/// creation, timers and cancellation.
///
/// A request's handler registers the task it runs in; the timer cancels it once its deadline
/// has passed. A task is unregistered before it finishes, under the same lock the timer cancels
/// under, so the timer never touches a task that is gone.
final class RequestDeadlines: Sendable {
    /// How often the timer looks: a timed-out request is answered at most this much late.
    static let sweepNanoseconds: UInt64 = 100_000_000

    private struct Pending {
        let task: CurrentTaskHandle
        let deadline: UInt64
        /// Cancelled by the timer: the request is answered `timedOut`.
        var expired = false
    }

    private struct Registry {
        var nextID: UInt64 = 0
        var pending: [UInt64: Pending] = [:]
    }

    private let registry = Mutex(Registry())
    /// Set once; dispatch sources are thread-safe, the type is just not marked Sendable.
    nonisolated(unsafe) private let timer: DispatchSourceTimer

    init() {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "pahlawan.request-deadlines"))
        let interval = Int(Self.sweepNanoseconds)
        timer.schedule(deadline: .now() + .nanoseconds(interval), repeating: .nanoseconds(interval), leeway: .nanoseconds(interval / 4))
        timer.setEventHandler { [weak self] in self?.sweep() }
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Runs `body` in the current task (which must be one the caller may cancel alone: a child
    /// task, never a connection's), cancelling it `seconds` after the start (at the next sweep);
    /// throws `timedOut` when it was cancelled so, whatever `body` answered.
    func run<T>(seconds: Int, timedOut: @autoclosure () -> any Error, _ body: () async throws -> T) async throws -> T {
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(seconds) * 1_000_000_000
        let id = withUnsafeCurrentTask { task -> UInt64? in
            guard let task else { return nil }
            return registry.withLock { registry in
                let id = registry.nextID
                registry.nextID &+= 1
                registry.pending[id] = Pending(task: CurrentTaskHandle(task), deadline: deadline)
                return id
            }
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        let expired = id.map { id in
            registry.withLock { $0.pending.removeValue(forKey: id)?.expired ?? false }
        } ?? false
        if expired { throw timedOut() }
        return try result.get()
    }

    /// Requests registered and not yet finished (for tests).
    var pendingCount: Int { registry.withLock { $0.pending.count } }

    private func sweep() {
        let now = DispatchTime.now().uptimeNanoseconds
        registry.withLock { registry in
            for index in registry.pending.indices where !registry.pending.values[index].expired && registry.pending.values[index].deadline <= now {
                registry.pending.values[index].expired = true
                registry.pending.values[index].task.cancel()
            }
        }
    }
}

/// A running task, held only while it runs inside `RequestDeadlines.run` (unregistered before
/// that returns), so cancelling it from the timer's thread is safe.
private struct CurrentTaskHandle: @unchecked Sendable {
    let task: UnsafeCurrentTask
    init(_ task: UnsafeCurrentTask) { self.task = task }
    func cancel() { task.cancel() }
}
