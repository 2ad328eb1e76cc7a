import Compliance
import Foundation
import Ledger
import Synchronization

/// Keeps a mirror caught up with a live ledger on a thread of its own (`pahlawan serve
/// --postgres`): writers never wait for PostgreSQL, and when it is away the follower retries
/// with backoff (0.5 s doubling to 30 s) and catches up when it returns.
public final class MirrorFollower: Sendable {
    private let appliedCount = Atomic<UInt64>(0)
    private let stopped = Atomic<Bool>(false)
    private let lastError = Mutex<String?>(nil)

    public init() {}

    /// Entries the mirror holds, as last seen.
    public var applied: UInt64 { appliedCount.load(ordering: .relaxed) }
    /// The last failure, until the next success.
    public var failure: String? { lastError.withLock { $0 } }

    /// Starts following `ledger` into the database at `url`, checking every `interval` seconds;
    /// with a `masker`, each (re)connection installs the role views masked by it.
    public func start(ledger: Ledger, url: String, masker: Masker? = nil, interval: Double = 0.2, report: @escaping @Sendable (String) -> Void) {
        Thread.detachNewThread { [self] in
            var backoff = 0.5
            while !stopped.load(ordering: .relaxed) {
                do {
                    let mirror = Mirror(connection: try PostgresConnection(url: url))
                    try mirror.migrate()
                    if let masker { try mirror.installRoleViews(masker: masker) }
                    appliedCount.store(try mirror.applied(), ordering: .relaxed)
                    lastError.withLock { $0 = nil }
                    backoff = 0.5
                    while !stopped.load(ordering: .relaxed) {
                        appliedCount.store(try mirror.catchUp(from: ledger), ordering: .relaxed)
                        Thread.sleep(forTimeInterval: interval)
                    }
                } catch {
                    lastError.withLock { $0 = "\(error)" }
                    report("mirror: \(error); retrying in \(backoff) s")
                    Thread.sleep(forTimeInterval: backoff)
                    backoff = min(30, backoff * 2)
                }
            }
        }
    }

    /// Stops after the current round.
    public func stop() { stopped.store(true, ordering: .relaxed) }
}
