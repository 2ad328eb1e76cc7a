/// The registry's holdings in serial order, kept in chunks so that splitting one holding (every
/// transfer, retirement or cancellation of part of a range) moves at most one chunk's elements,
/// not the whole registry's. Lookups are two binary searches.
struct HoldingList: Sendable, Equatable {
    static let chunkMax = 512

    private(set) var chunks: [[CarbonRegistry.Holding]] = []
    private(set) var count = 0

    /// A holding's place: chunk and index in it.
    struct Position: Equatable {
        let chunk: Int
        let index: Int
    }

    var all: [CarbonRegistry.Holding] { chunks.flatMap { $0 } }
    var last: CarbonRegistry.Holding? { chunks.last?.last }

    subscript(position: Position) -> CarbonRegistry.Holding { chunks[position.chunk][position.index] }

    /// The holding whose range contains `range`, if one does.
    func position(containing range: SerialRange) -> Position? {
        guard let chunk = chunkStarting(atOrBefore: range) else { return nil }
        let holdings = chunks[chunk]
        var low = 0
        var high = holdings.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if holdings[middle].range.contains(range) { return Position(chunk: chunk, index: middle) }
            if range < holdings[middle].range { high = middle - 1 } else { low = middle + 1 }
        }
        return nil
    }

    /// The last chunk whose first holding starts at or before `range`.
    private func chunkStarting(atOrBefore range: SerialRange) -> Int? {
        var low = 0
        var high = chunks.count - 1
        var found: Int?
        while low <= high {
            let middle = (low + high) / 2
            if range < chunks[middle][0].range {
                high = middle - 1
            } else {
                found = middle
                low = middle + 1
            }
        }
        return found
    }

    /// Inserts a holding that overlaps none, in serial order (at the end, almost always).
    mutating func insert(_ holding: CarbonRegistry.Holding) {
        count += 1
        if chunks.isEmpty || chunks[chunks.count - 1].last!.range < holding.range {
            if chunks.isEmpty || chunks[chunks.count - 1].count >= Self.chunkMax { chunks.append([]) }
            chunks[chunks.count - 1].append(holding)
            return
        }
        let chunk = chunkStarting(atOrBefore: holding.range) ?? 0
        let index = chunks[chunk].firstIndex { holding.range < $0.range } ?? chunks[chunk].count
        chunks[chunk].insert(holding, at: index)
        rebalance(chunk)
    }

    /// Replaces one holding with the pieces it splits into.
    mutating func replace(_ position: Position, with pieces: [CarbonRegistry.Holding]) {
        count += pieces.count - 1
        chunks[position.chunk].replaceSubrange(position.index...position.index, with: pieces)
        rebalance(position.chunk)
    }

    private mutating func rebalance(_ chunk: Int) {
        guard chunks[chunk].count > 2 * Self.chunkMax else { return }
        let upper = Array(chunks[chunk][Self.chunkMax...])
        chunks[chunk].removeSubrange(Self.chunkMax...)
        chunks.insert(upper, at: chunk + 1)
    }
}

extension CarbonRegistry {
    /// Up to the last `count` holdings in serial order (the newest serials), without copying all.
    public func recentHoldings(_ count: Int) -> [Holding] {
        var recent = [Holding]()
        for chunk in holdingList.chunks.reversed() {
            recent.insert(contentsOf: chunk.suffix(count - recent.count), at: 0)
            if recent.count >= count { break }
        }
        return recent
    }
}
