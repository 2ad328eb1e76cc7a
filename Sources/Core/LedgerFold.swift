import Ledger
import Synchronization

/// A projection of the ledger kept up to date incrementally: `state` holds the fold of entries
/// `0 ..< folded`; each read first folds what was appended since (once, under the lock), so
/// no reader rescans the ledger. The carbon index, the subject log and the report facts are
/// each one of these, differing only in their state and their per-entry step.
public final class LedgerFold<State>: Sendable {
    /// One entry's step: its seq and exact body bytes folded into the state.
    public typealias Step = @Sendable (inout State, _ seq: UInt64, _ body: [UInt8]) throws(LedgerError) -> Void

    /// The state and the number of entries it covers, always changed together.
    private struct Folded {
        var state: State
        var count: UInt64 = 0
    }

    private let folded: Mutex<Folded>
    private let step: Step

    public init(_ initial: sending State, step: @escaping Step) {
        folded = Mutex(Folded(state: initial))
        self.step = step
    }

    /// How many entries the state covers.
    public var foldedSize: UInt64 { folded.withLock { $0.count } }

    /// Folds `ledger` up to `size` (never back: a smaller size reads the state as it is), then
    /// reads the state. The state always covers exactly the entries counted as folded: a step
    /// that throws leaves both at the entry before it.
    /// - Throws: the ledger's error for an entry it cannot read, or the one a step throws.
    public func read<Value: Sendable>(_ ledger: Ledger, upTo size: UInt64, _ body: (State) -> Value) throws(LedgerError) -> Value {
        try folded.withLock { (folded) throws(LedgerError) -> Value in
            if folded.count < size {
                try ledger.forEachBodySlice(from: folded.count, to: size) { (slice) throws(LedgerError) in
                    for (seq, bytes) in slice {
                        try step(&folded.state, seq, bytes)
                        folded.count = seq + 1
                    }
                }
            }
            return body(folded.state)
        }
    }
}
