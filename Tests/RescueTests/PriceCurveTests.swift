import PropertyBased
import Rescue
import Testing

/// Flash Ludes prices (FORMAT §7.12): recomputed here from the formulas, by code that does not
/// call the curve, and checked for the shape every Dutch auction must have.
@Suite struct PriceCurveTests {
    static let minute: Int64 = 60_000_000

    @Test func theWorkedExamplesOfTheFormat() throws {
        let linear = try PriceCurve(startRupiah: 50_000, floorRupiah: 10_000, durationMicroseconds: 60 * Self.minute, shape: .linear)
        #expect(linear.price(elapsedMicroseconds: 15 * Self.minute) == 40_000)
        // 40,000 × 20/60 = 13,333.3: the reduction is rounded down, so the price rounds up.
        #expect(linear.price(elapsedMicroseconds: 20 * Self.minute) == 36_667)
        let steps = try PriceCurve(
            startRupiah: 50_000, floorRupiah: 10_000, durationMicroseconds: 60 * Self.minute,
            shape: .steps(stepMicroseconds: 10 * Self.minute, dropPermille: 150))
        #expect(steps.price(elapsedMicroseconds: 9 * Self.minute) == 50_000)
        #expect(steps.price(elapsedMicroseconds: 25 * Self.minute) == 38_000)
        #expect(steps.price(elapsedMicroseconds: 59 * Self.minute) == 20_000)
        let decay = try PriceCurve(
            startRupiah: 50_000, floorRupiah: 10_000, durationMicroseconds: 60 * Self.minute, shape: .exponential(halfLifeMicroseconds: 20 * Self.minute))
        #expect(decay.price(elapsedMicroseconds: 20 * Self.minute) == 30_000)
        // Halfway between 40,000 and 20,000 above the floor at 30 min.
        #expect(decay.price(elapsedMicroseconds: 30 * Self.minute) == 25_000)
        for curve in [linear, steps, decay] {
            #expect(curve.price(elapsedMicroseconds: -1) == 50_000)
            #expect(curve.price(elapsedMicroseconds: 0) == 50_000)
            #expect(curve.price(elapsedMicroseconds: 60 * Self.minute) == 10_000)
            #expect(curve.price(elapsedMicroseconds: Int64.max) == 10_000)
        }
    }

    /// Every curve starts at the start price, never rises, stays within [floor, start] and is at
    /// the floor from the end of the duration on, for prices up to 2^53 − 1 and days-long durations.
    @Test func everyCurveFallsFromTheStartToTheFloorAndNeverRises() async {
        await propertyCheck(
            count: 400, input: Gen.int64(in: 0...PriceCurve.rupiahMax), Gen.int64(in: 0...1_000), Gen.int64(in: 1...86_400_000_000),
            Gen.int(in: 0...2), Gen.int64(in: 1...1_000), Gen.int64(in: 0...Int64.max).array(of: 1...24)
        ) { start, floorPermille, duration, shapeNumber, shapeParameter, samples in
            let floor = start / 1_000 * floorPermille
            let shape: PriceCurve.Shape
            switch shapeNumber {
            case 0: shape = .linear
            case 1: shape = .steps(stepMicroseconds: max(1, duration / shapeParameter), dropPermille: shapeParameter)
            default: shape = .exponential(halfLifeMicroseconds: max(1, duration / shapeParameter))
            }
            guard let curve = try? PriceCurve(startRupiah: start, floorRupiah: floor, durationMicroseconds: duration, shape: shape) else {
                Issue.record("valid parameters refused: \(start) \(floor) \(duration) \(shape)")
                return
            }
            #expect(curve.price(elapsedMicroseconds: 0) == start)
            #expect(curve.price(elapsedMicroseconds: duration) == floor)
            var previous = start
            for elapsed in (samples.map { $0 % (duration + 2) } + [duration - 1]).sorted() {
                let price = curve.price(elapsedMicroseconds: elapsed)
                #expect(price <= previous && price >= floor && price <= start, "\(shape) at \(elapsed) of \(duration): \(price) after \(previous)")
                previous = price
            }
        }
    }

    /// Small figures, where plain Int64 arithmetic cannot overflow, give the formulas directly.
    @Test func smallFiguresAgreeWithTheFormulas() async {
        await propertyCheck(
            count: 400, input: Gen.int64(in: 0...1_000_000), Gen.int64(in: 0...1_000_000), Gen.int64(in: 1...1_000_000_000),
            Gen.int64(in: 0...1_000_000_000), Gen.int64(in: 1...1_000)
        ) { a, b, duration, rawElapsed, parameter in
            let (start, floor) = (max(a, b), min(a, b))
            let elapsed = rawElapsed % duration
            let distance = start - floor
            let linear = try! PriceCurve(startRupiah: start, floorRupiah: floor, durationMicroseconds: duration, shape: .linear)
            #expect(linear.price(elapsedMicroseconds: elapsed) == start - distance * elapsed / duration)
            let step = max(1, duration / parameter)
            let steps = try! PriceCurve(
                startRupiah: start, floorRupiah: floor, durationMicroseconds: duration, shape: .steps(stepMicroseconds: step, dropPermille: parameter))
            #expect(steps.price(elapsedMicroseconds: elapsed) == max(floor, start - (elapsed / step) * (distance * parameter / 1_000)))
            let halfLife = max(1, duration / parameter)
            let decay = try! PriceCurve(
                startRupiah: start, floorRupiah: floor, durationMicroseconds: duration, shape: .exponential(halfLifeMicroseconds: halfLife))
            var above = distance
            var next = distance / 2
            for _ in 0..<(elapsed / halfLife) {
                above /= 2
                next /= 2
            }
            #expect(decay.price(elapsedMicroseconds: elapsed) == floor + above - (above - next) * (elapsed % halfLife) / halfLife)
        }
    }

    @Test func parametersOutsideTheirDomainsAreRefusedNamingTheField() {
        let cases: [(String, () throws(PriceCurve.Invalid) -> PriceCurve)] = [
            ("startRupiah", { () throws(PriceCurve.Invalid) in try PriceCurve(startRupiah: -1, floorRupiah: 0, durationMicroseconds: 1, shape: .linear) }),
            ("startRupiah", { () throws(PriceCurve.Invalid) in try PriceCurve(startRupiah: PriceCurve.rupiahMax + 1, floorRupiah: 0, durationMicroseconds: 1, shape: .linear) }),
            ("floorRupiah", { () throws(PriceCurve.Invalid) in try PriceCurve(startRupiah: 10, floorRupiah: 11, durationMicroseconds: 1, shape: .linear) }),
            ("floorRupiah", { () throws(PriceCurve.Invalid) in try PriceCurve(startRupiah: 10, floorRupiah: -1, durationMicroseconds: 1, shape: .linear) }),
            ("durationMicroseconds", { () throws(PriceCurve.Invalid) in try PriceCurve(startRupiah: 10, floorRupiah: 0, durationMicroseconds: 0, shape: .linear) }),
            ("stepMicroseconds", { () throws(PriceCurve.Invalid) in
                try PriceCurve(startRupiah: 10, floorRupiah: 0, durationMicroseconds: 5, shape: .steps(stepMicroseconds: 6, dropPermille: 10)) }),
            ("dropPermille", { () throws(PriceCurve.Invalid) in
                try PriceCurve(startRupiah: 10, floorRupiah: 0, durationMicroseconds: 5, shape: .steps(stepMicroseconds: 1, dropPermille: 1_001)) }),
            ("halfLifeMicroseconds", { () throws(PriceCurve.Invalid) in
                try PriceCurve(startRupiah: 10, floorRupiah: 0, durationMicroseconds: 5, shape: .exponential(halfLifeMicroseconds: 0)) }),
        ]
        for (field, make) in cases {
            let result = Result(catching: make)
            guard case .failure(let invalid) = result else {
                Issue.record("\(field): out-of-domain parameters were accepted")
                continue
            }
            #expect(invalid.field == field)
        }
    }
}
