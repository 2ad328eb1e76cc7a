import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import NIOCore
import Testing
import Witness

/// Keys, logs and witnesses the witness tests share. Everything a test checks is built from a
/// real `Ledger` (its roots, its consistency proofs, its signed checkpoints), never from the
/// witness's own code paths.
enum Fixtures {
    static let origin = "witness-tests.example/log"
    /// The log's key: both branches of a split view are signed with it.
    static let logKey = try! SigningKey(name: origin, seed: [UInt8](repeating: 7, count: 32))
    /// A key with the log's name that the witness does not trust.
    static let impostorKey = try! SigningKey(name: origin, seed: [UInt8](repeating: 8, count: 32))
    /// A log the witness was never told about.
    static let strangerKey = try! SigningKey(name: "stranger.example/log", seed: [UInt8](repeating: 11, count: 32))
    static let witnessKey = try! SigningKey(name: "witness.example/w1", seed: [UInt8](repeating: 9, count: 32), type: .cosignature)
    /// The injected clock (POSIX seconds) every in-process witness answers with.
    static let now: UInt64 = 1_790_000_123

    static func makeTemporaryDirectory(_ label: String = "witness") -> String {
        let path = NSTemporaryDirectory() + "pahlawan-\(label)-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A witness over `directory` (fresh when nil) trusting the test log's key.
    static func witness(directory: String? = nil, logKeys: [VerifierKey] = [logKey.verifier]) throws -> Witness {
        try Witness(key: witnessKey, logKeys: logKeys, directory: directory ?? makeTemporaryDirectory(), clock: { now })
    }

    /// The one file under `<directory>/logs/` (the witness keeps one per origin).
    static func logFile(in directory: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/logs").filter { !$0.hasPrefix(".") }
        try #require(names.count == 1, "one origin, one log file: \(names)")
        return directory + "/logs/" + names[0]
    }

    /// The files under `<directory>/evidence/`, read as text.
    static func evidenceFiles(in directory: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/evidence").filter { !$0.hasPrefix(".") }
        return try names.sorted().map { try String(contentsOfFile: directory + "/evidence/" + $0, encoding: .utf8) }
    }

    static func body(old: UInt64, proof: [Hash] = [], note: String) -> [UInt8] {
        AddCheckpoint(oldSize: old, proof: proof, note: note).body
    }

    /// A note by the log's key over an arbitrary text (for checkpoints no ledger would sign).
    static func signed(_ text: String, with key: SigningKey = logKey) -> String {
        try! SignedNote.sign(text: text, with: key).serialized
    }

    /// The checkpoint (origin, size, root) of a note the witness was sent or answered about.
    static func head(_ note: String) throws -> Checkpoint {
        try Checkpoint(text: SignedNote(parsing: note).text)
    }
}

/// A real ledger signed by the test log's key. Entries before `forkAt` are the same in every
/// `TestLog` (same drafts, same key, deterministic signatures, so the same leaves); from
/// `forkAt` on they carry `branch`, so two logs with different branches diverge there while
/// both sign checkpoints with the same key and origin: a split view.
final class TestLog: @unchecked Sendable {
    // @unchecked: the ledger is Sendable; `path`, `branch` and `forkAt` never change.
    let path: String
    let ledger: Ledger
    let branch: String
    let forkAt: UInt64

    init(branch: String = "A", forkAt: UInt64 = .max) throws {
        path = Fixtures.makeTemporaryDirectory("witness-log")
        ledger = try Ledger(directory: DataDirectory(path), signer: Fixtures.logKey)
        self.branch = branch
        self.forkAt = forkAt
    }

    deinit { ledger.close() }

    var size: UInt64 { ledger.size }

    /// Appends entries until the log holds `size` of them, then signs a checkpoint; returns its note.
    @discardableResult
    func grow(to size: UInt64) throws -> String {
        precondition(size >= ledger.size)
        if size > ledger.size {
            try ledger.append((ledger.size..<size).map(draft))
        }
        let note = try ledger.checkpoint()
        let head = try Fixtures.head(note)
        precondition(head.size == size, "the checkpoint covers every entry appended")
        return note
    }

    private func draft(_ number: UInt64) -> EntryDraft {
        let tag = number < forkAt ? "common" : branch
        return EntryDraft(
            time: 1_795_453_200_000_000 + Int64(number) * 1_000, kind: "surplus.posted", actor: "prv-jkt-\(number % 40)",
            payload: ["offer": .string("off-\(number)-\(tag)"), "grams": .integer(Int64(1_000 + number)), "priceRupiah": 0])
    }

    /// A checkpoint of this log at `size` (≤ its size), signed by the log's key: the ledger's
    /// own note when it signed one at that size, else one over the ledger's root at that size.
    func note(size: UInt64) throws -> String {
        if let stored = try ledger.checkpointNote(size: size) { return stored }
        return try Checkpoint(origin: Fixtures.origin, size: size, root: ledger.root(size: size)).sign(with: Fixtures.logKey).serialized
    }

    func proof(from old: UInt64, to new: UInt64) throws -> [Hash] {
        old == 0 || old == new ? [] : try ledger.consistencyProof(from: old, to: new)
    }

    /// The add-checkpoint body a correct client sends to move a witness from `old` to `size`.
    func body(old: UInt64, size: UInt64) throws -> [UInt8] {
        Fixtures.body(old: old, proof: try proof(from: old, to: size), note: try note(size: size))
    }
}

/// What a cosignature answer says, checked as a client must check it.
struct CheckedCosignature {
    let time: UInt64
    let line: String

    /// Checks that `answer` is exactly one `— <witness name> <base64>` line ending in a
    /// newline, 4 + 8 + 64 bytes, verifying with `Cosignature.verify` over `note`'s text.
    init(_ answer: String, note: String, key: VerifierKey = Fixtures.witnessKey.verifier, now: UInt64 = Fixtures.now,
         sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(answer.hasSuffix("\n"), "the answer ends in a newline", sourceLocation: sourceLocation)
        let lines = answer.split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.count == 2 && lines[1].isEmpty, "exactly one signature line: \(answer.debugDescription)", sourceLocation: sourceLocation)
        let prefix = "\u{2014} \(key.name) "
        try #require(lines[0].hasPrefix(prefix), "the line is `— <witness name> <base64>`: \(lines[0])", sourceLocation: sourceLocation)
        let material = try #require(Base64.decode(String(lines[0].dropFirst(prefix.count))), sourceLocation: sourceLocation)
        #expect(material.count == 4 + 8 + 64, "key id, time and signature", sourceLocation: sourceLocation)
        #expect(Array(material.prefix(4)) == key.id.bytes, "the witness's key id", sourceLocation: sourceLocation)
        let signatures = try SignedNote.parseLines(answer)
        try #require(signatures.count == 1, sourceLocation: sourceLocation)
        let text = try SignedNote(parsing: note).text
        let time = try #require(
            Cosignature.verify(signatures[0], checkpointText: text, key: key, now: now), "the cosignature verifies over the checkpoint's text",
            sourceLocation: sourceLocation)
        // And a client that appends the answer to the note finds it too (the spec's suggestion).
        let cosigned = try SignedNote(parsing: note + answer)
        #expect(try WitnessQuorum(keys: [key], quorum: 1).cosigners(of: cosigned, now: now) == [key], sourceLocation: sourceLocation)
        self.time = time
        self.line = String(lines[0])
    }
}

extension Witness.Answer {
    var cosignature: String? { if case .cosigned(let lines) = self { lines } else { nil } }
    var conflictSize: UInt64? { if case .conflict(let size, _) = self { size } else { nil } }
    var isCosigned: Bool { cosignature != nil }
    var isBadRequest: Bool { if case .badRequest = self { true } else { false } }
    var isForbidden: Bool { if case .forbidden = self { true } else { false } }
    var isInconsistent: Bool { if case .inconsistent = self { true } else { false } }

    /// The HTTP status the router answers with.
    var status: Int {
        switch self {
        case .cosigned: 200
        case .badRequest: 400
        case .forbidden: 403
        case .unknownLog: 404
        case .conflict: 409
        case .inconsistent: 422
        case .unavailable: 503
        }
    }
}

/// Posts add-checkpoint bodies through the witness's real Hummingbird router.
enum WitnessHTTP {
    static func post(_ client: some TestClientProtocol, _ body: [UInt8]) async throws -> TestResponse {
        try await client.execute(uri: "/add-checkpoint", method: .post, body: ByteBuffer(bytes: body))
    }

    /// Checks a problem+json answer: status, Content-Type, and its `type` and `status` fields.
    static func expectProblem(
        _ response: TestResponse, _ status: HTTPResponse.Status, _ type: String, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let text = String(buffer: response.body)
        #expect(response.status == status, "\(what): \(response.status) \(text)", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/problem+json", "\(what)", sourceLocation: sourceLocation)
        let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        #expect(json?["type"] as? String == "https://pahlawan-pangan.id/problems/witness/\(type)", "\(what): \(text)", sourceLocation: sourceLocation)
        #expect(json?["status"] as? Int == Int(status.code), "\(what): \(text)", sourceLocation: sourceLocation)
    }

    /// Checks a 409 answer: exactly `<size>\n`, Content-Type exactly `text/x.tlog.size`.
    static func expectConflict(_ response: TestResponse, size: UInt64, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == .conflict, "\(what): \(response.status) \(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "text/x.tlog.size", "\(what)", sourceLocation: sourceLocation)
        #expect(String(buffer: response.body) == "\(size)\n", "\(what)", sourceLocation: sourceLocation)
    }
}

/// A deterministic generator (SplitMix64) for the seeded loops; failures print the seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
