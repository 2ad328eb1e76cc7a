import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Logging
import Witness

/// A temporary folder, removed by `remove()`.
struct TemporaryFolder {
    let path = NSTemporaryDirectory() + "pahlawan-monitor-test-" + UUID().uuidString

    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Evidence files the monitor wrote in `state`.
    static func evidence(in state: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []).filter { $0.hasPrefix("evidence-") }.sorted().map { state + "/" + $0 }
    }
}

enum Keys {
    /// The log key: the same seed makes the same key, so two ledgers can share it (a fork).
    static let log = try! SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 7, count: 32))
    /// Another key under the same name: its checkpoints must not verify.
    static let impostor = try! SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 8, count: 32))
    static let witnesses = (1...3).map { index in
        try! SigningKey(name: "witness\(index).example.org/w", seed: [UInt8](repeating: UInt8(20 + index), count: 32), type: .cosignature)
    }
}

/// A real ledger in a temporary folder, written with the test log key, checkpoints signed only
/// when asked (so a test knows exactly which sizes were signed).
final class TestLog: Sendable {
    let ledger: Ledger
    let directory: String

    init(in folder: String, name: String = "log") throws {
        directory = folder + "/" + name
        var options = LedgerOptions()
        options.checkpointIntervalMicroseconds = 3_600_000_000
        ledger = try Ledger(directory: DataDirectory(directory), signer: Keys.log, options: options)
    }

    /// Appends `count` entries numbered from `from`, with times fixed by their number (so two
    /// logs given the same calls hold the same bytes), `variant` told in the payload.
    func append(_ count: Int, from: Int, variant: String = "a") throws {
        var start = 0
        while start < count {
            let batch = min(2_048, count - start)
            let drafts = (start..<start + batch).map { offset -> EntryDraft in
                let number = from + offset
                return EntryDraft(
                    time: 1_795_453_200_000_000 + Int64(number) * 1_000, kind: "monitor.tested", actor: "tester-\(number % 7)",
                    payload: ["number": .integer(Int64(number)), "variant": .string(variant)])
            }
            try ledger.append(drafts)
            start += batch
        }
    }

    /// Signs a checkpoint of everything appended; returns its note.
    @discardableResult
    func checkpoint() throws -> String { try ledger.checkpoint() }

    func close() { ledger.close() }
}

/// What the test server does to the log's answers: the checkpoint it serves instead of the
/// ledger's, and a rewrite of any tile's bytes (nil: answer 404).
final class Tampering: Sendable {
    let ledger: Locked<Ledger>
    let checkpoint = Locked<String?>(nil)
    let cosigned = Locked<String?>(nil)
    let tile = Locked<(@Sendable (_ path: String, _ bytes: [UInt8]) -> [UInt8]?)?>(nil)
    /// Every tile path requested, in order.
    let requested = Locked<[String]>([])

    init(_ ledger: Ledger) { self.ledger = Locked(ledger) }

    func serve(_ ledger: Ledger) { self.ledger.withLock { $0 = ledger } }
    func serveCheckpoint(_ note: String?) { checkpoint.withLock { $0 = note } }
    func rewriteTiles(_ rewrite: (@Sendable (String, [UInt8]) -> [UInt8]?)?) { tile.withLock { $0 = rewrite } }
}

/// A log server over real loopback HTTP with the routes a monitor reads (`/checkpoint`,
/// `/checkpoint/cosigned`, `/tile/**`), answered from a real `Ledger` through the same
/// `Ledger.tileBytes` the service uses, with `Tampering` applied on the way out.
enum TamperingServer {
    static func router(_ tampering: Tampering) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/checkpoint") { _, _ -> Response in
            let note = tampering.checkpoint.withLock { $0 } ?? tampering.ledger.withLock { $0 }.latestCheckpoint?.note
            guard let note else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: note)))
        }
        router.get("/checkpoint/cosigned") { _, _ -> Response in
            guard let note = tampering.cosigned.withLock({ $0 }) else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: note)))
        }
        router.get("/tile/**") { request, _ -> Response in
            let rest = String(request.uri.path.dropFirst("/tile/".count))
            tampering.requested.withLock { $0.append("tile/" + rest) }
            let ledger = tampering.ledger.withLock { $0 }
            guard let parsed = TilePath.parse(rest), var bytes = try ledger.tileBytes(parsed) else { return Response(status: .notFound) }
            if let rewrite = tampering.tile.withLock({ $0 }) {
                guard let rewritten = rewrite("tile/" + rest, bytes) else { return Response(status: .notFound) }
                bytes = rewritten
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return router
    }

    /// Runs `body` with the base URL of the server, live on a loopback port.
    static func run(_ tampering: Tampering, _ body: @escaping @Sendable (String) async throws -> Void) async throws {
        var logger = Logger(label: "monitor-test")
        logger.logLevel = .warning
        let app = Application(router: router(tampering), logger: logger)
        try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }
}

extension Monitor {
    /// A monitor of the test log at `url`, keeping its state in `state`.
    static func test(url: String, state: String, witnesses: WitnessQuorum = .none) throws(MonitorFailure) -> Monitor {
        try Monitor(Configuration(url: url, logKey: Keys.log.verifier, witnesses: witnesses, stateDirectory: state, fetchesInFlight: 4))
    }

    /// The failure of the next poll (nil when it succeeds).
    func failingPoll() async -> MonitorFailure? {
        do {
            _ = try await poll()
            return nil
        } catch {
            return error
        }
    }
}

/// The bytes of a bundle with the entry at `position` rewritten by `change`.
func rewritingEntry(_ bundle: [UInt8], at position: Int, _ change: ([UInt8]) -> [UInt8]) -> [UInt8] {
    var output = [UInt8]()
    var offset = 0
    var index = 0
    while offset < bundle.count {
        let length = Int(bundle[offset]) << 8 | Int(bundle[offset + 1])
        var body = Array(bundle[offset + 2..<offset + 2 + length])
        if index == position { body = change(body) }
        output += [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        offset += 2 + length
        index += 1
    }
    return output
}

/// `bytes` with the first occurrence of `old` replaced by `new`.
func replacing(_ bytes: [UInt8], _ old: String, with new: String) -> [UInt8] {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let range = text.range(of: old) else { return bytes }
    return Array(text.replacingCharacters(in: range, with: new).utf8)
}
