import Ledger
import Rescue

/// A seeded generator of a plausible day of rescue entries in Jakarta and Surabaya, for the demo
/// and for filling ledgers in tests and benchmarks. It writes ledger entries directly; the
/// Rescue engines (which enforce the domain rules) replace it as the demo's source.
struct SyntheticDay {
    private var random: SplitMix64
    private var clock: Int64
    private let step: Int64
    private var pending: [EntryDraft] = []
    private var offerCount = 0
    private var rescueCount = 0
    private var serialNext = 1
    private var carbonPendingGrams: [String: Int64] = [:]

    private let providers: [String]
    private let recipients: [String]
    private let couriers: [String]
    private static let categories: [(name: String, lifecycleGramsPerKilogram: Int64, downstreamGramsPerKilogram: Int64)] = [
        ("mixedMeals", 2_500, 750), ("bakery", 1_500, 1_640), ("produce", 2_100, 310),
        ("dairy", 3_200, 790), ("poultry", 9_900, 750), ("rice", 4_500, 750),
    ]
    private static let mealGrams: Int64 = 420

    /// `entries` spreads the day's events evenly over 24 hours starting at `start` (µs since epoch).
    init(seed: UInt64, start: Int64, entries: Int) {
        random = SplitMix64(seed: seed)
        clock = start
        step = max(1, 86_400_000_000 / Int64(max(entries, 1)))
        providers = (0..<40).map { participantID("prv", $0 < 26 ? "jkt" : "sby", $0) }
        recipients = (0..<60).map { participantID("rcp", $0 < 40 ? "jkt" : "sby", $0) }
        couriers = (0..<30).map { participantID("cou", $0 < 20 ? "jkt" : "sby", $0) }
        for (role, ids) in [("provider", providers), ("recipient", recipients), ("courier", couriers)] {
            for id in ids {
                emit(.participantRegistered, actor: "operator", [
                    "participant": .string(id), "role": .string(role),
                    "region": .string(id.contains("jkt") ? "ID-JK" : "ID-JI"),
                ])
            }
        }
    }

    /// The next `count` drafts, in time order.
    mutating func next(_ count: Int) -> [EntryDraft] {
        while pending.count < count { rescue() }
        let batch = Array(pending.prefix(count))
        pending.removeFirst(count)
        return batch
    }

    private mutating func emit(_ kind: EntryKind, actor: String, _ payload: [String: JSONValue]) {
        clock += Int64(random.next(below: UInt64(2 * step))) + 1
        pending.append(EntryDraft(time: clock, kind: kind.rawValue, actor: actor, payload: payload))
    }

    private mutating func rescue() {
        offerCount += 1
        let offer = "off-\(offerCount)"
        let provider = providers[Int(random.next(below: UInt64(providers.count)))]
        let sameCity = recipients.filter { $0.contains(provider.contains("jkt") ? "jkt" : "sby") }
        let recipient = sameCity[Int(random.next(below: UInt64(sameCity.count)))]
        let courier = couriers[Int(random.next(below: UInt64(couriers.count)))]
        let category = Self.categories[Int(random.next(below: UInt64(Self.categories.count)))]
        let grams = Int64(2_000 + random.next(below: 38_000))
        let portions = max(1, grams / Self.mealGrams)
        let isPaid = random.next(below: 10) < 3
        let price = isPaid ? Int64(5_000 + random.next(below: 20) * 1_000) * portions : 0
        emit(.surplusPosted, actor: provider, [
            "offer": .string(offer), "category": .string(category.name), "grams": .integer(grams),
            "portions": .integer(portions), "priceRupiah": .integer(price), "version": 1,
        ])
        emit(.claimPlaced, actor: recipient, [
            "offer": .string(offer), "offerVersion": 1, "portions": .integer(portions),
        ])
        if isPaid {
            emit(.escrowHeld, actor: recipient, ["offer": .string(offer), "amountRupiah": .integer(price)])
        }
        emit(.pickupConfirmed, actor: courier, ["offer": .string(offer), "grams": .integer(grams)])
        emit(.deliveryConfirmed, actor: recipient, ["offer": .string(offer), "portionsServed": .integer(portions)])
        if random.next(below: 100) < 4 {
            emit(.disputeOpened, actor: recipient, ["offer": .string(offer), "reason": "spoiled"])
            emit(.disputeResolved, actor: "operator", [
                "offer": .string(offer), "outcome": "fullRefund", "rule": "freshnessBelowThreshold",
            ])
            if isPaid {
                emit(.escrowRefunded, actor: "operator", ["offer": .string(offer), "amountRupiah": .integer(price)])
            }
            return
        }
        rescueCount += 1
        let lifecycle = grams * category.lifecycleGramsPerKilogram / 1_000
        let downstream = grams * category.downstreamGramsPerKilogram / 1_000
        emit(.rescueCompleted, actor: "operator", [
            "offer": .string(offer), "grams": .integer(grams), "meals": .integer(grams / Self.mealGrams),
            "co2eLifecycleGrams": .integer(lifecycle), "co2eDownstreamGrams": .integer(downstream),
        ])
        if isPaid {
            emit(.escrowReleased, actor: "operator", ["offer": .string(offer), "amountRupiah": .integer(price)])
        }
        // 1 token = 10 kg CO2e on the downstream basis; remainders carry over per company.
        let company = provider
        let total = carbonPendingGrams[company, default: 0] + downstream
        let tokens = total / 10_000
        carbonPendingGrams[company] = total % 10_000
        if tokens > 0 {
            let first = serialNext
            serialNext += Int(tokens)
            emit(.carbonMinted, actor: "operator", [
                "owner": .string(company), "tokens": .integer(tokens),
                "serials": .string("PPG-2026-\(first)-\(serialNext - 1)"), "vintage": 2026,
            ])
        }
    }
}

/// `prv-jkt-007`: role prefix, city, three-digit number.
func participantID(_ prefix: String, _ city: String, _ number: Int) -> String {
    let digits = String(number)
    return "\(prefix)-\(city)-\(String(repeating: "0", count: max(0, 3 - digits.count)))\(digits)"
}
