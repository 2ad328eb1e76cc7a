/// Splits whole rupiah among parts by weight with the largest-remainder (Hamilton) method
/// (FORMAT §7.13): every part gets ⌊total · weight / Σ weights⌋, and the rupiah left over go one
/// each to the parts with the largest remainders, ties to the earlier part. So the shares sum to
/// the total exactly, each is its exact quota rounded down or up, and nobody pays a rupiah more
/// than a part of equal weight that came before it. Integer arithmetic with 128-bit products.
public enum LargestRemainder {
    /// The shares of `total` (≥ 0) for `weights` (each ≥ 0, at least one > 0), in the same order;
    /// nil when an argument is outside that domain.
    public static func split(_ total: Int64, by weights: [Int64]) -> [Int64]? {
        guard total >= 0, !weights.isEmpty, weights.allSatisfy({ $0 >= 0 }) else { return nil }
        var sum: Int64 = 0
        for weight in weights {
            guard let next = sum.adding(weight) else { return nil }
            sum = next
        }
        guard sum > 0 else { return nil }
        var shares = [Int64]()
        var remainders = [(remainder: UInt64, index: Int)]()
        shares.reserveCapacity(weights.count)
        var given: Int64 = 0
        for (index, weight) in weights.enumerated() {
            let product = total.magnitude.multipliedFullWidth(by: weight.magnitude)
            let (quotient, remainder) = sum.magnitude.dividingFullWidth(product)
            // quotient ≤ total because weight ≤ sum, so it fits.
            shares.append(Int64(quotient))
            given += Int64(quotient)
            remainders.append((remainder, index))
        }
        // Fewer than `weights.count` rupiah are left: each remainder is below one rupiah's worth.
        let left = Int(total - given)
        remainders.sort { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }
        for item in remainders.prefix(left) { shares[item.index] += 1 }
        return shares
    }
}
