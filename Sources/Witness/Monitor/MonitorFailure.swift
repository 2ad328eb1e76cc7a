import Foundation
import Ledger

/// Why a poll of the monitor failed. Every kind but `unavailable` and `badState` is evidence
/// against the log: something it signed (a checkpoint) disagrees with what it served or signed
/// before. Those failures name both checkpoint notes, the seq and the tile where it shows, and
/// are written to `<state>/evidence-<time>.txt` (`evidenceFile`).
public struct MonitorFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The checkpoint is not a signed note our log key verifies, or not a checkpoint of our origin.
        case badCheckpoint
        /// Fewer trusted witnesses cosigned the checkpoint than the quorum asks.
        case quorumNotMet
        /// The log serves a checkpoint of a smaller tree than one it signed before.
        case rollback
        /// The log signed two different trees of the same size.
        case fork
        /// An entry the checkpoint covers breaks the contract: not a canonical body, wrong seq,
        /// prev not the previous leaf hash, time going backwards, or another key id.
        case badEntry
        /// An entry bundle serves different bytes for an entry the verified checkpoint covers.
        case changedEntry
        /// A hash tile disagrees with the leaf hashes (or tile roots) of the entries served.
        case changedTile
        /// A tile or entry bundle that the checkpoint says exists is not served (404).
        case missingTile
        /// A tile or entry bundle is malformed (length, framing, number of entries).
        case badTile
        /// The root of the entries served is not the checkpoint's root.
        case rootMismatch
        /// The log could not be reached, or answered an error: no evidence, retry later.
        case unavailable
        /// The monitor's own state directory is unusable (locked, damaged, another log's).
        case badState
    }

    public let kind: Kind
    public let message: String
    /// The last checkpoint note this monitor verified (nil before the first).
    public var verifiedNote: String?
    /// The checkpoint note the log served in this poll.
    public var newNote: String?
    /// The entry concerned.
    public var seq: UInt64?
    /// The tile or entry bundle concerned, e.g. `tile/entries/004.p/17`.
    public var tilePath: String?
    /// Further lines of evidence (expected and served hashes, the entry's bytes).
    public var details: [String]
    /// Where the evidence was written, once it was.
    public var evidenceFile: String?

    public init(
        _ kind: Kind, _ message: String, verifiedNote: String? = nil, newNote: String? = nil, seq: UInt64? = nil, tilePath: String? = nil,
        details: [String] = []
    ) {
        self.kind = kind
        self.message = message
        self.verifiedNote = verifiedNote
        self.newNote = newNote
        self.seq = seq
        self.tilePath = tilePath
        self.details = details
    }

    /// Whether this failure is evidence against the log (written to an evidence file).
    public var isEvidence: Bool { kind != .unavailable && kind != .badState }

    /// The failure as the text of an evidence file (also what the command prints).
    public var report: String {
        var lines = ["pahlawan monitor: \(kind.rawValue): \(message)"]
        if let seq { lines.append("seq: \(seq)") }
        if let tilePath { lines.append("tile: \(tilePath)") }
        lines += details
        if isEvidence || verifiedNote != nil || newNote != nil {
            // The notes byte for byte between markers, so anyone can cut them out and check the signatures.
            lines.append("")
            lines.append("The checkpoint this monitor had verified:")
            lines.append(verifiedNote.map(Self.delimited) ?? "(none: the monitor had verified no checkpoint yet)")
            lines.append("The checkpoint the log served:")
            lines.append(newNote.map(Self.delimited) ?? "(none)")
        }
        if let evidenceFile { lines.append("evidence: \(evidenceFile)") }
        return lines.joined(separator: "\n") + "\n"
    }

    public var description: String { report }

    private static func delimited(_ note: String) -> String {
        "-----BEGIN NOTE-----\n" + note + (note.hasSuffix("\n") ? "" : "\n") + "-----END NOTE-----"
    }

    /// Writes `report` to `<directory>/evidence-<UTC time>.txt` (durably, never overwriting one).
    mutating func writeEvidence(directory: String, now: Int64) {
        var seconds = time_t(now / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let stamp = String(
            format: "%04d%02d%02dT%02d%02d%02d.%06dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour),
            Int(parts.tm_min), Int(parts.tm_sec), Int(now % 1_000_000))
        var path = directory + "/evidence-" + stamp + ".txt"
        var attempt = 1
        while FileIO.exists(path) {
            attempt += 1
            path = directory + "/evidence-" + stamp + "-\(attempt).txt"
        }
        do throws(LedgerError) {
            try FileIO.createExclusive(path, Array(report.utf8), mode: 0o644)
            evidenceFile = path
        } catch {
            details.append("(the evidence could not be written to \(path): \(error))")
        }
    }
}
