import Testing
@testable import Rescue

/// Extreme values through every engine command: each gets a result (events or a named
/// rejection), never a trap, and whatever is accepted leaves every invariant whole. A trap here
/// ends the whole test process, which is exactly the denial of service issue 13 found.
@Suite struct HostileInputTests {
    static let numbers: [Int64] = [0, -1, 1, 2_147_483_648, 9_007_199_254_740_992, .max, .min, 10_000_001, 1_000_000_001]
    static let strings: [String] = [
        "", String(repeating: "a", count: 100_000), "3174011201900001", "081234567890", "+6281234567890", "budi@example.id",
        "3174 0112 0190 0001", "Budi Santoso, Jl. Melati 5", "x", "ngo-a", "ID-JK 081234567890", "\u{0}\u{7}", "٠٨١٢٣٤٥٦٧٨٩٠",
    ]

    /// Every command shape with every extreme number in each numeric position.
    static func commands(_ n: Int64, _ s: String) -> [(RescueCommand, String)] {
        let range = SerialRange(vintage: 2026, first: max(1, n), last: max(1, n))!
        return [
            (.register(.init(id: s, role: .recipient, region: s, latitude: n, longitude: n, registrationNumber: s, capacityPortions: n,
                             acceptedCategories: [s], serviceRadiusMetres: n, headcountServed: n, taxNumber: s)), "operator"),
            (.register(.init(id: "ngo-x", role: .recipient, region: "ID-JK", latitude: n, longitude: n, registrationNumber: "AHU-9",
                             capacityPortions: n, acceptedCategories: ["mixedMeals"], serviceRadiusMetres: n, headcountServed: n)), "operator"),
            (.post(OfferPost(id: "off-x", provider: "", category: "mixedMeals", grams: n, portions: n, latitude: n, longitude: n, temperature: .hot,
                             expiresAt: n, priceRupiah: n, now: 0, costRupiah: n)), "site-a"),
            (.post(OfferPost(id: "off-y", provider: "", category: "mixedMeals", grams: 4_200, portions: 10, latitude: n, longitude: -6_000_000, temperature: .hot,
                             expiresAt: simulationStart + 7_200_000_000, priceRupiah: 0, now: 0)), "site-a"),
            (.post(OfferPost(id: "off-z", provider: "", category: "mixedMeals", grams: 4_200, portions: 10, latitude: 0, longitude: 0, temperature: .hot,
                             expiresAt: simulationStart + 7_200_000_000, priceRupiah: n, now: 0, costRupiah: n)), "site-a"),
            (.post(OfferPost(id: s, provider: "", category: s, grams: 10, portions: 1, latitude: 0, longitude: 0, temperature: .hot,
                             expiresAt: simulationStart + 7_200_000_000, priceRupiah: 0, now: 0)), "site-a"),
            (.claim(id: "clm-x", offer: "off-big", seenVersion: n, portions: n, pickupCodeDigest: s), "ngo-a"),
            (.claim(id: s, offer: s, seenVersion: 1, portions: 1, pickupCodeDigest: s), "buyer-a"),
            (.confirmPickup(claim: "clm-big", pickupCodeDigest: "digest-clm-big", grams: n, declaredFreshnessScore: n), "site-a"),
            (.confirmDelivery(claim: "clm-picked", portionsServed: n), "ngo-a"),
            (.openDispute(id: s, claim: "clm-picked", reason: .spoiled, evidence: [s]), "ngo-a"),
            (.decideDispute(id: "dsp-open", outcome: .partialRefund(rupiah: n)), "operator"),
            (.transferCarbon(to: s, range: range), "cmp-a"),
            (.retireCarbon(range: range, beneficiary: s, reason: s), "cmp-a"),
            (.cancelCarbon(range: range, reason: s), "cmp-a"),
            (.cancelClaim(claim: s), "ngo-a"),
            (.declineMatch(offer: s), "ngo-a"),
        ]
    }

    /// A world holding an offer, a claim, a pickup and a dispute at the largest values an
    /// entry written before the input domains could hold (folded in with `apply`, as a replay
    /// of such a ledger would), so decisions on them meet the extreme arithmetic.
    static func worldWithGiants() -> WorldHarness {
        var h = WorldHarness()
        let t = h.start + WorldHarness.hour
        let giant = Int64(9_007_199_254_740_991)
        func offer(_ id: String, portions: Int64, remaining: Int64) -> OfferBook.Offer {
            OfferBook.Offer(
                id: id, provider: "site-a", category: "mixedMeals", grams: giant, portions: portions, latitude: -6_208_800, longitude: 106_845_600,
                temperature: .ambient, postedAt: t, expiresAt: t + 3 * 3_600_000_000, priceRupiah: 0, version: 1, remainingPortions: portions, remainingGrams: giant)
        }
        h.world.apply(.posted(offer("off-big", portions: 2_000_000, remaining: 2_000_000)), seq: 100, time: t)
        h.world.apply(.posted(offer("off-big2", portions: 1 << 20, remaining: 1 << 20)), seq: 101, time: t)
        h.world.apply(.posted(offer("off-big3", portions: 1, remaining: 1)), seq: 102, time: t)
        h.world.apply(.claimPlaced(OfferBook.Claim(
            id: "clm-big", offer: "off-big2", claimant: "ngo-a", portions: 1 << 20, grams: giant, priceRupiah: 0, pickupCodeDigest: "digest-clm-big", status: .placed)),
            seq: 103, time: t)
        h.world.apply(.claimPlaced(OfferBook.Claim(
            id: "clm-picked", offer: "off-big3", claimant: "ngo-a", portions: 1, grams: giant, priceRupiah: 0, pickupCodeDigest: "digest-clm-picked", status: .placed)),
            seq: 104, time: t)
        h.world.apply(.pickedUp(Pickup(claim: "clm-picked", grams: giant, portions: 1, returnedGrams: 0, returnedPortions: 0, afterExpiry: false, at: t)), seq: 105, time: t)
        h.seq = 106
        return h
    }

    @Test func extremeValuesGetAResultNeverATrap() throws {
        var accepted = 0
        var refused: Set<String> = []
        for n in Self.numbers {
            for s in Self.strings {
                for (command, actor) in Self.commands(n, s) {
                    var h = Self.worldWithGiants()
                    let now = h.start + 2 * WorldHarness.hour
                    switch h.world.decide(command, actor: actor, now: now, policy: standardPolicy) {
                    case .success(let events):
                        accepted += 1
                        for event in events { h.world.apply(event, seq: h.seq, time: now); h.seq += 1 }
                        // Nothing an extreme value got through may carry personal data or leave the books broken.
                        for case .registered(let participant) in events {
                            #expect(InputDomain.isID(participant.id) && InputDomain.regions.contains(participant.region))
                        }
                    case .failure(let rejection):
                        refused.insert(rejection.name)
                    }
                }
            }
        }
        #expect(accepted > 0)
        for name in ["quantityIsTooLarge", "locationIsOutOfRange", "idIsNotPseudonymous", "regionIsUnknown", "amountIsTooLarge", "beneficiaryIsNotAnID",
            "reasonIsNotACode", "evidenceIsNotAReference", "freshnessScoreIsOutOfRange"]
        {
            #expect(refused.contains(name), "no command was refused with \(name)")
        }
    }

    /// The crash reproductions 4–7, each now a named rejection.
    @Test func theReportedCrashesAreRejections() {
        var h = Self.worldWithGiants()
        let now = h.start + 2 * WorldHarness.hour
        for (latitude, longitude) in [(Int64.max, 0), (-Int64.max, 0), (0, Int64.max)] {
            let post = RescueCommand.post(OfferPost(
                id: "off-far", provider: "", category: "mixedMeals", grams: 10, portions: 1, latitude: latitude, longitude: longitude, temperature: .hot,
                expiresAt: now + 1_000_000, priceRupiah: 0, now: 0))
            #expect(h.refusal(post, "site-a", at: now) == .offer(.locationIsOutOfRange))
        }
        let giant = RescueCommand.post(OfferPost(
            id: "off-giant", provider: "", category: "mixedMeals", grams: 9_007_199_254_740_991, portions: 1_000_000, latitude: 0, longitude: 0,
            temperature: .hot, expiresAt: now + 1_000_000, priceRupiah: 0, now: 0))
        #expect(h.refusal(giant, "site-a", at: now) == .offer(.quantityIsTooLarge))
        // An offer like it already in a ledger: the claim, the pickup and the delivery are
        // decided with 128-bit products instead of trapping.
        #expect(h.refusal(.claim(id: "clm-new", offer: "off-big", seenVersion: 1, portions: 5_000, pickupCodeDigest: "d"), "ngo-a", at: now) == nil)
        #expect(h.refusal(.confirmPickup(claim: "clm-big", pickupCodeDigest: "digest-clm-big", grams: 9_007_199_254_740_991, declaredFreshnessScore: nil), "site-a", at: now) == nil)
        #expect(h.refusal(.confirmDelivery(claim: "clm-big", portionsServed: 1), "ngo-a", at: now) == nil)
    }

    @Test func multipliedDividedIsExactOrNil() {
        #expect(Int64(9_007_199_254_740_991).multiplied(by: 5_000, dividedBy: 1_000_000) == 45_035_996_273_704)
        #expect(Int64.max.multiplied(by: Int64.max, dividedBy: Int64.max) == .max)
        #expect(Int64.max.multiplied(by: 2, dividedBy: 1) == nil)
        #expect(Int64(7).multiplied(by: 3, dividedBy: 2) == 10)
        #expect(Int64(7).multiplied(by: 3, dividedBy: 2, roundingUp: true) == 11)
        #expect(Int64(-7).multiplied(by: 3, dividedBy: 2) == -10)
        #expect(Int64.min.multiplied(by: 1, dividedBy: 1) == .min)
        #expect(Int64(1).multiplied(by: 1, dividedBy: 0) == nil)
    }
}

/// The pseudonymous-id grammar, the region list and the personal-data screen (FORMAT §9).
@Suite struct InputDomainTests {
    @Test func idsCannotHoldAPhoneNumberANIKOrAnEmail() {
        for id in ["ngo-jkt-1", "site-jkt-0-12", "clm-kdpahmbeogjcflna", "photo:clm-7", "a", "buyer.b_c:d-1234567"] { #expect(InputDomain.isID(id), "\(id)") }
        for id in ["3174011201900001", "081234567890", "nik-3174011201900001", "p-0812-3456-7890", "a1b2c3d4e5f6g7h8i9", "budi@example.id", "Budi",
            "-a", "1abc", "", String(repeating: "a", count: 65), "a b", "ngo\u{0}"]
        {
            #expect(!InputDomain.isID(id), "\(id)")
        }
    }

    /// The id check walks the bytes label by label without building arrays; it must answer as
    /// the plain rule over the list of labels does, on ids built from the fragments that matter
    /// (address words, `rt`/`rw`/`no`, numbers, mail domains) and every separator.
    @Test func theStreamingAddressCheckEqualsTheRuleOverLabels() {
        func reference(_ id: String) -> Bool {
            let bytes = Array(id.utf8)
            var labels: [ArraySlice<UInt8>] = []
            var start = 0
            for index in 0...bytes.count where index == bytes.count || !(InputDomain.isLowercaseLetter(bytes[index]) || InputDomain.isDigit(bytes[index])) {
                if index > start { labels.append(bytes[start..<index]) }
                start = index + 1
            }
            if labels.count > 1, let last = labels.last, last.startIndex > 0, bytes[last.startIndex - 1] == UInt8(ascii: "."),
                InputDomain.mailDomains.contains(String(decoding: last, as: UTF8.self))
            {
                return true
            }
            return PersonalDataScreen.wordsReadAsAnAddress(labels)
        }
        let fragments = ["jl", "jalan", "gg", "rt", "rw", "no", "rt03", "rw7", "rt0", "5", "03", "melati", "id", "com", "co", "ngo", "a", "blok", "x1", "r", "t"]
        let separators = [".", "-", "_", ":", ""]
        var random = SystemRandomNumberGenerator()
        var addresses = 0
        for _ in 0..<20_000 {
            var id = ""
            for part in 0..<Int.random(in: 1...5, using: &random) {
                if part > 0 { id += separators.randomElement(using: &random)! }
                id += fragments.randomElement(using: &random)!
            }
            if Bool.random(using: &random) { id += separators.randomElement(using: &random)! }
            let expected = reference(id)
            addresses += expected ? 1 : 0
            #expect(InputDomain.readsAsAnAddress(id.utf8) == expected, "\(id)")
        }
        #expect(addresses > 1_000)
        for id in ["jl-melati-5.rt03", "budi:example.id", "rt-rw", "no-5", "x.no.5", "budi.example.id.", "budi.example.id:", "budi.example.id-", "budi.gmail.com.."] { #expect(InputDomain.readsAsAnAddress(id.utf8), "\(id)") }
        for id in ["ngo-jkt-1", "a.b-c", "a.b-id", "rtx", "nomor-5a", "id", ".id"] { #expect(!InputDomain.readsAsAnAddress(id.utf8), "\(id)") }
    }

    @Test func regionsAreIndonesianProvinces() {
        #expect(InputDomain.regions.count == 38)
        #expect(InputDomain.regions.contains("ID-JK") && InputDomain.regions.contains("ID-PD"))
        #expect(!InputDomain.regions.contains("ID-JK 081234567890") && !InputDomain.regions.contains("id-jk") && !InputDomain.regions.contains("ID-XX"))
    }

    @Test func registrationNumbersHaveTheirFormat() {
        for number in ["AHU-1", "AHU-0012345.AH.01.04", "SK-12/2020"] { #expect(InputDomain.isRegistrationNumber(number), "\(number)") }
        for number in ["3174011201900001", "budi@example.id", "Budi Santoso, 081234567890, budi@example.id, Jl. Melati 5", "AHU-3174011201900001",
            "AHU-0812-3456-7890", "ahu-1", "AHU-", "-1", "AHU 1"]
        {
            #expect(!InputDomain.isRegistrationNumber(number), "\(number)")
        }
    }

    @Test func theScreenFindsPersonalDataHoweverItIsWritten() {
        for text in ["3174-0112-0485-0001", "3174.0112.0485.0001", "3174 0112 0190 0001", "call 0812 - 3456 - 7890", "+62 (812) 3456 7890",
            "٠٨١٢٣٤٥٦٧٨٩٠", "０８１２３４５６７８９０", "budi＠example.id", "budi@example.id",
            "birthday gift for Siti Rahayu, Jl. Melati No. 5 RT 03/RW 07, Kebayoran Baru", "Jalan Sudirman", "rt05 rw02", "Kelurahan Menteng"]
        {
            #expect(PersonalDataScreen.holdsPersonalData(text), "\(text)")
        }
        for text in ["support ticket 42", "dispute dsp-77 refund call", "audit FY2026", "refund 1.500.000 rupiah", "quarterly review"] {
            #expect(!PersonalDataScreen.holdsPersonalData(text), "\(text)")
        }
    }
}
