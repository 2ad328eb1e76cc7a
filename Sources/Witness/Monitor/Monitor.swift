import AsyncHTTPClient
import Foundation
import Ledger
import NIOCore

/// Follows a remote log through its public reads only (`/checkpoint` and the C2SP tiles) and
/// checks everything those reads let anyone check:
///
/// - the checkpoint is signed by the log's key and, when witnesses are configured, cosigned by a
///   quorum of them (else the newest checkpoint that is, `/checkpoint/cosigned`);
/// - it does not roll back (a smaller tree) or fork (the same size, another root);
/// - every new entry's body, from the entry bundles, is canonical (`EntryBody.decode`), and the
///   entries follow the chain rule (`ChainCursor`: the next seq, `prev` the previous leaf hash,
///   time never backwards, the log's key id);
/// - entries already verified, when a partial bundle serves them again, have not changed;
/// - every hash tile the new checkpoint covers (level 0 and up, full and partial) holds exactly
///   the hashes computed from the entries;
/// - the root of the whole tree, extended from the verified one, is the checkpoint's root: the
///   new checkpoint is consistent with the one verified before.
///
/// Entry signatures are not in the tiles and are not checked here (`pahlawan verify` does, on
/// a copy of the data directory). State is `MonitorState` in its own directory; memory does not
/// grow with the log (a few bundles in flight and the tree's right edge).
public actor Monitor {
    public struct Configuration: Sendable {
        /// The log's base URL, e.g. `https://trust.pahlawan-pangan.id`.
        public var url: String
        /// The log's verifier key, obtained from somewhere other than the log.
        public var logKey: VerifierKey
        /// The witnesses whose cosignatures a checkpoint needs (`.none`: our signature is enough).
        public var witnesses: WitnessQuorum
        public var stateDirectory: String
        /// Entry bundles fetched (and decoded) ahead of the one being checked.
        public var fetchesInFlight: Int
        public var requestTimeout: TimeAmount
        /// Microseconds since the Unix epoch (cosignature times, evidence file names).
        public var clock: @Sendable () -> Int64

        public init(
            url: String, logKey: VerifierKey, witnesses: WitnessQuorum = .none, stateDirectory: String, fetchesInFlight: Int = 8,
            requestTimeout: TimeAmount = .seconds(30), clock: @escaping @Sendable () -> Int64 = Ledger.wallClockMicroseconds
        ) {
            self.url = url
            self.logKey = logKey
            self.witnesses = witnesses
            self.stateDirectory = stateDirectory
            self.fetchesInFlight = fetchesInFlight
            self.requestTimeout = requestTimeout
            self.clock = clock
        }
    }

    /// What a poll verified.
    public struct Progress: Sendable, Equatable {
        /// Entries verified in this poll (0 when the log has not grown).
        public let verifiedEntries: UInt64
        /// The checkpoint now verified, and its note as served.
        public let checkpoint: Checkpoint
        public let note: String
    }

    public let configuration: Configuration
    /// What has been verified so far (as saved in the state directory).
    public private(set) var state: MonitorState
    private let reader: LogReader
    private let lock: StateLock
    /// The note served in the current poll, for the evidence of a failure.
    private var servedNote: String?

    /// Opens (creating) the state directory and takes its lock.
    /// - Throws: `badState` when the directory is locked by another monitor, damaged, or follows another log.
    public init(_ configuration: Configuration) throws(MonitorFailure) {
        guard configuration.logKey.type == .ed25519 else { throw MonitorFailure(.badState, "the log's verifier key is of type 0x01") }
        do throws(LedgerError) {
            try FileIO.makeDirectories(configuration.stateDirectory)
        } catch {
            throw MonitorFailure(.badState, "cannot create the state directory: \(error)")
        }
        lock = try StateLock(directory: configuration.stateDirectory)
        do {
            state = try MonitorState.load(directory: configuration.stateDirectory, key: configuration.logKey)
            if state.keys == nil { state.keys = KeyChain(initial: configuration.logKey) }
        } catch {
            lock.release()
            throw error
        }
        self.configuration = configuration
        reader = LogReader(base: configuration.url, timeout: configuration.requestTimeout)
    }

    /// Releases the state directory's lock.
    public func close() { lock.release() }

    /// Fetches the log's checkpoint and verifies everything new since the last one verified;
    /// saves the new state. Nil when the log has not published a checkpoint yet.
    /// - Throws: `MonitorFailure`; for evidence against the log it is first written to
    ///   `<state>/evidence-<time>.txt` (`evidenceFile`). The state stays at the last checkpoint verified.
    public func poll() async throws(MonitorFailure) -> Progress? {
        servedNote = nil
        do {
            return try await pollOnce()
        } catch var failure {
            if failure.verifiedNote == nil { failure.verifiedNote = state.note }
            if failure.newNote == nil { failure.newNote = servedNote }
            if failure.isEvidence { failure.writeEvidence(directory: configuration.stateDirectory, now: configuration.clock()) }
            throw failure
        }
    }

    private struct Served {
        let text: String
        let note: SignedNote
        let checkpoint: Checkpoint
    }

    private func pollOnce() async throws(MonitorFailure) -> Progress? {
        guard let bytes = try await reader.get("checkpoint", limit: SignedNote.byteCountMax) else {
            if state.note == nil { return nil }
            throw MonitorFailure(.unavailable, "GET \(reader.base)/checkpoint answered 404, yet the log had served the checkpoint of size \(state.size)")
        }
        var served = try open(bytes, from: "/checkpoint")
        if configuration.witnesses.quorum > 0 { served = try await witnessed(served) }
        servedNote = served.text
        let checkpoint = served.checkpoint
        if state.note != nil {
            // A checkpoint no larger than the verified one is signed by a key the state knows;
            // checked first, so a rollback or a fork is only ever claimed on a signed note.
            if checkpoint.size <= state.size { try signatureChecked(served, keys: state.keys!) }
            guard checkpoint.size >= state.size else {
                throw MonitorFailure(
                    .rollback, "the log serves a checkpoint of \(checkpoint.size) entries after signing one of \(state.size): it rolled back")
            }
            if checkpoint.size == state.size {
                guard checkpoint.root == state.root else {
                    throw MonitorFailure(
                        .fork,
                        "the log signed two different trees of \(checkpoint.size) entries (roots \(state.root.base64) and \(checkpoint.root.base64)): a fork")
                }
                // The same tree: keep the note that carries more cosignatures.
                if served.note.signatures.count > (try? SignedNote(parsing: state.note!))?.signatures.count ?? 0 {
                    state.note = served.text
                    try state.save(directory: configuration.stateDirectory, key: configuration.logKey)
                }
                return Progress(verifiedEntries: 0, checkpoint: checkpoint, note: served.text)
            }
        }
        let before = state.size
        let keysDocument = try await checkSignatureBeforeExtending(served)
        let next = try await extend(to: served, keysDocument: keysDocument)
        try next.save(directory: configuration.stateDirectory, key: configuration.logKey)
        state = next
        return Progress(verifiedEntries: checkpoint.size - before, checkpoint: checkpoint, note: served.text)
    }

    /// Parses a served note. Its signature is checked with the key the chain names for its size,
    /// once the entries it covers are verified (`signatureChecked`): a rotation among them changes that key.
    private func open(_ bytes: [UInt8], from route: String) throws(MonitorFailure) -> Served {
        guard let text = String(bytes: bytes, encoding: .utf8) else {
            throw MonitorFailure(.badCheckpoint, "GET \(route) served a note that is not UTF-8", details: ["served (base64): " + Base64.encode(bytes)])
        }
        do throws(LedgerError) {
            let note = try SignedNote(parsing: text)
            return Served(text: text, note: note, checkpoint: try Checkpoint(text: note.text))
        } catch {
            throw MonitorFailure(.badCheckpoint, "GET \(route) served a note that is not a checkpoint: \(error.code): \(error.reason)", newNote: text)
        }
    }

    /// A bad signature is reported before any tile is fetched. The key for a larger checkpoint
    /// is the current one unless the log rotated among the new entries; then the log's keys
    /// document (verified from the trusted key) must name a key that signed it. `extend` follows
    /// the rotations from the tiles themselves and checks the signature again with what it found.
    /// Returns the keys document when it was fetched, so `extend` need not fetch it again.
    private func checkSignatureBeforeExtending(_ served: Served) async throws(MonitorFailure) -> [UInt8]? {
        let known = state.keys!
        if (try? signatureChecked(served, keys: known)) != nil { return nil }
        let now = UInt64(max(0, configuration.clock() / 1_000_000))
        if let document = try? await reader.get("v1/keys", limit: Self.keysDocumentByteCountMax),
            let chain = try? KeysDocument.verify(Data(document), initial: configuration.logKey, now: now),
            (try? signatureChecked(served, keys: chain)) != nil
        {
            return document
        }
        try signatureChecked(served, keys: known)
        return nil
    }

    /// The largest keys document the monitor reads.
    static let keysDocumentByteCountMax = 4 << 20

    /// Checks the log's signature on `served` with the key `keys` name for its size.
    private func signatureChecked(_ served: Served, keys: KeyChain, route: String = "/checkpoint") throws(MonitorFailure) {
        let key: VerifierKey
        do throws(LedgerError) {
            key = try keys.checkpointKey(size: served.checkpoint.size, witnessed: configuration.witnesses.quorum > 0)
            _ = try Checkpoint.open(served.text, verifier: key)
        } catch {
            throw MonitorFailure(
                .badCheckpoint,
                "GET \(route) served a checkpoint of \(served.checkpoint.size) entries that does not verify with the log's key for that size (\(keys.key(forSeq: served.checkpoint.size).text)): \(error.code): \(error.reason)",
                newNote: served.text)
        }
    }

    /// `served` when a quorum of the trusted witnesses cosigned it; else the newest checkpoint
    /// that has a quorum (`/checkpoint/cosigned`: the latest one is a moment ahead of its cosignatures).
    private func witnessed(_ served: Served) async throws(MonitorFailure) -> Served {
        let quorum = configuration.witnesses
        let now = UInt64(max(0, configuration.clock() / 1_000_000))
        do throws(LedgerError) {
            try quorum.check(served.note, now: now)
            return served
        } catch {
            if let bytes = try await reader.get("checkpoint/cosigned", limit: SignedNote.byteCountMax) {
                let cosigned = try open(bytes, from: "/checkpoint/cosigned")
                if quorum.cosigners(of: cosigned.note, now: now).count >= quorum.quorum { return cosigned }
            }
            throw MonitorFailure(
                .quorumNotMet,
                "GET /checkpoint: \(error.reason) (trusted: \(quorum.keys.map(\.name).joined(separator: ", "))); /checkpoint/cosigned offers no checkpoint with a quorum either",
                newNote: served.text)
        }
    }

    // MARK: Extending the verified tree

    /// Verifies the entries between the state's size and `served`'s, and returns the new state.
    private func extend(to served: Served, keysDocument: [UInt8]?) async throws(MonitorFailure) -> MonitorState {
        let checkpoint = served.checkpoint
        let width = UInt64(TilePath.width)
        let oldSize = state.size
        let newSize = checkpoint.size
        guard state.edge.root == state.root else {
            throw MonitorFailure(.badState, "the saved tree edge does not give the saved root")
        }
        var next = state
        var keys = state.keys!
        var rotations: [(seq: UInt64, body: [UInt8])] = []
        var chain = ChainCursor(nextSeq: oldSize, lastLeaf: state.lastLeaf, lastTime: state.lastTime, key: keys.current.id)
        let firstTile = oldSize / width
        let endTile = (newSize + width - 1) / width
        let reader = reader
        var queue: [Task<FetchedTile, Never>] = []
        defer { for task in queue { task.cancel() } }
        var launched = firstTile
        while launched < endTile || !queue.isEmpty {
            while launched < endTile, queue.count < max(1, configuration.fetchesInFlight) {
                let index = launched
                let count = Int(min(width, newSize - index * width))
                let verified = index == firstTile ? Int(oldSize % width) : 0
                queue.append(Task { await FetchedTile.fetch(reader, index: index, width: count, verified: verified) })
                launched += 1
            }
            let tile = await queue.removeFirst().value
            var completed: [(level: Int, index: UInt64, hashes: [Hash])] = []
            try check(tile, edge: &next.edge, chain: &chain, keys: &keys, rotations: &rotations) { level, index, hashes in
                if level > 0 { completed.append((level, index, hashes)) }
            }
            for full in completed { try await compareHashTile(level: full.level, index: full.index, expected: full.hashes) }
        }
        // The partial tiles above level 0 that this size changed (level 0's were compared per bundle).
        for level in next.edge.levels.indices.dropFirst() where next.edge.levels[level] != (level < state.edge.levels.count ? state.edge.levels[level] : []) {
            if let (index, hashes) = next.edge.partialTile(level: level) {
                try await compareHashTile(level: level, index: index, expected: hashes)
            }
        }
        if !rotations.isEmpty { try await checkRotationSignatures(rotations, from: state.keys!, document: keysDocument) }
        let computed = next.edge.root
        guard computed == checkpoint.root else {
            throw MonitorFailure(
                .rootMismatch,
                oldSize == 0
                    ? "the root of the \(newSize) entries served is not the checkpoint's root"
                    : "the root of the \(oldSize) verified entries followed by the \(newSize - oldSize) served is not the new checkpoint's root: it does not extend the verified checkpoint (a fork), or the entries served are not the ones it covers",
                details: ["computed root: \(computed.base64)", "checkpoint root: \(checkpoint.root.base64)"])
        }
        try signatureChecked(served, keys: keys)
        next.keys = keys
        next.rotationBodies += rotations.map(\.body)
        next.root = computed
        next.lastLeaf = chain.lastLeaf
        next.lastTime = chain.lastTime
        next.note = served.text
        return next
    }

    /// Checks one fetched bundle (and its level-0 hash tile) and appends its new leaves to `edge`.
    private func check(
        _ tile: FetchedTile, edge: inout TileEdge, chain: inout ChainCursor, keys: inout KeyChain,
        rotations: inout [(seq: UInt64, body: [UInt8])],
        completed: (_ level: Int, _ index: UInt64, _ hashes: [Hash]) throws(MonitorFailure) -> Void
    ) throws(MonitorFailure) {
        if let failure = tile.bundleFailure { throw failure }
        let first = tile.index * UInt64(TilePath.width)
        for position in 0..<tile.width {
            let seq = first + UInt64(position)
            let leaf = tile.leaves[position]
            if position < tile.verified {
                let known = edge.levels[0][position]
                guard leaf == known else {
                    throw MonitorFailure(
                        .changedEntry,
                        "the bundle serves different bytes for seq \(seq), which the verified checkpoint covers: the log changed an entry after signing it",
                        seq: seq, tilePath: tile.bundlePath, details: ["verified leaf hash: \(known.hex)", "served leaf hash: \(leaf.hex)"] + tile.evidence(position))
                }
                continue
            }
            let link: ChainCursor.Link
            switch tile.links[position - tile.verified] {
            case .success(let decoded): link = decoded
            case .failure(let error):
                throw MonitorFailure(
                    .badEntry, "seq \(seq) is not a valid entry body: \(error.code): \(error.reason)", seq: seq, tilePath: tile.bundlePath,
                    details: tile.evidence(position))
            }
            do throws(LedgerError) {
                try chain.advance(over: link, leaf: leaf)
            } catch {
                // A prev that does not match accuses the entry before as much as this one.
                let before = error.code == .wrongPrev && seq > 0
                    ? " (it is not the leaf hash of the body served for seq \(seq - 1)\(position > 0 ? ", shown below" : ""): one of the two was changed)" : ""
                let previous = error.code == .wrongPrev && position > 0 ? ["the entry before:"] + tile.evidence(position - 1) : []
                throw MonitorFailure(
                    .badEntry, "seq \(seq) breaks the chain: \(error.code): \(error.reason)\(before)", seq: seq, tilePath: tile.bundlePath,
                    details: tile.evidence(position) + previous)
            }
            if let body = tile.rotations[position] {
                // Tiles hold no signatures: the rotation's is checked against the keys document
                // (`checkRotationSignatures`) before the new checkpoint is accepted.
                do throws(LedgerError) {
                    try keys.rotate(body)
                } catch {
                    throw MonitorFailure(.badEntry, "seq \(seq) is a key rotation that breaks the rules: \(error.code): \(error.reason)", seq: seq, tilePath: tile.bundlePath, details: tile.evidence(position))
                }
                chain.rotateKey(to: keys.current.id)
                rotations.append((seq, Array(tile.bundle[tile.ranges[position]])))
            }
            try edge.append(leaf, completed: completed)
        }
        // The level-0 hash tile must hold exactly these leaf hashes.
        if let failure = tile.hashTileFailure { throw failure }
        try Self.compare(tile.hashTile, expected: Array(tile.leaves[0..<tile.width]), level: 0, index: tile.index, path: tile.hashTilePath)
    }

    /// Entry bundles carry no signatures, so the signatures of the key rotations met come from
    /// the log's keys document (`GET /v1/keys`, public): each must be over the very body the
    /// tiles served and verify with the key it retires. A log that cannot show them is reported.
    private func checkRotationSignatures(
        _ rotations: [(seq: UInt64, body: [UInt8])], from keys: KeyChain, document fetched: [UInt8]?
    ) async throws(MonitorFailure) {
        let document: [UInt8]?
        if let fetched {
            document = fetched
        } else {
            document = try await reader.get("v1/keys", limit: Self.keysDocumentByteCountMax)
        }
        guard let bytes = document else {
            throw MonitorFailure(.badEntry, "the log rotated its key at seq \(rotations[0].seq), but GET /v1/keys (with the rotation's signature) answers 404", seq: rotations[0].seq)
        }
        let items: [KeyRotationProofs.Item]
        do throws(LedgerError) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw LedgerError(.badBundle, "not a JSON object")
            }
            items = try KeyRotationProofs(json: object["rotations"]).items
        } catch {
            throw MonitorFailure(.badEntry, "GET /v1/keys is not a keys document: \(error.reason)", seq: rotations[0].seq)
        }
        var chain = keys
        for rotation in rotations {
            let leaf = MerkleHash.leaf(rotation.body)
            guard let item = items.first(where: { $0.seq == rotation.seq }), MerkleHash.leaf(item.body) == leaf else {
                throw MonitorFailure(.badEntry, "GET /v1/keys does not list the key rotation at seq \(rotation.seq) that the tiles serve", seq: rotation.seq)
            }
            do throws(LedgerError) {
                let body = try EntryBody.decode(rotation.body)
                try chain.follow(SignedEntry(body: body, bodyBytes: rotation.body, leafHash: leaf, signature: item.signature))
            } catch {
                throw MonitorFailure(
                    .badEntry, "the key rotation at seq \(rotation.seq) is not signed by the key it retires: \(error.code): \(error.reason)",
                    seq: rotation.seq, details: ["signature (base64): \(Base64.encode(item.signature))", "body (base64): \(Base64.encode(rotation.body))"])
            }
        }
    }

    /// Fetches hash tile (level, index), partial when `expected` has fewer than 256 hashes, and
    /// compares it with them.
    private func compareHashTile(level: Int, index: UInt64, expected: [Hash]) async throws(MonitorFailure) {
        let width = expected.count
        guard let (bytes, path) = try await reader.getTile(index: index, width: width, limit: LogReader.hashTileByteCount, path: { TilePath.hashTile(level: level, index: $0, width: $1) }) else {
            throw MonitorFailure(
                .missingTile, "the hash tile \(TilePath.hashTile(level: level, index: index, width: width)) is not served (404), yet the checkpoint covers it",
                tilePath: TilePath.hashTile(level: level, index: index, width: width))
        }
        try Self.compare(bytes, expected: expected, level: level, index: index, path: path)
    }

    /// Compares a served hash tile (the partial one, or the full one it grew into) with the
    /// hashes the monitor computed.
    private static func compare(_ bytes: [UInt8], expected: [Hash], level: Int, index: UInt64, path: String) throws(MonitorFailure) {
        let servedWidth = bytes.count / Hash.byteCount
        let isFull = path == TilePath.hashTile(level: level, index: index)
        guard bytes.count % Hash.byteCount == 0, isFull ? servedWidth == TilePath.width : servedWidth == expected.count else {
            throw MonitorFailure(.badTile, "the hash tile \(path) has \(bytes.count) bytes, not \((isFull ? TilePath.width : expected.count) * Hash.byteCount)", tilePath: path)
        }
        // Compared in place: a hash tile is checked per 256 entries, on the hot path.
        let differing = bytes.withUnsafeBytes { served in
            expected.indices.first { position in
                expected[position].withUnsafeBytes { memcmp($0.baseAddress!, served.baseAddress! + position * Hash.byteCount, Hash.byteCount) != 0 }
            }
        }
        if let position = differing {
            let served = Hash(bytes: bytes[position * Hash.byteCount..<(position + 1) * Hash.byteCount])!
            let seq = (index * UInt64(TilePath.width) + UInt64(position)) << UInt64(8 * level)
            throw MonitorFailure(
                .changedTile,
                "the hash tile \(path) holds another hash at position \(position) than the one computed from the entries (level \(8 * level), first seq \(seq))",
                seq: seq, tilePath: path, details: ["computed hash: \(expected[position].hex)", "served hash: \(served.hex)"])
        }
    }
}

/// One entry bundle and its level-0 hash tile, fetched, split, hashed and decoded off the
/// monitor's actor (several at once), ready for the checks that must run in seq order.
struct FetchedTile: Sendable {
    let index: UInt64
    /// Entries the checkpoint covers in this tile.
    let width: Int
    /// Leading entries the monitor verified before (only re-hashed, to see they did not change).
    let verified: Int
    var bundlePath: String
    var bundle: [UInt8] = []
    var ranges: [Range<Int>] = []
    var leaves: [Hash] = []
    /// The decoded chain fields of the entries from `verified` on.
    var links: [Result<ChainCursor.Link, LedgerError>] = []
    /// The decoded `key.rotated` entries, by position in the tile.
    var rotations: [Int: EntryBody] = [:]
    var bundleFailure: MonitorFailure?
    var hashTilePath: String
    var hashTile: [UInt8] = []
    var hashTileFailure: MonitorFailure?

    init(index: UInt64, width: Int, verified: Int) {
        self.index = index
        self.width = width
        self.verified = verified
        bundlePath = TilePath.entryBundle(index: index, width: width)
        hashTilePath = TilePath.hashTile(level: 0, index: index, width: width)
    }

    static func fetch(_ reader: LogReader, index: UInt64, width: Int, verified: Int) async -> FetchedTile {
        var tile = FetchedTile(index: index, width: width, verified: verified)
        async let hashes = fetchHashTile(reader, index: index, width: width)
        do throws(MonitorFailure) {
            guard let (bytes, path) = try await reader.getTile(
                index: index, width: width, limit: LogReader.bundleByteCountMax, path: { TilePath.entryBundle(index: $0, width: $1) })
            else {
                throw MonitorFailure(
                    .missingTile, "the entry bundle \(tile.bundlePath) is not served (404), yet the checkpoint covers its entries",
                    seq: index * UInt64(TilePath.width), tilePath: tile.bundlePath)
            }
            tile.bundlePath = path
            tile.bundle = bytes
            tile.ranges = try split(bytes, path: path, index: index, width: width, full: path == TilePath.entryBundle(index: index))
        } catch {
            tile.bundleFailure = error
        }
        if tile.bundleFailure == nil {
            let bundle = tile.bundle
            tile.leaves = tile.ranges.map { MerkleHash.leaf(bundle[$0]) }
            var rotations: [Int: EntryBody] = [:]
            tile.links = tile.ranges[verified...].enumerated().map { offset, range -> Result<ChainCursor.Link, LedgerError> in
                do throws(LedgerError) {
                    let body = try EntryBody.decode(Array(bundle[range]))
                    if body.kind == KeyRotation.kind { rotations[verified + offset] = body }
                    return .success(ChainCursor.Link(body))
                } catch {
                    return .failure(error)
                }
            }
            tile.rotations = rotations
        }
        switch await hashes {
        case .success(let (bytes, path)):
            tile.hashTile = bytes
            tile.hashTilePath = path
        case .failure(let failure):
            tile.hashTileFailure = failure
        }
        return tile
    }

    private static func fetchHashTile(_ reader: LogReader, index: UInt64, width: Int) async -> Result<([UInt8], String), MonitorFailure> {
        do throws(MonitorFailure) {
            guard let answer = try await reader.getTile(
                index: index, width: width, limit: LogReader.hashTileByteCount, path: { TilePath.hashTile(level: 0, index: $0, width: $1) })
            else {
                let path = TilePath.hashTile(level: 0, index: index, width: width)
                return .failure(
                    MonitorFailure(
                        .missingTile, "the hash tile \(path) is not served (404), yet the checkpoint covers it", seq: index * UInt64(TilePath.width),
                        tilePath: path))
            }
            return .success((answer.bytes, answer.path))
        } catch {
            return .failure(error)
        }
    }

    /// The byte ranges of the first `width` bodies of a bundle (each behind its big-endian uint16
    /// length). A partial bundle holds exactly `width` entries; a full one (served in place of a
    /// partial one the log has outgrown) exactly 256.
    static func split(_ bytes: [UInt8], path: String, index: UInt64, width: Int, full: Bool) throws(MonitorFailure) -> [Range<Int>] {
        var ranges = [Range<Int>]()
        ranges.reserveCapacity(TilePath.width)
        var position = 0
        while position < bytes.count {
            guard position + 2 <= bytes.count else {
                throw MonitorFailure(.badTile, "the entry bundle \(path) ends inside a length prefix", tilePath: path)
            }
            let length = Int(bytes[position]) << 8 | Int(bytes[position + 1])
            guard position + 2 + length <= bytes.count else {
                throw MonitorFailure(
                    .badTile, "the entry bundle \(path) ends inside entry \(ranges.count) (seq \(index * UInt64(TilePath.width) + UInt64(ranges.count)))",
                    seq: index * UInt64(TilePath.width) + UInt64(ranges.count), tilePath: path)
            }
            ranges.append(position + 2..<position + 2 + length)
            position += 2 + length
        }
        let expected = full ? TilePath.width : width
        guard ranges.count == expected else {
            throw MonitorFailure(.badTile, "the entry bundle \(path) holds \(ranges.count) entries, not \(expected)", tilePath: path)
        }
        return Array(ranges.prefix(width))
    }

    /// The entry at `position` as evidence: its leaf hash and exact bytes.
    func evidence(_ position: Int) -> [String] {
        let body = Array(bundle[ranges[position]])
        return [
            "leaf hash of the served body: \(leaves[position].hex)",
            "served body (base64): \(Base64.encode(body))",
            "served body (text): \(String(decoding: body, as: UTF8.self))",
        ]
    }
}
