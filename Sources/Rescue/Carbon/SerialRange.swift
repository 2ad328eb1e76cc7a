/// An inclusive range of carbon-token serials within one vintage: `PPG-<vintage>-<first>-<last>`.
public struct SerialRange: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let vintage: Int
    public let first: Int64
    public let last: Int64

    /// Nil unless 1 ≤ first ≤ last.
    public init?(vintage: Int, first: Int64, last: Int64) {
        guard first >= 1, first <= last else { return nil }
        self.vintage = vintage
        self.first = first
        self.last = last
    }

    public var count: Int64 { last - first + 1 }
    public var description: String { "PPG-\(vintage)-\(first)-\(last)" }

    public func contains(_ other: SerialRange) -> Bool {
        vintage == other.vintage && first <= other.first && other.last <= last
    }

    public static func < (lhs: SerialRange, rhs: SerialRange) -> Bool {
        (lhs.vintage, lhs.first) < (rhs.vintage, rhs.first)
    }
}
