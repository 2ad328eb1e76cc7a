/// The Flash Ludes rules of `policies/auction.yaml` (FORMAT §7.12): the curves a provider may
/// choose by name, the longest auction, and when an unsold lot becomes a free donation.
public struct AuctionPolicy: Hashable, Sendable {
    /// A named curve's shape, with its parameters in the policy's units.
    public enum CurveRule: Hashable, Sendable {
        case linear
        case steps(stepMinutes: Int64, dropPermille: Int64)
        case exponential(halfLifeMinutes: Int64)
    }

    /// The longest an auction may run (it also ends no later than the food-safety expiry).
    public var durationMicrosecondsMax: Int64
    /// An unsold lot converts to a free donation this long before its food-safety expiry.
    public var convertMicrosecondsBeforeExpiry: Int64
    /// Whether a bid may take some of a lot's portions instead of the whole lot.
    public var partialLots: Bool
    /// The curves a provider may name when starting an auction.
    public var curves: [String: CurveRule]

    public init(durationMicrosecondsMax: Int64, convertMicrosecondsBeforeExpiry: Int64, partialLots: Bool, curves: [String: CurveRule]) {
        self.durationMicrosecondsMax = durationMicrosecondsMax
        self.convertMicrosecondsBeforeExpiry = convertMicrosecondsBeforeExpiry
        self.partialLots = partialLots
        self.curves = curves
    }

    /// No auctions: no curve may be named.
    public static let none = AuctionPolicy(durationMicrosecondsMax: 0, convertMicrosecondsBeforeExpiry: 0, partialLots: false, curves: [:])

    /// The price curve of an auction on the named curve.
    /// - Throws: `PriceCurve.Invalid` naming `curve` when the policy has no such curve, or the
    ///   field of a parameter outside its domain (a duration above the policy's longest included).
    public func curve(named name: String, startRupiah: Int64, floorRupiah: Int64, durationMicroseconds: Int64) throws(PriceCurve.Invalid) -> PriceCurve {
        guard let rule = curves[name] else {
            throw PriceCurve.Invalid(field: "curve", reason: "is one of the policy's curves (\(curves.keys.sorted().joined(separator: ", ")))")
        }
        guard durationMicroseconds <= durationMicrosecondsMax else {
            throw PriceCurve.Invalid(field: "durationMicroseconds", reason: "is at most \(durationMicrosecondsMax) (policies/auction.yaml)")
        }
        let minute: Int64 = 60_000_000
        let shape: PriceCurve.Shape
        switch rule {
        case .linear: shape = .linear
        case .steps(let stepMinutes, let permille): shape = .steps(stepMicroseconds: min(stepMinutes * minute, durationMicroseconds), dropPermille: permille)
        case .exponential(let halfLifeMinutes): shape = .exponential(halfLifeMicroseconds: halfLifeMinutes * minute)
        }
        return try PriceCurve(startRupiah: startRupiah, floorRupiah: floorRupiah, durationMicroseconds: durationMicroseconds, shape: shape)
    }
}
