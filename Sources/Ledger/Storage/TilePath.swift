/// C2SP tlog-tiles paths: `tile/<L>/<N>[.p/<W>]` for hash tiles and `tile/entries/<N>[.p/<W>]`
/// for entry bundles, with `N` written in 3-digit groups (`x001/x234/067`).
public enum TilePath {
    /// A parsed path: the level (nil for entry bundles), tile index and width (256 when full).
    public struct Parsed: Equatable, Sendable {
        public let level: Int?
        public let index: UInt64
        public let width: Int

        public init(level: Int?, index: UInt64, width: Int) {
            self.level = level
            self.index = index
            self.width = width
        }

        /// The path after the log's base URL: `tile/<L>/<N>…` or `tile/entries/<N>…`.
        public var path: String {
            level.map { TilePath.hashTile(level: $0, index: index, width: width) } ?? TilePath.entryBundle(index: index, width: width)
        }
    }

    /// Entries (or hashes) per full tile.
    public static let width = 256

    /// `1234067` → `x001/x234/067`: the tile index as 3-digit path elements.
    public static func indexPath(_ index: UInt64) -> String {
        var groups = [String]()
        var rest = index
        repeat {
            let group = String(rest % 1000)
            groups.append(String(repeating: "0", count: 3 - group.count) + group)
            rest /= 1000
        } while rest > 0
        return groups.reversed().enumerated().map { position, group in
            position == groups.count - 1 ? group : "x" + group
        }.joined(separator: "/")
    }

    /// `tile/<L>/<N>` or, for a partial tile of `width` hashes, `tile/<L>/<N>.p/<W>`.
    public static func hashTile(level: Int, index: UInt64, width: Int = width) -> String {
        "tile/\(level)/" + indexPath(index) + (width == Self.width ? "" : ".p/\(width)")
    }

    /// `tile/entries/<N>` or, for a partial bundle of `width` entries, `tile/entries/<N>.p/<W>`.
    public static func entryBundle(index: UInt64, width: Int = width) -> String {
        "tile/entries/" + indexPath(index) + (width == Self.width ? "" : ".p/\(width)")
    }

    /// Parses the part after `tile/`, e.g. `0/x001/234` or `entries/005.p/17`; nil unless it is
    /// exactly a C2SP path (canonical groups, width 1–255 for a partial tile) whose index fits in
    /// 64 bits. Never traps: the path comes from any caller.
    public static func parse(_ rest: String) -> Parsed? {
        var parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        let head = parts.removeFirst()
        let level: Int?
        if head == "entries" {
            level = nil
        } else {
            guard let value = Int(head), value >= 0, value < 64, String(value) == head else { return nil }
            level = value
        }
        var width = Self.width
        if parts.count >= 2, parts[parts.count - 2].hasSuffix(".p") {
            guard let value = Int(parts[parts.count - 1]), value >= 1, value < Self.width, String(value) == parts[parts.count - 1] else { return nil }
            width = value
            parts.removeLast()
            parts[parts.count - 1].removeLast(2)
        }
        var index: UInt64 = 0
        for (position, group) in parts.enumerated() {
            let isLast = position == parts.count - 1
            let digits = isLast ? group : String(group.dropFirst())
            guard isLast || group.hasPrefix("x"), digits.count == 3, digits.allSatisfy(\.isNumber), let value = UInt64(digits) else { return nil }
            // `x000/005` is not how any index is written (it is `005`): one tile, one path.
            guard position > 0 || isLast || value > 0 else { return nil }
            // Seven groups already reach 10^21 > 2^64: an index that does not fit is no tile.
            let (shifted, overflowed) = index.multipliedReportingOverflow(by: 1000)
            let (sum, carried) = shifted.addingReportingOverflow(value)
            guard !overflowed, !carried else { return nil }
            index = sum
        }
        return Parsed(level: level, index: index, width: width)
    }
}
