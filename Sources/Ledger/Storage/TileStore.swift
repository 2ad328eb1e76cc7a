#if canImport(Glibc)
import Glibc
#endif

/// The log's Merkle subtree hashes stored as C2SP tlog-tiles under `<data dir>/tile/`: tile
/// `tile/<L>/<N>` holds 256 consecutive hashes of tree level 8·L. Full tiles are written once and
/// never change; the partial right edge of each level lives in memory and is rebuilt on open from
/// the full tiles below it and the last (< 256) leaf hashes, so memory stays flat as the log grows.
///
/// Written tiles are made durable in `syncPending()`, which the ledger calls before it signs a
/// checkpoint: a checkpoint never covers a tile that could still be lost.
final class TileStore: PerfectSubtreeHashes {
    static let height = 8
    static let width = 256
    static let tileByteCount = width * Hash.byteCount

    let directory: String
    let isWritable: Bool
    private(set) var leafCount: UInt64
    /// `edge[L]` holds the hashes of the partial tile at tile level L (fewer than 256).
    private var edge: [[Hash]]
    private var unsyncedFiles: [File] = []
    private var unsyncedDirectories: Set<String> = []
    /// Recently read full tiles with all their inner levels (`levels[r]` holds the 256 >> r
    /// hashes r levels up), so a proof folds each tile once. Tiles are immutable, so a cached copy
    /// never goes stale. Upper tiles, which every proof crosses, get a larger cache than level 0.
    private var leafTileCache: TileCache
    private var upperTileCache = TileCache(capacity: 1_024)
    /// Level-0 tiles folded down to their subtrees of 16 leaves and up (levels 4…8 of the tile:
    /// 31 hashes, about 1 KB), for many tiles: a proof then folds at most 15 leaf hashes of one
    /// group instead of a whole tile's 255 (random reads across a large log miss any cache of
    /// whole folded tiles). 65,536 tiles cover 16 M entries in about 64 MB.
    private var leafTileSummaries = TileCache(capacity: 65_536)
    static let summaryGroup = 16
    private var edgeFolds: [TileID: Hash] = [:]
    /// Open folders of level-0 tiles by `index / 1000` (see `leafDirectory(holding:)`).
    private var leafDirectories: [UInt64: File] = [:]
    private var lastLeafGroup: (tile: UInt64, first: Int, hashes: [Hash])?

    struct TileID: Hashable {
        let level: Int
        let index: UInt64
    }

    /// Opens the tiles for a log of `size` leaves; `lastLeaves` are the hashes of the leaves in the
    /// partial level-0 tile, [size − size % 256, size). `leafTilesCached` whole level-0 tiles are
    /// kept (tests set 0, so that every small proof step reads its tile file).
    init(directory: String, size: UInt64, lastLeaves: [Hash], writable: Bool, leafTilesCached: Int = 32) throws(LedgerError) {
        precondition(UInt64(lastLeaves.count) == size % UInt64(Self.width))
        self.leafTileCache = TileCache(capacity: leafTilesCached)
        self.directory = directory
        self.isWritable = writable
        self.leafCount = size
        self.edge = [lastLeaves]
        var level = 1
        while size >> UInt64(Self.height * level) > 0 {
            let complete = size >> UInt64(Self.height * level)
            let partial = complete % UInt64(Self.width)
            var hashes = [Hash]()
            for node in (complete - partial)..<complete {
                hashes.append(Self.root(of: try readFullTile(level: level - 1, index: node)))
            }
            edge.append(hashes)
            level += 1
        }
    }

    // MARK: Paths (C2SP tlog-tiles)

    /// `tile/<L>/<N>` or, for a partial tile of `width` hashes, `tile/<L>/<N>.p/<W>`.
    public static func path(level: Int, index: UInt64, width: Int = TileStore.width) -> String {
        TilePath.hashTile(level: level, index: index, width: width)
    }

    private func filePath(level: Int, index: UInt64) -> String {
        FileIO.parent(of: directory) + "/" + Self.path(level: level, index: index)
    }

    // MARK: Appending

    /// Adds the next leaf hash, writing every tile it completes.
    func append(_ leaf: Hash) throws(LedgerError) {
        precondition(isWritable)
        if !edgeFolds.isEmpty { edgeFolds.removeAll(keepingCapacity: true) }
        edge[0].append(leaf)
        leafCount += 1
        var level = 0
        while edge[level].count == Self.width {
            let index = (leafCount >> UInt64(Self.height * (level + 1))) - 1
            try writeFullTile(level: level, index: index, edge[level])
            let root = Self.root(of: edge[level])
            edge[level].removeAll(keepingCapacity: true)
            if edge.count == level + 1 { edge.append([]) }
            edge[level + 1].append(root)
            level += 1
        }
    }

    private func writeFullTile(level: Int, index: UInt64, _ hashes: [Hash]) throws(LedgerError) {
        let path = filePath(level: level, index: index)
        let parent = FileIO.parent(of: path)
        if !FileIO.isDirectory(parent) {
            // Every directory created needs its own parent synced before the tile counts as durable.
            var missing = [String]()
            var walk = parent
            while !FileIO.isDirectory(walk) {
                missing.append(walk)
                walk = FileIO.parent(of: walk)
            }
            try FileIO.makeDirectories(parent)
            for created in missing { unsyncedDirectories.insert(FileIO.parent(of: created)) }
        }
        let file = try File.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.tileByteCount)
        for hash in hashes { hash.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        try file.write(bytes, at: 0)
        unsyncedFiles.append(file)
        unsyncedDirectories.insert(parent)
    }

    /// Hands over every tile written (and folder created) since the last call, to be synced.
    func takePendingSync() -> PendingSync {
        defer {
            unsyncedFiles.removeAll()
            unsyncedDirectories.removeAll()
        }
        return PendingSync(files: unsyncedFiles, directories: unsyncedDirectories.sorted { $0.count > $1.count })
    }

    /// Makes every tile written since the last call durable.
    func syncPending() throws(LedgerError) { try takePendingSync().perform() }

    // MARK: Reading

    /// The 256 hashes of a full tile, checked for length.
    func readFullTile(level: Int, index: UInt64) throws(LedgerError) -> [Hash] {
        try foldedTile(level: level, index: index)[0]
    }

    /// A full tile's hashes and every level above them up to its root.
    private func foldedTile(level: Int, index: UInt64) throws(LedgerError) -> [[Hash]] {
        let id = TileID(level: level, index: index)
        if let cached = level == 0 ? leafTileCache.get(id) : upperTileCache.get(id) { return cached }
        let path = filePath(level: level, index: index)
        guard FileIO.exists(path) else {
            throw LedgerError(.damagedTile, "the hash tile \(Self.path(level: level, index: index)) is missing", file: path)
        }
        let bytes = try FileIO.readAll(path)
        guard bytes.count == Self.tileByteCount else {
            throw LedgerError(
                .damagedTile, "the hash tile has \(bytes.count) bytes, not \(Self.tileByteCount)", file: path)
        }
        var levels = [(0..<Self.width).map { Hash(bytes: bytes[$0 * 32..<($0 + 1) * 32])! }]
        while levels[levels.count - 1].count > 1 {
            let below = levels[levels.count - 1]
            levels.append(stride(from: 0, to: below.count, by: 2).map { MerkleHash.node(below[$0], below[$0 + 1]) })
        }
        if level == 0 { leafTileCache.put(id, levels) } else { upperTileCache.put(id, levels) }
        return levels
    }

    /// Levels 4…8 of a full level-0 tile (16, 8, 4, 2 and 1 hashes).
    private func leafTileSummary(_ index: UInt64) throws(LedgerError) -> [[Hash]] {
        let id = TileID(level: 0, index: index)
        if let cached = leafTileSummaries.get(id) { return cached }
        let summary = Array(try foldedTile(level: 0, index: index)[4...])
        leafTileSummaries.put(id, summary)
        return summary
    }

    /// Folds full leaf tile `index`'s summary into its cache, unless the cache is full (false).
    func warmLeafTile(_ index: UInt64) throws(LedgerError) -> Bool {
        guard index < leafCount / UInt64(Self.width) else { return false }
        if leafTileSummaries.get(TileID(level: 0, index: index)) != nil { return true }
        guard leafTileSummaries.count < leafTileSummaries.capacity else { return false }
        _ = try leafTileSummary(index)
        return true
    }

    /// The 16 leaf hashes of a level-0 tile from `first` (a multiple of 16), read from its file.
    /// An inclusion proof asks for the same group once per level below 16 leaves: the last group
    /// read is kept, so a proof opens the tile once instead of four times.
    private func leafGroup(_ index: UInt64, first: Int) throws(LedgerError) -> [Hash] {
        if let last = lastLeafGroup, last.tile == index, last.first == first { return last.hashes }
        let id = TileID(level: 0, index: index)
        if let cached = leafTileCache.get(id) { return Array(cached[0][first..<first + Self.summaryGroup]) }
        // The tile's name in its folder is the last 3-digit group of its index (`x001/x234/067`).
        let file = try File.open(TilePath.indexPath(index % 1000), in: try leafDirectory(holding: index), flags: O_RDONLY)
        defer { file.close() }
        let bytes = try file.read(at: UInt64(first * 32), count: Self.summaryGroup * 32)
        guard bytes.count == Self.summaryGroup * 32 else {
            throw LedgerError(.damagedTile, "the hash tile is shorter than \(Self.tileByteCount) bytes", file: file.path)
        }
        let hashes = (0..<Self.summaryGroup).map { Hash(bytes: bytes[$0 * 32..<($0 + 1) * 32])! }
        lastLeafGroup = (index, first, hashes)
        return hashes
    }

    /// The open folder of level-0 tiles that holds tile `index` (each folder holds the 1,000
    /// tiles of one `index / 1000`), kept for `leafGroup`'s opens; at most 64 are kept, enough
    /// for 16 M entries before any is closed again.
    private func leafDirectory(holding index: UInt64) throws(LedgerError) -> File {
        let key = index / 1000
        if let open = leafDirectories[key] { return open }
        if leafDirectories.count >= 64 { leafDirectories.removeAll() }
        let path = filePath(level: 0, index: index)
        let directory = try File.open(String(path[..<path.lastIndex(of: "/")!]), flags: O_RDONLY | O_DIRECTORY)
        leafDirectories[key] = directory
        return directory
    }

    /// A bounded cache that evicts an arbitrary entry when full: proofs hit tiles at random, so
    /// recency buys little over keeping the structure trivial.
    struct TileCache {
        let capacity: Int
        private var entries: [TileID: [[Hash]]] = [:]

        init(capacity: Int) { self.capacity = capacity }

        func get(_ id: TileID) -> [[Hash]]? { entries[id] }

        var count: Int { entries.count }

        mutating func put(_ id: TileID, _ levels: [[Hash]]) {
            guard capacity > 0 else { return }
            if entries.count >= capacity, let victim = entries.keys.first { entries[victim] = nil }
            entries[id] = levels
        }
    }

    /// The hashes of tile `index` at `level` as tlog-tiles serves them: a full tile, or the first
    /// `width` hashes of the partial right edge. Nil when the log does not (yet) have them.
    func tile(level: Int, index: UInt64, width: Int) throws(LedgerError) -> [Hash]? {
        guard level < edge.count, width >= 1, width <= Self.width else { return nil }
        let complete = leafCount >> UInt64(Self.height * level)
        let full = complete / UInt64(Self.width)
        if index < full { return width == Self.width ? try readFullTile(level: level, index: index) : nil }
        guard index == full, width <= edge[level].count else { return nil }
        return Array(edge[level].prefix(width))
    }

    func perfectHash(level: Int, index: UInt64) throws(LedgerError) -> Hash {
        let tileLevel = level / Self.height
        let rise = level % Self.height
        let first = index << UInt64(rise)
        let count = 1 << rise
        precondition((first + UInt64(count)) << UInt64(Self.height * tileLevel) <= leafCount)
        let tileIndex = first / UInt64(Self.width)
        let offset = Int(first % UInt64(Self.width))
        let complete = leafCount >> UInt64(Self.height * tileLevel)
        if tileIndex < complete / UInt64(Self.width) {
            guard tileLevel == 0 else { return try foldedTile(level: tileLevel, index: tileIndex)[rise][offset >> rise] }
            if count >= Self.summaryGroup { return try leafTileSummary(tileIndex)[rise - 4][offset >> rise] }
            let group = try leafGroup(tileIndex, first: offset - offset % Self.summaryGroup)
            let start = offset % Self.summaryGroup
            return Self.fold(group[start..<start + count])
        }
        // Folds of the right edge are memoised until the next append changes the edge.
        let id = TileID(level: level, index: index)
        if let memo = edgeFolds[id] { return memo }
        let hash = Self.fold(edge[tileLevel][offset..<offset + count])
        edgeFolds[id] = hash
        return hash
    }

    /// The root of a full tile: its 256 hashes folded 8 levels up.
    static func root(of hashes: [Hash]) -> Hash { fold(hashes[...]) }

    /// Folds 2^k hashes pairwise into one.
    static func fold(_ hashes: ArraySlice<Hash>) -> Hash {
        var level = Array(hashes)
        while level.count > 1 {
            var next = [Hash]()
            next.reserveCapacity(level.count / 2)
            for pair in stride(from: 0, to: level.count, by: 2) { next.append(MerkleHash.node(level[pair], level[pair + 1])) }
            level = next
        }
        return level[0]
    }

    /// The leaf hash of `seq`.
    func leafHash(_ seq: UInt64) throws(LedgerError) -> Hash { try perfectHash(level: 0, index: seq) }

    func close() {
        for file in unsyncedFiles { file.close() }
        unsyncedFiles.removeAll()
        for (_, directory) in leafDirectories { directory.close() }
        leafDirectories.removeAll()
    }
}
