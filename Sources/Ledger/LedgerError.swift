/// The one error type of the Ledger module: a stable code, a human reason, and where it happened.
/// `description` never includes entry payloads, so it is safe to log.
public struct LedgerError: Error, CustomStringConvertible, Equatable {
    /// A stable, named error code; new codes may be added, existing ones never change meaning.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case badKey, badNote, badCheckpoint, badEntry, bodyNotCanonical, bodyTooLarge, floatNotAllowed,
                nullNotAllowed, timeGoesBackwards, wrongPrev, wrongSeq, wrongKey, badSignature, damagedRecord,
                missingSegment, checkpointAhead, checkpointMismatch, inconsistentCheckpoint, storageFailure,
                notFound, alreadyExists, badRange, badBundle, proofFailed, readOnly, damagedIndex, damagedTile,
                pushback, closed, locked, badKeyRotation, untrustedKey
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let badKey = Code(.badKey)
        public static let badNote = Code(.badNote)
        public static let badCheckpoint = Code(.badCheckpoint)
        /// The body parses but breaks the entry contract (missing key, wrong type, bad kind…).
        public static let badEntry = Code(.badEntry)
        public static let bodyNotCanonical = Code(.bodyNotCanonical)
        public static let bodyTooLarge = Code(.bodyTooLarge)
        public static let floatNotAllowed = Code(.floatNotAllowed)
        public static let nullNotAllowed = Code(.nullNotAllowed)
        public static let timeGoesBackwards = Code(.timeGoesBackwards)
        public static let wrongPrev = Code(.wrongPrev)
        public static let wrongSeq = Code(.wrongSeq)
        public static let wrongKey = Code(.wrongKey)
        public static let badSignature = Code(.badSignature)
        /// A stored record fails its length or checksum check before the tail.
        public static let damagedRecord = Code(.damagedRecord)
        public static let missingSegment = Code(.missingSegment)
        /// The stored checkpoint covers more entries than the log holds: acknowledged entries are gone.
        public static let checkpointAhead = Code(.checkpointAhead)
        public static let checkpointMismatch = Code(.checkpointMismatch)
        public static let inconsistentCheckpoint = Code(.inconsistentCheckpoint)
        public static let storageFailure = Code(.storageFailure)
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        public static let badRange = Code(.badRange)
        public static let badBundle = Code(.badBundle)
        public static let proofFailed = Code(.proofFailed)
        public static let readOnly = Code(.readOnly)
        /// A seq→offset index file is missing, short, or points somewhere the log disagrees with.
        public static let damagedIndex = Code(.damagedIndex)
        /// A stored Merkle hash tile is missing, short, or disagrees with the log or checkpoint.
        public static let damagedTile = Code(.damagedTile)
        /// The append queue is full: retry later (HTTP maps this to 503 with Retry-After).
        public static let pushback = Code(.pushback)
        /// The ledger was closed, or its writer stopped after a storage failure.
        public static let closed = Code(.closed)
        /// Another process (or another `Ledger` in this one) is writing this data directory.
        public static let locked = Code(.locked)
        /// A `key.rotated` entry breaks a rule of FORMAT §10.7 (wrong signer, reused key, bad payload).
        public static let badKeyRotation = Code(.badKeyRotation)
        /// A checkpoint is signed by a key reported compromised for its size (FORMAT §10.7).
        public static let untrustedKey = Code(.untrustedKey)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let reason: String
    /// The entry the error concerns, when there is one.
    public var seq: UInt64?
    /// The file the error concerns, when there is one.
    public var file: String?

    public init(_ code: Code, _ reason: String, seq: UInt64? = nil, file: String? = nil) {
        self.code = code
        self.reason = reason
        self.seq = seq
        self.file = file
    }

    public var description: String {
        var parts = [String]()
        if let file { parts.append(file) }
        if let seq { parts.append("seq \(seq)") }
        parts.append("\(code): \(reason)")
        return parts.joined(separator: ": ")
    }
}
