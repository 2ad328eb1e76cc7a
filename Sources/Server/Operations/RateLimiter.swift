import Foundation
import Synchronization

/// Token buckets keyed by caller: each key may burst up to its per-minute figure, then goes on
/// at that rate. Integer arithmetic in micro-tokens; idle buckets are dropped once full again.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var microTokens: Int64
        var updated: Int64
    }

    private struct Buckets {
        var byKey: [String: Bucket] = [:]
        var lastSweep: Int64 = 0

        /// Once a minute, forgets buckets untouched for a minute (they would be full again).
        mutating func sweep(now: Int64) {
            guard now - lastSweep > 60_000_000 else { return }
            lastSweep = now
            byKey = byKey.filter { now - $0.value.updated < 60_000_000 }
        }
    }

    private let buckets = Mutex(Buckets())
    private let clock: @Sendable () -> Int64

    /// `clock` gives microseconds (monotonic enough for refills; tests pass their own).
    public init(clock: @escaping @Sendable () -> Int64 = { Int64(DispatchTime.now().uptimeNanoseconds / 1000) }) {
        self.clock = clock
    }

    /// Takes one request from `key`'s bucket of `perMinute`; nil when allowed, otherwise the
    /// whole seconds until the next request would be allowed.
    public func take(_ key: String, perMinute: Int64) -> Int? {
        let capacity = perMinute * 1_000_000
        let now = clock()
        return buckets.withLock { buckets in
            buckets.sweep(now: now)
            var bucket = buckets.byKey[key] ?? Bucket(microTokens: capacity, updated: now)
            // perMinute tokens per 60 s = perMinute / 60 tokens per s = perMinute / 60 micro-tokens per µs.
            let refill = (now - bucket.updated) * perMinute / 60
            bucket.microTokens = min(capacity, bucket.microTokens + refill)
            bucket.updated = now
            guard bucket.microTokens >= 1_000_000 else {
                buckets.byKey[key] = bucket
                let missing = 1_000_000 - bucket.microTokens
                return Int((missing * 60 / perMinute + 999_999) / 1_000_000)
            }
            bucket.microTokens -= 1_000_000
            buckets.byKey[key] = bucket
            return nil
        }
    }
}
