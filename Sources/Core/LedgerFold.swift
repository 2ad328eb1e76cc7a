import Foundation
import Ledger

/// A projection of the ledger kept up to date incrementally: `state` holds the fold of entries
/// `0 ..< folded`; each read first folds what was appended since (once, under the lock), so
/// no reader rescans the ledger. The carbon index, the subject log and the report facts are
/// each one of these, differing only in their state and their per-entry step.
public final class LedgerFold<State>: @unchecked Sendable {
    /// One entry's step: its seq and exact body bytes folded into the state.
    public typealias Step = (inout State, _ seq: UInt64, _ body: [UInt8]) throws(LedgerError) -> Void

    // The only shared mutable state is `state` and `folded`, always together under `lock`.
    private let lock = NSLock()
    private var state: State
    private var folded: UInt64 = 0
    private let step: Step

    public init(_ initial: State, step: @escaping Step) {
        state = initial
        self.step = step
    }

    /// How many entries the state covers.
    public var foldedSize: UInt64 { lock.withLock { folded } }

    /// Folds `ledger` up to `size` (never back: a smaller size reads the state as it is), then
    /// reads the state. The state always covers exactly the entries counted as folded: a step
    /// that throws leaves both at the entry before it.
    /// - Throws: the ledger's error for an entry it cannot read, or the one a step throws.
    public func read<Value>(_ ledger: Ledger, upTo size: UInt64, _ body: (State) -> Value) throws(LedgerError) -> Value {
        lock.lock()
        defer { lock.unlock() }
        if folded < size {
            try ledger.forEachBodySlice(from: folded, to: size) { (slice) throws(LedgerError) in
                for (seq, bytes) in slice {
                    try step(&state, seq, bytes)
                    folded = seq + 1
                }
            }
        }
        return body(state)
    }
}
