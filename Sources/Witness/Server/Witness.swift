import Foundation
import Ledger

/// A C2SP tlog-witness: for each log it trusts (an origin and its verifier keys) it keeps the
/// latest checkpoint it cosigned, and cosigns a new one only if a consistency proof ties it to
/// that one. Checking and storing are atomic per origin and durable before any answer; a validly
/// signed but inconsistent checkpoint is refused and both notes are kept as evidence of a fork.
public final class Witness: Sendable {
    /// One answer to add-checkpoint (ledger/FORMAT.md §10.2).
    public enum Answer: Sendable, Equatable {
        /// 200: the cosignature lines.
        case cosigned(String)
        /// 400: the request is malformed.
        case badRequest(String)
        /// 403: no trusted key signed the checkpoint.
        case forbidden(String)
        /// 404: the origin is not a log this witness knows.
        case unknownLog(String)
        /// 409: the witness's latest cosigned size (`text/x.tlog.size`), with why.
        case conflict(size: UInt64, reason: String)
        /// 422: the consistency proof does not verify.
        case inconsistent(String)
        /// 503: the witness could not store the checkpoint (nothing was cosigned; retry later).
        case unavailable(String)
    }

    /// Evidence files kept at most: each is a refused, validly signed checkpoint, and anyone
    /// holding the log's checkpoints can send bad proofs, so the folder must not fill the disk.
    public static let evidenceCountMax = 10_000

    public let key: SigningKey
    public let directory: String
    private let logs: [String: (keys: [VerifierKey], log: Locked<CosignedLog>)]
    /// Held (flock) while the witness runs: a second process on the same state would break
    /// the atomic check-and-store between them.
    private let directoryLock: Locked<File>
    private let evidenceCount: Locked<Int>
    private let clock: @Sendable () -> UInt64
    /// Called after a checkpoint is stored and before it is answered (crash tests stop here).
    private let afterStore: @Sendable () -> Void

    /// Opens the witness's state in `directory` (one file per origin under `logs/`, fork
    /// evidence under `evidence/`), trusting each of `logKeys` for the origin that is its name.
    public init(
        key: SigningKey, logKeys: [VerifierKey], directory: String,
        clock: @escaping @Sendable () -> UInt64 = { UInt64(max(0, Ledger.wallClockMicroseconds() / 1_000_000)) },
        afterStore: @escaping @Sendable () -> Void = {}
    ) throws(LedgerError) {
        guard key.verifier.type == .cosignature else { throw LedgerError(.badKey, "a witness signs with a cosignature key (type 0x04)") }
        guard logKeys.allSatisfy({ $0.type == .ed25519 }) else { throw LedgerError(.badKey, "a log's verifier key is of type 0x01") }
        try FileIO.makeDirectories(directory + "/logs")
        try FileIO.makeDirectories(directory + "/evidence")
        directoryLock = Locked(try FileIO.lockExclusively(directory + "/lock"))
        evidenceCount = Locked(try FileIO.listDirectory(directory + "/evidence").filter { !$0.hasSuffix(".tmp") }.count)
        var logs = [String: (keys: [VerifierKey], log: Locked<CosignedLog>)]()
        for (origin, keys) in Dictionary(grouping: logKeys, by: \.name) {
            logs[origin] = (keys, Locked(try CosignedLog(path: directory + "/logs/" + Self.fileName(origin))))
        }
        self.key = key
        self.directory = directory
        self.logs = logs
        self.clock = clock
        self.afterStore = afterStore
    }

    /// The origins this witness cosigns for.
    public var origins: [String] { logs.keys.sorted() }

    /// The latest checkpoint cosigned for `origin` (size and the note as submitted).
    public func latest(origin: String) -> (size: UInt64, note: String)? {
        logs[origin]?.log.withLock { log in log.latest.map { ($0.head.size, $0.note) } }
    }

    /// Handles one add-checkpoint request body.
    public func addCheckpoint(_ body: [UInt8]) -> Answer {
        let request: AddCheckpoint
        let note: SignedNote
        let head: CheckpointHead
        do throws(AddCheckpoint.Malformed) {
            request = try AddCheckpoint(parsing: body)
            do throws(LedgerError) {
                note = try SignedNote(parsing: request.note)
            } catch {
                return .badRequest("the checkpoint is not a signed note: \(error.reason)")
            }
            head = try CheckpointHead(text: note.text)
        } catch {
            return .badRequest(error.description)
        }
        guard let log = logs[head.origin] else { return .unknownLog("this witness does not know the log \(head.origin)") }
        let message = Array(note.text.utf8)
        let signed = log.keys.contains { key in
            note.signatures.contains { $0.name == key.name && $0.keyID == key.id && key.isValidSignature($0.signature, for: message) }
        }
        guard signed else { return .forbidden("no signature on the checkpoint verifies with a key trusted for \(head.origin)") }
        guard request.oldSize <= head.size else { return .badRequest("old size \(request.oldSize) is larger than the checkpoint's size \(head.size)") }
        return log.log.withLock { log -> Answer in
            let latest = log.latest
            let latestSize = latest?.head.size ?? 0
            guard request.oldSize == latestSize else {
                return .conflict(size: latestSize, reason: "the latest checkpoint cosigned for this log has size \(latestSize)")
            }
            if let latest, request.oldSize == head.size {
                guard latest.head.root == head.root else {
                    keepEvidence(origin: head.origin, cosigned: latest.note, refused: request, reason: "same size \(head.size), different root", proves: true)
                    return .conflict(size: latestSize, reason: "a different root at the size already cosigned: a fork, kept as evidence")
                }
                // RFC 6962's proof between equal sizes is empty; any hash here is a proof that
                // does not verify (C2SP: 422), even though the roots match. It used to be ignored.
                guard request.proof.isEmpty else {
                    return .inconsistent("the proof between equal sizes \(head.size) is empty")
                }
            } else if let latest, latest.head.size == 0 {
                // Every tree extends the empty one, and C2SP requires the proof from old size 0 to
                // be empty. RFC 9162's verifier refuses any proof from size 0 (`emptyOldTree`), so
                // a witness that had cosigned a new log's size-0 checkpoint answered 422 to every
                // later one and never cosigned that log again.
                guard request.proof.isEmpty else { return .inconsistent("the proof from size 0 is empty") }
            } else if let latest {
                do throws(MerkleProofs.Failure) {
                    try MerkleProofs.verifyConsistency(
                        size1: latest.head.size, size2: head.size, root1: latest.head.root, root2: head.root, proof: request.proof)
                } catch {
                    keepEvidence(origin: head.origin, cosigned: latest.note, refused: request, reason: "the consistency proof does not verify", proves: false)
                    return .inconsistent("the consistency proof from \(latest.head.size) to \(head.size) does not verify")
                }
            } else if !request.proof.isEmpty {
                // Every tree extends the empty one; C2SP requires the proof from 0 to be empty.
                return .inconsistent("the proof from size 0 is empty")
            }
            do throws(LedgerError) {
                try log.store(head, note: request.note)
            } catch {
                // Not stored, not cosigned: the client retries. The witness stays consistent.
                return .unavailable("the witness could not store the checkpoint: \(error.reason)")
            }
            afterStore()
            let cosignature = Cosignature.sign(checkpointText: note.text, key: key, time: clock())
            return .cosigned(SignedNote.line(cosignature))
        }
    }

    /// Writes the two conflicting notes (and the proof) under `evidence/`, synced. A failure to
    /// keep evidence does not change the answer: the checkpoint is refused either way.
    /// `proves`: two notes signed by the log for one size with two roots prove a fork by
    /// themselves and nobody but the log's key holder can make them, so they are always kept; a
    /// proof that does not verify is a claim (anyone can send random hashes), kept once per pair
    /// of checkpoints and within `evidenceCountMax`, so claims cannot crowd out a proof.
    private func keepEvidence(origin: String, cosigned: String, refused: AddCheckpoint, reason: String, proves: Bool) {
        let text = """
            pahlawan witness fork evidence v1
            origin \(origin)
            reason \(reason)
            witness \(key.verifier.text)
            observed \(clock())

            -- the checkpoint this witness had cosigned --
            \(cosigned)
            -- the add-checkpoint request it refused --
            \(String(decoding: refused.body, as: UTF8.self))
            """
        // Named by time (zero-padded, so names sort oldest first) and by the digest of the two
        // notes (not the proof: random proof hashes must not make new files).
        let digest = SHA256.hash(Array((cosigned + "\u{0}" + refused.note).utf8)).hex
        let time = String(clock())
        let name = String(repeating: "0", count: max(0, 20 - time.count)) + time + "-" + String(digest.prefix(32))
        evidenceCount.withLock { count in
            guard proves || count < Self.evidenceCountMax else { return }
            let existing = (try? FileIO.listDirectory(directory + "/evidence")) ?? []
            guard !existing.contains(where: { $0.hasSuffix(digest.prefix(32)) }) else { return }
            if (try? FileIO.writeAtomically(directory + "/evidence/" + name, Array(text.utf8))) != nil { count += 1 }
        }
    }

    /// Every piece of fork evidence kept, oldest first (file contents).
    public func evidence() throws(LedgerError) -> [String] {
        // A crash in an atomic write leaves a `.tmp` file: it is not evidence.
        try FileIO.listDirectory(directory + "/evidence").filter { !$0.hasPrefix(".") && !$0.hasSuffix(".tmp") }.sorted().map { (name) throws(LedgerError) in
            String(decoding: try FileIO.readAll(directory + "/evidence/" + name), as: UTF8.self)
        }
    }

    public func close() {
        for (_, log) in logs { log.log.withLock { $0.close() } }
        directoryLock.withLock { $0.close() }
    }

    /// A file name for `origin`: hex SHA-256, so no origin can name a path.
    static func fileName(_ origin: String) -> String { SHA256.hash(Array(origin.utf8)).hex }
}
