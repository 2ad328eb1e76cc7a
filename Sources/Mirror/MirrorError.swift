import Ledger

/// The one error type of the Mirror module's own conditions: a stable code, a human reason,
/// and the PostgreSQL or ledger failure underneath when there is one. Nothing half-applied is
/// left whichever it is. `description` never includes entry payloads, so it is safe to log.
public struct MirrorError: Error, CustomStringConvertible {
    /// A stable, named error code; new codes may be added, existing ones never change meaning.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case postgresFailed, ledgerFailed, behindCheckpoint, anotherLedger, cursorMoved, notMigrated, reportQueryFailed
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// PostgreSQL refused a statement or cannot be reached (`postgres` holds its error).
        public static let postgresFailed = Code(.postgresFailed)
        /// Reading the ledger failed (`ledger` holds its error).
        public static let ledgerFailed = Code(.ledgerFailed)
        /// The mirror holds fewer entries than the checkpoint asked about: it must catch up first.
        public static let behindCheckpoint = Code(.behindCheckpoint)
        /// The mirror's entries are not this ledger's: the database mirrors another ledger.
        public static let anotherLedger = Code(.anotherLedger)
        /// Another mirror moved the cursor during this transaction; retrying continues from it.
        public static let cursorMoved = Code(.cursorMoved)
        /// The database has no cursor row: `migrate()` has not run on it.
        public static let notMigrated = Code(.notMigrated)
        /// A report query answered what no report can be (nothing, not an object, a seq beyond its checkpoint).
        public static let reportQueryFailed = Code(.reportQueryFailed)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let reason: String
    /// The PostgreSQL failure underneath `postgresFailed`.
    public var postgres: PostgresError?
    /// The ledger failure underneath `ledgerFailed`.
    public var ledger: LedgerError?

    public init(_ code: Code, _ reason: String, postgres: PostgresError? = nil, ledger: LedgerError? = nil) {
        self.code = code
        self.reason = reason
        self.postgres = postgres
        self.ledger = ledger
    }

    /// A PostgreSQL failure.
    public static func postgres(_ error: PostgresError) -> MirrorError { MirrorError(.postgresFailed, "\(error)", postgres: error) }

    /// A ledger failure.
    public static func ledger(_ error: LedgerError) -> MirrorError { MirrorError(.ledgerFailed, "\(error)", ledger: error) }

    public var description: String { "\(code): \(reason)" }
}
