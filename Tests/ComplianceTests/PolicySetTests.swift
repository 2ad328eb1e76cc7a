import Foundation
import Ledger
import Rescue
import Testing
@testable import Compliance

@Suite struct PolicySetTests {
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A copy of the repository's policies with one file's text changed.
    func policies(replacing file: String = "carbon.yaml", _ change: (String) -> String = { $0 }) throws -> String {
        let directory = NSTemporaryDirectory() + "policies-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in PolicySet.fileNames {
            var text = try String(contentsOfFile: Self.repository + "/policies/" + name, encoding: .utf8)
            if name == file { text = change(text) }
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test func theRepositoryPoliciesLoad() throws {
        let set = try PolicySet.load(directory: Self.repository + "/policies")
        #expect(set.carbon.tokenGrams == 10_000 && set.carbon.bufferPercent == 10 && set.carbon.basis == .downstream)
        #expect(set.offers.factors["mixedMeals"] == EmissionFactors(lifecycle: 2_500, downstream: 750))
        #expect(set.offers.mealGrams == 420 && set.offers.hotFoodWindowMicroseconds == 2 * 3_600_000_000)
        #expect(set.disputes.automaticByReason[.providerNoShow] == .fullRefund)
        #expect(set.disputes.freshnessThreshold == 60)
        #expect(set.factorSources.keys.sorted() == set.offers.factors.keys.sorted())
        #expect(set.auctions.durationMicrosecondsMax == 240 * 60_000_000 && set.auctions.convertMicrosecondsBeforeExpiry == 30 * 60_000_000)
        #expect(set.auctions.partialLots == false)
        #expect(set.auctions.curves == ["linear": .linear, "steps10": .steps(stepMinutes: 10, dropPermille: 150), "halfHour": .exponential(halfLifeMinutes: 30)])
        #expect(set.rescue.auctions == set.auctions)
        // A named curve becomes a price curve; an unknown name or a too-long auction is refused, naming the field.
        let curve = try set.auctions.curve(named: "steps10", startRupiah: 50_000, floorRupiah: 10_000, durationMicroseconds: 60 * 60_000_000)
        #expect(curve.price(elapsedMicroseconds: 25 * 60_000_000) == 38_000)
        #expect(throws: PriceCurve.Invalid(field: "curve", reason: "is one of the policy's curves (halfHour, linear, steps10)")) {
            try set.auctions.curve(named: "fast", startRupiah: 1, floorRupiah: 0, durationMicroseconds: 1)
        }
        #expect(throws: PriceCurve.Invalid.self) {
            try set.auctions.curve(named: "linear", startRupiah: 1, floorRupiah: 0, durationMicroseconds: 241 * 60_000_000)
        }
    }

    @Test func theHashIsOfTheExactFiles() throws {
        let original = try PolicySet.load(directory: try policies()).hash
        #expect(try PolicySet.load(directory: try policies()).hash == original)
        let commented = try PolicySet.load(directory: try policies { $0 + "# a new comment\n" }).hash
        #expect(commented != original, "any byte of a policy file is part of what entries commit to")
    }

    @Test func aBadFileNamesTheFileLineKeyAndReason() throws {
        let cases: [(String, (String) -> String, String, String)] = [
            ("carbon.yaml", { $0.replacingOccurrences(of: "tokenGrams: 10000", with: "tokenGrams: 10000.5") }, "tokenGrams", "whole number"),
            ("carbon.yaml", { $0.replacingOccurrences(of: "basis: downstream", with: "basis: upstream") }, "basis", "lifecycle or downstream"),
            ("carbon.yaml", { $0.replacingOccurrences(of: "bufferPercent: 10", with: "bufferPercent: 101") }, "bufferPercent", "0…100"),
            ("carbon.yaml", { $0.replacingOccurrences(of: "    downstream: 310\n", with: "") }, "categories.produce.downstream", "missing"),
            ("carbon.yaml", { $0.replacingOccurrences(of: "mealGrams: 420", with: "mealGrams: 420\nmealGrams: 500") }, "mealGrams", "twice"),
            ("disputes.yaml", { $0.replacingOccurrences(of: "providerNoShow: fullRefund", with: "lateCourier: fullRefund") }, "automatic.lateCourier", "not a dispute reason"),
            ("disputes.yaml", { $0.replacingOccurrences(of: "undecided: fullRefund", with: "undecided: maybe") }, "undecided", "must be fullRefund"),
            ("auction.yaml", { $0.replacingOccurrences(of: "shape: steps", with: "shape: zigzag") }, "curves.steps10.shape", "linear, steps or exponential"),
            ("auction.yaml", { $0.replacingOccurrences(of: "dropPermille: 150", with: "dropPermille: 1500") }, "curves.steps10.dropPermille", "1…1000"),
            ("auction.yaml", { $0.replacingOccurrences(of: "halfLifeMinutes: 30", with: "halfLifeMinutes: 300") }, "curves.halfHour.halfLifeMinutes", "1…240"),
            ("auction.yaml", { $0.replacingOccurrences(of: "partialLots: no", with: "partialLots: maybe") }, "partialLots", "yes or no"),
            ("auction.yaml", { $0.replacingOccurrences(of: "durationMinutesMax: 240", with: "durationMinutesMax: 2.5") }, "durationMinutesMax", "whole number"),
            ("auction.yaml", { $0.replacingOccurrences(of: "  halfHour:", with: "  half-hour:") }, "curves.half-hour", "letters and digits"),
        ]
        for (file, change, key, reason) in cases {
            let directory = try policies(replacing: file, change)
            do {
                _ = try PolicySet.load(directory: directory)
                Issue.record("\(key): a bad policy must not load")
            } catch {
                #expect(error.file == directory + "/" + file)
                #expect(error.key == key, "\(error)")
                #expect(error.reason.contains(reason), "\(error)")
                #expect(error.line != nil, "\(error)")
            }
        }
        let broken = try policies(replacing: "disputes.yaml") { $0 + "automatic: [\n" }
        #expect(throws: PolicyError.self) { try PolicySet.load(directory: broken) }
    }
}
