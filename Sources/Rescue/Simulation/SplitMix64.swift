/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64), so simulated days,
/// demo data and randomised tests are reproducible from their seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform enough for simulation in 0..<bound (0 when bound is 0).
    public mutating func next(below bound: UInt64) -> UInt64 { bound == 0 ? 0 : next() % bound }

    /// 0..<bound as an Int64.
    public mutating func int(below bound: Int64) -> Int64 { Int64(next(below: UInt64(max(0, bound)))) }

    /// True with the given chance in percent.
    public mutating func chance(percent: Int64) -> Bool { int(below: 100) < percent }
}
