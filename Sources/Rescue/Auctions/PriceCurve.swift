/// The price of a Flash Ludes lot at a moment (FORMAT §7.12): a descending ("Dutch") auction from
/// a start price to a floor over a duration, in whole rupiah, computed by the engine from the
/// curve and never taken from a bidder. Integer arithmetic only, with 128-bit intermediate
/// products, so anyone can recompute an `auction.sold` price exactly from the entry.
public struct PriceCurve: Hashable, Sendable {
    /// How the price falls from `startRupiah` to `floorRupiah`.
    public enum Shape: Hashable, Sendable {
        /// P = P0 − ⌊(P0 − F) · e / T⌋.
        case linear
        /// The reduction falls in whole steps: P = max(F, P0 − ⌊e / step⌋ · ⌊(P0 − F) · permille / 1000⌋).
        case steps(stepMicroseconds: Int64, dropPermille: Int64)
        /// The distance to the floor halves every `halfLifeMicroseconds`, linear between halvings:
        /// with D = P0 − F, k = ⌊e / H⌋, r = e mod H, a = D >> k, b = D >> (k + 1):
        /// P = F + a − ⌊(a − b) · r / H⌋.
        case exponential(halfLifeMicroseconds: Int64)
    }

    /// The largest start price: every rupiah figure stays within ±(2^53 − 1).
    public static let rupiahMax: Int64 = 9_007_199_254_740_991

    public let startRupiah: Int64
    public let floorRupiah: Int64
    public let durationMicroseconds: Int64
    public let shape: Shape

    /// Why a curve's parameters are out of their domain (the engine names the field).
    public struct Invalid: Error, Hashable, Sendable {
        public let field: String
        public let reason: String

        public init(field: String, reason: String) {
            self.field = field
            self.reason = reason
        }
    }

    /// Checks every parameter's domain: 0 ≤ floor ≤ start ≤ 2^53 − 1, a positive duration, a
    /// step of at least one microsecond and at most the duration with a drop of 1–1000 ‰, a
    /// positive half-life.
    public init(startRupiah: Int64, floorRupiah: Int64, durationMicroseconds: Int64, shape: Shape) throws(Invalid) {
        guard startRupiah >= 0, startRupiah <= Self.rupiahMax else {
            throw Invalid(field: "startRupiah", reason: "is 0…\(Self.rupiahMax) rupiah")
        }
        guard floorRupiah >= 0, floorRupiah <= startRupiah else { throw Invalid(field: "floorRupiah", reason: "is 0…startRupiah") }
        guard durationMicroseconds > 0 else { throw Invalid(field: "durationMicroseconds", reason: "is positive") }
        switch shape {
        case .linear:
            break
        case .steps(let step, let permille):
            guard step > 0, step <= durationMicroseconds else { throw Invalid(field: "stepMicroseconds", reason: "is 1…the duration") }
            guard permille >= 1, permille <= 1_000 else { throw Invalid(field: "dropPermille", reason: "is 1…1000") }
        case .exponential(let halfLife):
            guard halfLife > 0 else { throw Invalid(field: "halfLifeMicroseconds", reason: "is positive") }
        }
        self.startRupiah = startRupiah
        self.floorRupiah = floorRupiah
        self.durationMicroseconds = durationMicroseconds
        self.shape = shape
    }

    /// The price `elapsed` microseconds after the start: the start price at (or before) 0, the
    /// floor from the end of the duration on, never rising in between.
    public func price(elapsedMicroseconds elapsed: Int64) -> Int64 {
        guard elapsed > 0 else { return startRupiah }
        guard elapsed < durationMicroseconds else { return floorRupiah }
        let distance = startRupiah - floorRupiah
        switch shape {
        case .linear:
            // Cannot fail: distance · elapsed / duration ≤ distance, which fits.
            return startRupiah - distance.multiplied(by: elapsed, dividedBy: durationMicroseconds)!
        case .steps(let step, let permille):
            let drop = distance.multiplied(by: permille, dividedBy: 1_000)!
            let steps = elapsed / step
            // steps · drop may exceed the distance (and Int64): clamp to the floor first.
            guard drop > 0, steps < distance / drop + 1 else { return drop == 0 ? startRupiah : floorRupiah }
            return max(floorRupiah, startRupiah - steps * drop)
        case .exponential(let halfLife):
            let halvings = elapsed / halfLife
            let rest = elapsed % halfLife
            let above = halvings >= 63 ? 0 : distance >> halvings
            let next = halvings >= 62 ? 0 : distance >> (halvings + 1)
            return floorRupiah + above - (above - next).multiplied(by: rest, dividedBy: halfLife)!
        }
    }
}

extension PriceCurve {
    /// The first elapsed microsecond at which the price is the floor (the duration at the
    /// latest). Found by bisection, which needs only that the price never rises (property-tested
    /// for every shape), so it holds for any shape without a closed form per shape.
    public var floorReachedAfterMicroseconds: Int64 {
        var above: Int64 = 0  // price(above) > floor, or above == 0
        var reached = durationMicroseconds  // price(reached) == floor
        while reached - above > 1 {
            let middle = above + (reached - above) / 2
            if price(elapsedMicroseconds: middle) == floorRupiah { reached = middle } else { above = middle }
        }
        return reached
    }

    /// The shape's name as entries write it (`linear`, `steps`, `exponential`).
    public var shapeName: String {
        switch shape {
        case .linear: "linear"
        case .steps: "steps"
        case .exponential: "exponential"
        }
    }
}
