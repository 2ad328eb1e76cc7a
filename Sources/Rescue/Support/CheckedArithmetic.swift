/// Arithmetic on values that came from a caller. The input domains keep every product the
/// engines compute inside `Int64`, but entries written before those domains existed (or a
/// policy with extreme factors) must not be able to trap the process on replay either.
extension Int64 {
    /// `self × multiplier ÷ divisor` with a 128-bit intermediate product, its magnitude rounded
    /// down (or up with `roundingUp`); nil when `divisor` ≤ 0 or the quotient does not fit.
    public func multiplied(by multiplier: Int64, dividedBy divisor: Int64, roundingUp: Bool = false) -> Int64? {
        guard divisor > 0 else { return nil }
        let negative = (self < 0) != (multiplier < 0)
        let product = self.magnitude.multipliedFullWidth(by: multiplier.magnitude)
        guard product.high < divisor.magnitude else { return nil }
        var (quotient, remainder) = divisor.magnitude.dividingFullWidth(product)
        if roundingUp, remainder > 0 {
            guard quotient < UInt64.max else { return nil }
            quotient += 1
        }
        if negative {
            guard quotient <= UInt64(Int64.max) + 1 else { return nil }
            return quotient == UInt64(Int64.max) + 1 ? Int64.min : -Int64(quotient)
        }
        guard quotient <= UInt64(Int64.max) else { return nil }
        return Int64(quotient)
    }

    /// `self + other`, nil on overflow.
    public func adding(_ other: Int64) -> Int64? {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? nil : sum
    }
}
