import AsyncHTTPClient
import Foundation
import Ledger
import NIOCore
import Synchronization

/// The log's side of C2SP tlog-witness: after each new checkpoint, every witness is sent
/// `add-checkpoint` with the consistency proof from the size it last cosigned; the cosignatures
/// it answers are checked and kept. It runs beside the ledger and never holds an append: the
/// writer signs checkpoints on its own schedule, and the client follows the latest one.
public final class WitnessClient: Sendable {
    /// One witness the log submits to.
    public struct Endpoint: Sendable, Equatable {
        public let key: VerifierKey
        /// The submission prefix; add-checkpoint is POSTed to `url` + `/add-checkpoint`.
        public let url: String

        public init(key: VerifierKey, url: String) {
            self.key = key
            self.url = url
        }
    }

    /// What the client knows of one witness (for metrics and `GET /v1/witnesses`).
    public struct Status: Sendable, Equatable {
        public let name: String
        public let key: String
        public let url: String
        /// The size this witness last cosigned (nil until it answers).
        public var cosignedSize: UInt64?
        /// Entries between our latest checkpoint and what the witness last cosigned.
        public var lagEntries: UInt64 = 0
        /// Seconds since our first checkpoint the witness has not cosigned yet was published (0 when caught up).
        public var lagSeconds: Double = 0
        public var lastError: String?
        public var lastErrorAt: Int64?
        public var failures: UInt64 = 0
        public var cosignatures: UInt64 = 0
        /// The witness refuses our latest checkpoint because it holds another tree: it cosigned a
        /// larger size than ours, a different root at our size, or a tree our own consistency
        /// proof does not extend (422). Each is a fork (or our key used elsewhere) until
        /// explained: an alarm, not a retry.
        public var refusesOurTree = false
    }

    public let ledger: Ledger
    public let endpoints: [Endpoint]
    public let quorum: WitnessQuorum
    public let book: CosignatureBook
    private let statuses: Mutex<[Status]>
    private let timeout: TimeAmount
    private let pollInterval: Duration
    private let stopped = Atomic<Bool>(false)

    /// Keeps the newest checkpoint with a quorum in `cosignedFile` (replaced atomically) and,
    /// with `historyFile`, every checkpoint's cosigned note once settled.
    public init(
        ledger: Ledger, endpoints: [Endpoint], quorum: WitnessQuorum, cosignedFile: String, historyFile: String? = nil,
        timeout: TimeAmount = .seconds(5), pollInterval: Duration = .milliseconds(20)
    ) throws(LedgerError) {
        self.ledger = ledger
        self.endpoints = endpoints
        self.quorum = quorum
        self.book = try CosignatureBook(quorum: quorum, keys: ledger.keys, file: cosignedFile, historyFile: historyFile)
        self.timeout = timeout
        self.pollInterval = pollInterval
        statuses = Mutex(endpoints.map { Status(name: $0.key.name, key: $0.key.text, url: $0.url) })
    }

    /// The witnesses' statuses, lag computed against the ledger's latest checkpoint.
    public var status: [Status] {
        let latest = ledger.latestCheckpoint?.checkpoint.size ?? 0
        let publishedAt = ledger.latestCheckpointPublishedAt
        let now = Ledger.wallClockMicroseconds()
        return statuses.withLock { statuses in
            statuses.map { status in
                var status = status
                let cosigned = status.cosignedSize ?? 0
                status.lagEntries = latest > cosigned ? latest - cosigned : 0
                let behindSince = status.lagEntries == 0 ? nil : book.firstSeen(after: cosigned) ?? publishedAt
                status.lagSeconds = behindSince.map { Double(max(0, now - $0)) / 1_000_000 } ?? 0
                return status
            }
        }
    }

    /// Submits every new checkpoint to every witness until `stop()`; one task per witness, each
    /// retrying with backoff (0.5 s doubling to 60 s) after a failure.
    public func run() async {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        await withTaskGroup(of: Void.self) { group in
            for (index, endpoint) in endpoints.enumerated() {
                group.addTask { await self.follow(endpoint, index: index, client: client) }
            }
        }
        try? await client.shutdown()
        book.settleAll()
    }

    /// Stops following new checkpoints; cancel the task running `run()` too, so that a backoff
    /// sleep or a request to a hung witness does not hold up a shutdown.
    public func stop() { stopped.store(true, ordering: .relaxed) }

    private func follow(_ endpoint: Endpoint, index: Int, client: HTTPClient) async {
        // Unknown until the witness says: 0 either gets a first cosignature or a 409 with its size.
        var witnessSize: UInt64 = 0
        var submitted: (size: UInt64, root: Hash)?
        var backoff: Duration = .milliseconds(500)
        while !stopped.load(ordering: .relaxed), !Task.isCancelled {
            let publishedAt = ledger.latestCheckpointPublishedAt
            guard let (note, checkpoint) = ledger.latestCheckpoint,
                submitted.map({ $0.size != checkpoint.size || $0.root != checkpoint.root }) ?? true
            else {
                try? await Task.sleep(for: pollInterval)
                continue
            }
            book.noteSeen(checkpoint, note: note, publishedAt: publishedAt)
            let outcome = await submit(note: note, checkpoint: checkpoint, oldSize: witnessSize, to: endpoint, client: client)
            switch outcome {
            case .cosigned:
                witnessSize = checkpoint.size
                submitted = (checkpoint.size, checkpoint.root)
                backoff = .milliseconds(500)
                record(index) {
                    $0.cosignedSize = checkpoint.size
                    $0.cosignatures += 1
                    $0.refusesOurTree = false
                }
            case .witnessSize(let size) where size <= checkpoint.size && size != witnessSize:
                // The witness cosigned another size than we thought: resend from it at once.
                witnessSize = size
                record(index) { $0.cosignedSize = size }
            case .witnessSize(let size):
                record(index) { $0.refusesOurTree = true }
                fail(index, size > checkpoint.size
                    ? "the witness has cosigned size \(size), beyond our latest checkpoint \(checkpoint.size)"
                    : "the witness refuses our checkpoint at its own size \(size): it holds a different root (a fork?)")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(60))
            case .refusedProof(let reason):
                // We computed the proof from our own tree: a witness that cannot verify it
                // holds another tree of our log.
                record(index) { $0.refusesOurTree = true }
                fail(index, reason)
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(60))
            case .failed(let reason):
                fail(index, reason)
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(60))
            }
        }
    }

    private enum Outcome {
        case cosigned
        case witnessSize(UInt64)
        /// 422: the witness could not verify the consistency proof from its size to ours.
        case refusedProof(String)
        case failed(String)
    }

    private func submit(note: String, checkpoint: Checkpoint, oldSize: UInt64, to endpoint: Endpoint, client: HTTPClient) async -> Outcome {
        let proof: [Hash]
        do throws(LedgerError) {
            proof = oldSize == 0 || oldSize >= checkpoint.size ? [] : try ledger.consistencyProof(from: oldSize, to: checkpoint.size)
        } catch {
            return .failed("cannot prove consistency from \(oldSize): \(error.reason)")
        }
        var request = HTTPClientRequest(url: endpoint.url + "/add-checkpoint")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        request.body = .bytes(ByteBuffer(bytes: AddCheckpoint(oldSize: oldSize, proof: proof, note: note).body))
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = String(buffer: try await response.body.collect(upTo: SignedNote.byteCountMax))
            switch response.status.code {
            case 200:
                let lines: [SignedNote.Signature]
                do throws(LedgerError) {
                    lines = try SignedNote.parseLines(body)
                } catch {
                    return .failed("the witness answered 200 with no signature lines: \(error.reason)")
                }
                let now = UInt64(max(0, Ledger.wallClockMicroseconds() / 1_000_000))
                let valid = lines.filter { Cosignature.verify($0, checkpointText: checkpoint.text, key: endpoint.key, now: now) != nil }
                guard !valid.isEmpty else { return .failed("the witness answered no cosignature that verifies with its key") }
                book.add(valid, to: checkpoint, note: note)
                return .cosigned
            case 409:
                let type = response.headers.first(name: "Content-Type") ?? ""
                guard type.hasPrefix("text/x.tlog.size"), body.hasSuffix("\n"), let size = UInt64(body.dropLast()), String(size) == body.dropLast() else {
                    return .failed("409 without a text/x.tlog.size body")
                }
                return .witnessSize(size)
            case 422:
                return .refusedProof("HTTP 422 (our consistency proof from \(oldSize) does not verify against the witness's tree): \(body.prefix(300))")
            default:
                return .failed("HTTP \(response.status.code): \(body.prefix(300))")
            }
        } catch {
            return .failed("\(error)")
        }
    }

    private func record(_ index: Int, _ change: (inout Status) -> Void) {
        statuses.withLock { change(&$0[index]) }
    }

    private func fail(_ index: Int, _ reason: String) {
        record(index) {
            $0.lastError = reason
            $0.lastErrorAt = Ledger.wallClockMicroseconds()
            $0.failures += 1
        }
    }
}
