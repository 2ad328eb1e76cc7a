import Ledger

/// The right edge of a log's Merkle tree, tile by tile (C2SP tlog-tiles, ledger/FORMAT.md §6.3):
/// `levels[L]` holds the hashes of tree level 8·L that do not yet fill a tile of tile level L,
/// `(size >> 8·L) % 256` of them. That is at most 256 hashes per tile level, so it stays a few
/// kilobytes however long the log grows, and it is all a monitor needs to extend the tree, to
/// compute its root, and to know every hash tile the log should serve at the next size.
public struct TileEdge: Sendable, Equatable {
    public static let width = TilePath.width

    public private(set) var size: UInt64 = 0
    public private(set) var levels: [[Hash]] = [[]]

    /// The edge of the empty tree.
    public init() {}

    /// An edge as stored; nil unless each level holds exactly the hashes `size` implies.
    public init?(size: UInt64, levels: [[Hash]]) {
        guard !levels.isEmpty, levels.count <= 8 else { return nil }
        for level in 0..<8 {
            let expected = Int((size >> UInt64(8 * level)) % UInt64(Self.width))
            guard (level < levels.count ? levels[level].count : 0) == expected else { return nil }
        }
        self.size = size
        self.levels = levels
    }

    /// Appends the next leaf hash. `completed` is called with every tile it fills (level, index
    /// and its 256 hashes), lowest level first, before the tile is folded into the level above.
    public mutating func append(_ leaf: Hash, completed: (_ level: Int, _ index: UInt64, _ hashes: [Hash]) throws(MonitorFailure) -> Void)
        throws(MonitorFailure)
    {
        size += 1
        levels[0].append(leaf)
        var level = 0
        while levels[level].count == Self.width {
            let index = (size >> UInt64(8 * (level + 1))) - 1
            try completed(level, index, levels[level])
            let root = Self.root(of: levels[level])
            levels[level].removeAll(keepingCapacity: true)
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].append(root)
            level += 1
        }
    }

    /// The RFC 9162 root of the tree of `size` leaves.
    public var root: Hash {
        var range = CompactRange()
        for level in levels.indices.reversed() {
            for hash in levels[level] { range.append(hash, level: 8 * level) }
        }
        return range.root
    }

    /// The partial tile the log serves at tile level `level` for this size: its index and the
    /// hashes it must hold (nil when that level has no partial tile).
    public func partialTile(level: Int) -> (index: UInt64, hashes: [Hash])? {
        guard level < levels.count, !levels[level].isEmpty else { return nil }
        return ((size >> UInt64(8 * level)) / UInt64(Self.width), levels[level])
    }

    /// The root of one full tile: its 256 hashes folded eight levels up.
    static func root(of hashes: [Hash]) -> Hash {
        var range = CompactRange()
        for hash in hashes { range.append(hash, level: 0) }
        return range.root
    }
}
