#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Ledger
import Synchronization

/// What a monitor has verified of one log, kept in its state directory between runs: the last
/// verified checkpoint note (as served, with its cosignatures), its size and root, the last leaf
/// hash and time (where the chain continues), and the tree's right edge (`TileEdge`). A few
/// kilobytes whatever the log's length.
///
/// `<state>/state.json` is replaced atomically (write a temporary file, fsync, rename, fsync the
/// folder), so a crash leaves the previous verified state or the new one; `<state>/checkpoint`
/// is a copy of the note for people and scripts.
public struct MonitorState: Sendable, Equatable {
    public static let format = "pahlawan-monitor/v1"

    /// The last verified checkpoint note; nil before the first.
    public var note: String?
    public var size: UInt64 { edge.size }
    public var root: Hash
    /// The leaf hash of entry `size − 1` (zero when empty): the next entry's `prev`.
    public var lastLeaf: Hash
    /// The time of entry `size − 1` (0 when empty).
    public var lastTime: Int64
    public var edge: TileEdge
    /// The log's keys, followed from the trusted key through the rotations verified so far.
    public var keys: KeyChain?
    /// The bodies of those rotations (kept so the chain can be rebuilt on load).
    var rotationBodies: [[UInt8]] = []

    /// The state of a monitor that has verified nothing yet.
    public init() {
        note = nil
        root = MerkleHash.emptyRoot
        lastLeaf = .zero
        lastTime = 0
        edge = TileEdge()
    }

    init(note: String?, root: Hash, lastLeaf: Hash, lastTime: Int64, edge: TileEdge) {
        self.note = note
        self.root = root
        self.lastLeaf = lastLeaf
        self.lastTime = lastTime
        self.edge = edge
    }

    static func file(in directory: String) -> String { directory + "/state.json" }

    private struct Stored: Codable {
        var format: String
        var key: String
        var size: UInt64
        var root: String
        var lastLeaf: String
        var lastTime: Int64
        var edge: [[String]]
        var note: String?
        /// base64 bodies of the key.rotated entries followed (FORMAT §10.7); absent before any.
        var rotations: [String]?
    }

    /// Loads the state of `directory` for the log of `key`; a fresh state when there is none.
    /// - Throws: `badState` when the file is damaged or belongs to another log.
    static func load(directory: String, key: VerifierKey) throws(MonitorFailure) -> MonitorState {
        let path = file(in: directory)
        guard FileIO.exists(path) else { return MonitorState() }
        func damaged(_ why: String) -> MonitorFailure {
            MonitorFailure(.badState, "the state file \(path) is unusable: \(why); move the state directory aside to start over")
        }
        let stored: Stored
        do {
            stored = try JSONDecoder().decode(Stored.self, from: Data(try FileIO.readAll(path)))
        } catch {
            throw damaged("\(error)")
        }
        guard stored.format == format else { throw damaged("its format is \(stored.format), not \(format)") }
        guard stored.key == key.text else {
            throw MonitorFailure(.badState, "the state directory \(directory) follows the log of key \(stored.key), not \(key.text)")
        }
        var levels = [[Hash]]()
        for level in stored.edge {
            var hashes = [Hash]()
            for hex in level {
                guard let hash = Hash(hex: hex) else { throw damaged("an edge hash is not 64 hex digits") }
                hashes.append(hash)
            }
            levels.append(hashes)
        }
        guard let edge = TileEdge(size: stored.size, levels: levels) else { throw damaged("the tree edge does not fit size \(stored.size)") }
        guard let root = Hash(base64: stored.root), let lastLeaf = Hash(hex: stored.lastLeaf) else { throw damaged("a hash is malformed") }
        var state = MonitorState(note: stored.note, root: root, lastLeaf: lastLeaf, lastTime: stored.lastTime, edge: edge)
        var keys = KeyChain(initial: key)
        for text in stored.rotations ?? [] {
            guard let body = Base64.decode(text) else { throw damaged("a rotation body is not base64") }
            do throws(LedgerError) {
                try keys.rotate(try EntryBody.decode(body))
            } catch {
                throw damaged("a stored key rotation does not follow: \(error.reason)")
            }
            state.rotationBodies.append(body)
        }
        state.keys = keys
        guard edge.root == root else { throw damaged("the tree edge does not give the stored root") }
        if stored.size % UInt64(TileEdge.width) != 0, edge.levels[0].last != lastLeaf {
            throw damaged("the last leaf is not the edge's")
        }
        if let note = stored.note {
            let checkpoint: Checkpoint
            do throws(LedgerError) {
                checkpoint = try Checkpoint.open(note, verifier: keys.key(forSeq: stored.size))
            } catch {
                throw damaged("the stored checkpoint does not open: \(error.reason)")
            }
            guard checkpoint.size == stored.size, checkpoint.root == root else { throw damaged("the stored checkpoint is not the stored tree") }
        } else if stored.size != 0 {
            throw damaged("a non-empty tree without its checkpoint")
        }
        return state
    }

    /// Replaces the state file atomically, then the `checkpoint` copy.
    func save(directory: String, key: VerifierKey) throws(MonitorFailure) {
        let stored = Stored(
            format: Self.format, key: key.text, size: size, root: root.base64, lastLeaf: lastLeaf.hex, lastTime: lastTime,
            edge: edge.levels.map { $0.map(\.hex) }, note: note, rotations: rotationBodies.isEmpty ? nil : rotationBodies.map(Base64.encode))
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try FileIO.writeAtomically(Self.file(in: directory), Array(try encoder.encode(stored)))
            if let note { try FileIO.writeAtomically(directory + "/checkpoint", Array(note.utf8)) }
        } catch {
            throw MonitorFailure(.badState, "cannot save the monitor's state in \(directory): \(error)")
        }
    }
}

/// An exclusive lock on `<state>/lock`, so two monitors never share a state directory. Released
/// when closed or when the process dies.
final class StateLock: Sendable {
    private let descriptor: Mutex<Int32?>

    init(directory: String) throws(MonitorFailure) {
        let path = directory + "/lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw MonitorFailure(.badState, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw MonitorFailure(.badState, "another monitor is using the state directory \(directory) (\(path) is locked)")
        }
        self.descriptor = Mutex(descriptor)
    }

    /// Releases the lock (once; later calls do nothing).
    func release() {
        descriptor.withLock { held in
            if let open = held { close(open) }
            held = nil
        }
    }

    deinit { release() }
}
