import Ledger
import Rescue

/// The reports auditors, tax offices and carbon traders ask for (`audit/README.md`, "Reports"),
/// computed from the ledger's facts at one checkpoint. The Postgres mirror computes the same
/// reports by SQL (`MirrorReports`); a test holds both equal.
public struct Reports: Sendable {
    public let facts: ReportFacts
    public let checkpointSize: UInt64
    public let checkpointRoot: String

    /// `facts` must be folded up to exactly `checkpointSize` entries.
    public init(facts: ReportFacts, checkpointSize: UInt64, checkpointRoot: String) {
        precondition(facts.size == checkpointSize, "reports are computed at a checkpoint")
        self.facts = facts
        self.checkpointSize = checkpointSize
        self.checkpointRoot = checkpointRoot
    }

    /// Why a report cannot be computed; `name` is stable (the problem type of the HTTP API).
    public enum Refusal: String, Error, Sendable {
        case companyNotFound
        case siteIsNotTheCompanys
        case periodIsEmpty
        case yearIsOutOfRange
        case incomeMustNotBeNegative
        /// A total of figures taken from entries (grams, rupiah, grams CO2e, tokens) is beyond
        /// the integers reports are written in, ±(2^53 − 1) (`JSONValue.integerMagnitudeMax`,
        /// which every JSON reader reproduces exactly): the engines bound each figure by it,
        /// but not their sums.
        case totalIsOutOfRange
    }

    /// The columns of each report's lines (the CSV header), in order.
    public static let csrColumns = [
        "seq", "time", "site", "claim", "offer", "recipient", "category", "destination", "gramsRescued", "portionsServed", "meals",
        "lifecycleGramsCO2e", "downstreamGramsCO2e", "paid", "channel", "dispute", "disputeOutcome", "refundRupiah", "inTotals",
        "tillBodySha256", "attestedScore", "couriers",
    ]
    public static let taxColumns = [
        "date", "seq", "offerSeq", "claimSeq", "pickupSeq", "deliverySeq", "site", "recipient", "recipientRegistration",
        "recipientTaxNumber", "recipientPurpose", "recipientSeq", "goods", "gramsRescued", "portionsServed", "costRupiah", "channel", "inTotals",
        "eligible", "reasons",
    ]
    public static let carbonColumns = ["seq", "time", "kind", "vintage", "first", "last", "tokens", "from", "to", "beneficiary", "reason", "attestedRescues"]
    public static let retirementColumns = ["seq", "time", "owner", "vintage", "first", "last", "tokens", "beneficiary", "reason"]

    /// Everything that is a destination of rescued food today: each rescue is delivered to a
    /// recipient that feeds people (animal feed and compost are not yet events of the ledger).
    public static let destinations = ["people"]
    /// The WIB offset: fiscal years and donation dates are Indonesian calendar days (UTC+7).
    public static let wibOffsetMicroseconds: Int64 = 7 * 3_600_000_000
    public static let dayMicroseconds: Int64 = 86_400_000_000

    func company(_ id: String) throws(Refusal) -> ParticipantRegistry.Participant {
        guard let company = facts.participants[id], company.role == .company else { throw .companyNotFound }
        return company
    }

    /// The counting rule, written once for every report and the same as the carbon registry's
    /// (`audit/README.md`, "Reports"): a completed rescue counts (in the CSR totals, and as a
    /// donation in the tax register's) iff it has no dispute, or its dispute was resolved in the
    /// provider's favour (`noRefund`, `noRefundRelist`). A dispute still open, or resolved with
    /// a full or partial refund (whatever the amount, 0 rupiah for a donation too), keeps it out.
    /// `MirrorReports.rescueCounts` is the same rule in SQL.
    public static func rescueCounts(dispute: ReportFacts.DisputeRecord?) -> Bool {
        guard let dispute else { return true }
        return dispute.outcome.map(DisputeBook.Outcome.keepsRescueCounted(named:)) ?? false
    }

    /// A rescue's dispute as the lines describe it (`outcome`: "" when none, "open" while open),
    /// whether the rescue counts, and the seqs of the dispute's entries.
    func disputeState(claim: String) -> (id: String, outcome: String, counts: Bool, seqs: [UInt64]) {
        let dispute = facts.disputes[claim]
        let seqs = dispute.map { [$0.openedSeq] + ($0.resolvedSeq.map { [$0] } ?? []) } ?? []
        return (dispute?.id ?? "", dispute.map { $0.outcome ?? "open" } ?? "", Self.rescueCounts(dispute: dispute), seqs)
    }

    /// Adds a figure taken from entries to a total. An entry's integers are at most 2^53 − 1
    /// (the ledger contract), but nothing bounds their sums: a total beyond what a report can
    /// state exactly (`JSONValue.integerMagnitudeMax`) refuses the report rather than state a
    /// figure JSON readers would round (or, past Int64.max, trap: a trap would stop the service
    /// for every caller). Every figure added is ≥ 0, so a running total passes the bound iff the
    /// final one does, which is what the SQL side checks (`MirrorReports`: the total cannot be
    /// read back). Counts of entries and seqs need no check: there are fewer than 2^53 entries.
    static func add(_ figure: Int64, to total: inout Int64) throws(Refusal) {
        let (sum, overflow) = total.addingReportingOverflow(figure)
        guard !overflow, sum <= JSONValue.integerMagnitudeMax else { throw .totalIsOutOfRange }
        total = sum
    }

    /// The seq of `participant`'s registration: every participant a report names is registered
    /// before any entry that names it, so below the checkpoint whenever that entry is.
    func registrationSeq(_ participant: String) -> [UInt64] {
        facts.registrationSeqs[participant].map { [$0] } ?? []
    }

    // MARK: CSR donation report

    /// Per company (optionally one site) and period (entry times in µs, both ends inclusive):
    /// every completed rescue, with the totals GRI 306-4 and the FLW Standard ask for.
    public func csr(company id: String, site: String? = nil, from: Int64? = nil, until: Int64? = nil) throws(Refusal) -> Report {
        _ = try company(id)
        var providers = facts.providers(of: id)
        if let site {
            guard providers.contains(site) else { throw .siteIsNotTheCompanys }
            providers = [site]
        }
        try ReportRequest.csr(company: id, site: site, from: from, until: until).checkParameters()
        let start = from ?? Int64.min
        let end = until ?? Int64.max
        var lines: [[String: JSONValue]] = []
        // The company's registration (the parameter), and the one site asked for (its company).
        var seqs: [UInt64] = registrationSeq(id) + (site.map(registrationSeq) ?? [])
        var rescues: Int64 = 0, grams: Int64 = 0, portions: Int64 = 0, meals: Int64 = 0, lifecycle: Int64 = 0, downstream: Int64 = 0
        var excluded: Int64 = 0, excludedGrams: Int64 = 0, refunds: Int64 = 0
        var byCategory: [String: Int64] = [:]
        var byChannel: [String: Int64] = [:]
        // Per WIB calendar month ("2026-11"): grams and CO2e on both bases, for the console's charts.
        var byMonth: [String: (grams: Int64, lifecycle: Int64, downstream: Int64)] = [:]
        var recipients = Set<String>()
        var factorSets: [String: Int64] = [:]
        // Rescues are selected in place: copying every record of a large ledger (strings and all)
        // only to drop most of them was most of the report's cost.
        for index in facts.rescues.indices
        where providers.contains(facts.rescues[index].completion.provider) && (start...end).contains(facts.rescues[index].time) {
            let rescue = facts.rescues[index]
            let completion = rescue.completion
            let dispute = disputeState(claim: completion.claim)
            let refundEntries = facts.refunds[completion.claim] ?? []
            var refund: Int64 = 0
            for entry in refundEntries { try Self.add(entry.rupiah, to: &refund) }
            try Self.add(refund, to: &refunds)
            let channel = facts.channel(claim: completion.claim, offer: completion.offer)
            // The line's site (its company) and recipient are named by their registrations.
            seqs += [rescue.seq] + dispute.seqs + refundEntries.map(\.seq) + registrationSeq(completion.provider) + registrationSeq(completion.claimant)
                + [channel.seq].compactMap { $0 }
            // The evidence behind the line (FORMAT §7.14–7.16): the till's sync, the lowest score a
            // device attested before the handover, and who carried it; each entry is cited.
            let till = facts.posSyncOfOffer[completion.offer]
            let pickupScans = (facts.claimScans[completion.claim] ?? []).filter { $0.stage == .pickup }
            let carried = facts.courierDeliveries[completion.claim] ?? []
            seqs += [till?.seq].compactMap { $0 } + pickupScans.map(\.seq) + carried.map(\.seq)
            lines.append([
                "seq": .integer(Int64(rescue.seq)), "time": .integer(rescue.time), "site": .string(completion.provider),
                "claim": .string(completion.claim), "offer": .string(completion.offer), "recipient": .string(completion.claimant),
                "category": .string(completion.category), "destination": "people", "gramsRescued": .integer(completion.gramsRescued),
                "portionsServed": .integer(completion.portionsServed), "meals": .integer(completion.meals),
                "lifecycleGramsCO2e": .integer(completion.lifecycleGramsCO2e), "downstreamGramsCO2e": .integer(completion.downstreamGramsCO2e),
                "paid": .bool((facts.claims[completion.claim]?.claim.priceRupiah ?? 0) > 0), "channel": .string(channel.name), "dispute": .string(dispute.id),
                "disputeOutcome": .string(dispute.outcome), "refundRupiah": .integer(refund), "inTotals": .bool(dispute.counts),
                "tillBodySha256": .string(till?.bodySha256 ?? ""),
                "attestedScore": pickupScans.map(\.score).min().map(JSONValue.integer) ?? .string(""),
                "couriers": .string(carried.map { "\($0.courier):\($0.grams)" }.joined(separator: ";")),
            ])
            guard dispute.counts else {
                excluded += 1
                try Self.add(completion.gramsRescued, to: &excludedGrams)
                continue
            }
            rescues += 1
            try Self.add(completion.gramsRescued, to: &grams)
            try Self.add(completion.portionsServed, to: &portions)
            try Self.add(completion.meals, to: &meals)
            try Self.add(completion.lifecycleGramsCO2e, to: &lifecycle)
            try Self.add(completion.downstreamGramsCO2e, to: &downstream)
            // A category's grams are part of `grams`, which did not overflow.
            byCategory[completion.category, default: 0] += completion.gramsRescued
            byChannel[channel.name, default: 0] += completion.gramsRescued
            let month = String(Self.civilDate(microseconds: rescue.time).text.prefix(7))
            byMonth[month, default: (0, 0, 0)].grams += completion.gramsRescued
            byMonth[month, default: (0, 0, 0)].lifecycle += completion.lifecycleGramsCO2e
            byMonth[month, default: (0, 0, 0)].downstream += completion.downstreamGramsCO2e
            recipients.insert(completion.claimant)
            factorSets[rescue.policy, default: 0] += 1
        }
        // Tokens are the company's (a mint pools the CO2e of all its sites), by entry time.
        var minted: Int64 = 0, buffer: Int64 = 0, retired: Int64 = 0
        for movement in facts.movements where (start...end).contains(movement.time) {
            switch movement.event {
            case .carbonMinted(let mint) where mint.company == id:
                try Self.add(mint.range?.count ?? 0, to: &minted)
                try Self.add(mint.buffer?.count ?? 0, to: &buffer)
                if mint.range != nil || mint.buffer != nil { seqs.append(movement.seq) }
            case .carbonRetired(let owner, let range, _, _) where owner == id:
                try Self.add(range.count, to: &retired)
                seqs.append(movement.seq)
            default: break
            }
        }
        var parameters: [String: JSONValue] = ["company": .string(id)]
        parameters["site"] = site.map(JSONValue.string)
        parameters["from"] = from.map(JSONValue.integer)
        parameters["until"] = until.map(JSONValue.integer)
        // Each factor set's carbon.yaml hash is read from the policy set's (latest) activation.
        seqs += factorSets.keys.compactMap { facts.activationSeqs[$0] }
        let sets: [JSONValue] = factorSets.keys.sorted().map { policy in
            ["policy": .string(policy), "carbonPolicyFile": .string(facts.policyFiles[policy]?["carbon.yaml"] ?? ""), "rescues": .integer(factorSets[policy]!)]
        }
        return Report(
            kind: "csr", parameters: parameters, checkpointSize: checkpointSize, checkpointRoot: checkpointRoot, columns: Self.csrColumns,
            lines: lines,
            totals: [
                "rescues": .integer(rescues), "gramsRescued": .integer(grams), "portionsServed": .integer(portions), "meals": .integer(meals),
                "lifecycleGramsCO2e": .integer(lifecycle), "downstreamGramsCO2e": .integer(downstream),
                "gramsByCategory": .object(byCategory.mapValues(JSONValue.integer)), "gramsByDestination": ["people": .integer(grams)],
                "gramsByChannel": .object(byChannel.mapValues(JSONValue.integer)),
                "byMonth": .object(byMonth.mapValues { month in
                    ["gramsRescued": .integer(month.grams), "lifecycleGramsCO2e": .integer(month.lifecycle), "downstreamGramsCO2e": .integer(month.downstream)]
                }),
                "recipients": .integer(Int64(recipients.count)), "excludedRescues": .integer(excluded), "excludedGrams": .integer(excludedGrams),
                "refundsRupiah": .integer(refunds), "tokensMinted": .integer(minted), "bufferTokens": .integer(buffer), "tokensRetired": .integer(retired),
                "factorSets": .array(sets),
            ],
            seqs: seqs)
    }

    // MARK: Tax donation evidence register

    /// Per company and fiscal year (a WIB calendar year, of the `rescue.completed` entry's time,
    /// which is the delivery's): every completed rescue of a free offer, with its evidence seqs,
    /// the donor's declared cost and whether PP 93/2010 and PMK 76/2011 let it be deducted.
    /// Only a rescue that counts (`rescueCounts`) is a donation in the totals; the others are
    /// listed (`inTotals` false, with the dispute as a reason) and counted apart (`excluded…`).
    /// `priorYearNetIncomeRupiah`, when the donor declares it, caps the deduction at 5 %.
    /// The parameters name the donor's own NPWP when it registered one.
    public func taxRegister(company id: String, year: Int, priorYearNetIncomeRupiah: Int64? = nil) throws(Refusal) -> Report {
        _ = try company(id)
        try ReportRequest.tax(company: id, year: year, priorYearNetIncomeRupiah: priorYearNetIncomeRupiah).checkParameters()
        let providers = facts.providers(of: id)
        var lines: [[String: JSONValue]] = []
        // The company's registration: the donor's NPWP in the parameters.
        var seqs: [UInt64] = registrationSeq(id)
        var donations: Int64 = 0, grams: Int64 = 0, declared: Int64 = 0, eligibleCount: Int64 = 0, eligibleCost: Int64 = 0
        var excluded: Int64 = 0, excludedGrams: Int64 = 0
        for index in facts.rescues.indices where providers.contains(facts.rescues[index].completion.provider) {
            let rescue = facts.rescues[index]
            let completion = rescue.completion
            let date = Self.civilDate(microseconds: rescue.time)
            guard date.year == year, let claim = facts.claims[completion.claim], claim.claim.priceRupiah == 0,
                let offer = facts.offers[completion.offer]
            else { continue }
            let recipient = facts.participants[completion.claimant]
            let recipientSeq = facts.registrationSeqs[completion.claimant]
            var reasons: [String] = []
            if recipient?.taxNumber == nil { reasons.append("recipientHasNoTaxNumber") }
            if recipient?.donationPurpose == nil { reasons.append("recipientPurposeIsNotListed") }
            let cost = offer.offer.costRupiah.map { Self.share(of: $0, grams: completion.gramsRescued, outOf: offer.offer.grams) }
            if cost == nil { reasons.append("costIsNotDeclared") }
            let dispute = disputeState(claim: completion.claim)
            if !dispute.counts { reasons.append(dispute.outcome == "open" ? "disputeIsOpen" : "disputeRefunded") }
            let channel = facts.channel(claim: completion.claim, offer: completion.offer)
            let evidence = [offer.seq, claim.seq] + [facts.pickupSeqs[completion.claim], facts.deliverySeqs[completion.claim], recipientSeq, channel.seq].compactMap { $0 }
            seqs += evidence + [rescue.seq] + dispute.seqs + registrationSeq(completion.provider)
            if dispute.counts {
                donations += 1
                try Self.add(completion.gramsRescued, to: &grams)
                try Self.add(cost ?? 0, to: &declared)
            } else {
                excluded += 1
                try Self.add(completion.gramsRescued, to: &excludedGrams)
            }
            if reasons.isEmpty {
                eligibleCount += 1
                // Eligible costs are part of `declared`, which did not overflow.
                eligibleCost += cost ?? 0
            }
            var line: [String: JSONValue] = [
                "date": .string(date.text), "seq": .integer(Int64(rescue.seq)), "offerSeq": .integer(Int64(offer.seq)),
                "claimSeq": .integer(Int64(claim.seq)), "site": .string(completion.provider), "recipient": .string(completion.claimant),
                "recipientRegistration": .string(recipient?.registrationNumber ?? ""), "recipientTaxNumber": .string(recipient?.taxNumber ?? ""),
                "recipientPurpose": .string(recipient?.donationPurpose?.rawValue ?? ""), "goods": .string(completion.category),
                "gramsRescued": .integer(completion.gramsRescued), "portionsServed": .integer(completion.portionsServed),
                "channel": .string(channel.name), "inTotals": .bool(dispute.counts), "eligible": .bool(reasons.isEmpty),
                "reasons": .array(reasons.map(JSONValue.string)),
            ]
            line["pickupSeq"] = facts.pickupSeqs[completion.claim].map { .integer(Int64($0)) }
            line["deliverySeq"] = facts.deliverySeqs[completion.claim].map { .integer(Int64($0)) }
            line["recipientSeq"] = recipientSeq.map { .integer(Int64($0)) }
            line["costRupiah"] = cost.map(JSONValue.integer)
            lines.append(line)
        }
        var totals: [String: JSONValue] = [
            "donations": .integer(donations), "gramsRescued": .integer(grams), "declaredCostRupiah": .integer(declared),
            "eligibleDonations": .integer(eligibleCount), "eligibleCostRupiah": .integer(eligibleCost),
            "excludedRescues": .integer(excluded), "excludedGrams": .integer(excludedGrams),
        ]
        var parameters: [String: JSONValue] = ["company": .string(id), "year": .integer(Int64(year))]
        parameters["companyTaxNumber"] = facts.participants[id]?.taxNumber.map(JSONValue.string)
        if let income = priorYearNetIncomeRupiah {
            parameters["priorYearNetIncomeRupiah"] = .integer(income)
            let cap = income / 20
            totals["capRupiah"] = .integer(cap)
            totals["deductibleRupiah"] = .integer(min(cap, eligibleCost))
            totals["capExceeded"] = .bool(eligibleCost > cap)
        }
        return Report(
            kind: "tax", parameters: parameters, checkpointSize: checkpointSize, checkpointRoot: checkpointRoot, columns: Self.taxColumns,
            lines: lines, totals: totals, seqs: seqs)
    }

    /// `total × grams / outOf`, rounded down, without overflowing on the way.
    static func share(of total: Int64, grams: Int64, outOf whole: Int64) -> Int64 {
        guard whole > 0 else { return 0 }
        let product = total.multipliedFullWidth(by: grams)
        return whole.dividingFullWidth(product).quotient
    }

    /// The WIB calendar year of a time (µs since the Unix epoch): the fiscal year it falls in.
    public static func civilYear(microseconds: Int64) -> Int { civilDate(microseconds: microseconds).year }

    /// The WIB calendar date of a time (µs since the Unix epoch), by the days-from-civil algorithm.
    static func civilDate(microseconds: Int64) -> (year: Int, text: String) {
        let time = civilTime(microseconds: microseconds)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return (time.year, "\(time.year)-\(two(time.month))-\(two(time.day))")
    }

    /// The first µs of a WIB calendar day (civil-from-days inverted), or nil for a date that
    /// does not exist or a year outside 1…9999.
    public static func microseconds(wibYear year: Int, month: Int, day: Int) -> Int64? {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * Int64(month > 2 ? month - 3 : month + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * dayMicroseconds - wibOffsetMicroseconds
    }

    /// A time (µs since the Unix epoch) on the WIB (UTC+7) wall clock, or another zone's at
    /// `offsetMicroseconds` from UTC: date, hour and minute. Saturates rather than traps at the
    /// ends of Int64.
    public static func civilTime(microseconds: Int64, offsetMicroseconds: Int64 = wibOffsetMicroseconds) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        let shifted = microseconds.addingReportingOverflow(offsetMicroseconds).overflow ? Int64.max : microseconds + offsetMicroseconds
        let days = shifted >= 0 ? shifted / dayMicroseconds : (shifted - dayMicroseconds + 1) / dayMicroseconds
        let minuteOfDay = Int((shifted - days * dayMicroseconds) / 60_000_000)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        return (year, Int(month), Int(day), minuteOfDay / 60, minuteOfDay % 60)
    }

    // MARK: Carbon statement and retirement register

    /// Per company: every carbon movement it took part in, its holdings by serial range and
    /// vintage, its retirements with beneficiaries, its buffer contributions and the full
    /// history of every range it holds or retired.
    public func carbonStatement(company id: String) throws(Refusal) -> Report {
        _ = try company(id)
        var lines: [[String: JSONValue]] = []
        var buffer: [JSONValue] = []
        var retirements: [JSONValue] = []
        var retiredRanges: [SerialRange] = []
        // The company's registration: the statement is about a registered company.
        var seqs: [UInt64] = registrationSeq(id)
        var minted: Int64 = 0, received: Int64 = 0, sent: Int64 = 0, retired: Int64 = 0, cancelled: Int64 = 0, bufferTokens: Int64 = 0
        // Which rescues behind a mint had a device-attested scan before the handover (FORMAT §7.14).
        let claimOfRescue = Dictionary(facts.rescues.map { ($0.seq, $0.completion.claim) }, uniquingKeysWith: { first, _ in first })
        func attested(_ rescues: [UInt64]) -> String {
            let scanned = rescues.filter { seq in (claimOfRescue[seq].flatMap { facts.claimScans[$0] } ?? []).contains { $0.stage == .pickup } }
            return "\(scanned.count) of \(rescues.count)"
        }
        func line(
            _ movement: ReportFacts.Movement, _ kind: EntryKind, _ range: SerialRange, from: String, to: String, beneficiary: String = "", reason: String = "",
            rescues: [UInt64]? = nil
        ) {
            seqs.append(movement.seq)
            lines.append([
                "seq": .integer(Int64(movement.seq)), "time": .integer(movement.time), "kind": .string(kind.rawValue), "vintage": .integer(Int64(range.vintage)),
                "first": .integer(range.first), "last": .integer(range.last), "tokens": .integer(range.count), "from": .string(from), "to": .string(to),
                "beneficiary": .string(beneficiary), "reason": .string(reason), "attestedRescues": .string(rescues.map(attested) ?? ""),
            ])
        }
        for movement in facts.movements {
            switch movement.event {
            case .carbonMinted(let mint) where mint.company == id:
                if let range = mint.range {
                    try Self.add(range.count, to: &minted)
                    line(movement, .carbonMinted, range, from: "", to: id, rescues: mint.basedOn)
                }
                if let range = mint.buffer {
                    try Self.add(range.count, to: &bufferTokens)
                    seqs.append(movement.seq)
                    buffer.append(.object(Self.rangeObject(range, seq: movement.seq)))
                }
            case .carbonTransferred(let from, let to, let range) where from == id || to == id:
                if from == id { try Self.add(range.count, to: &sent) }
                if to == id { try Self.add(range.count, to: &received) }
                line(movement, .carbonTransferred, range, from: from, to: to)
            case .carbonRetired(let owner, let range, let beneficiary, let reason) where owner == id:
                try Self.add(range.count, to: &retired)
                retiredRanges.append(range)
                line(movement, .carbonRetired, range, from: id, to: "", beneficiary: beneficiary, reason: reason)
                var retirement = Self.rangeObject(range, seq: movement.seq)
                retirement["time"] = .integer(movement.time)
                retirement["beneficiary"] = .string(beneficiary)
                retirement["reason"] = .string(reason)
                retirements.append(.object(retirement))
            case .carbonCancelled(let owner, let range, let reason) where owner == id:
                try Self.add(range.count, to: &cancelled)
                line(movement, .carbonCancelled, range, from: id, to: "", reason: reason)
            default: break
            }
        }
        let holdings = Self.merged(facts.carbon.holdings.filter { $0.status == .held(by: id) }.map(\.range))
        var histories: [JSONValue] = []
        for (range, status) in holdings.map({ ($0, "held") }) + Self.merged(retiredRanges).map({ ($0, "retired") }) {
            let touching = facts.movements.filter { movement in movement.event.serialRanges.contains { Self.overlaps($0, range) } }.map(\.seq)
            seqs += touching
            var history = Self.rangeObject(range, seq: nil)
            history["status"] = .string(status)
            history["seqs"] = .array(touching.map { .integer(Int64($0)) })
            histories.append(.object(history))
        }
        var balance: Int64 = 0
        for range in holdings { try Self.add(range.count, to: &balance) }
        return Report(
            kind: "carbon", parameters: ["company": .string(id)], checkpointSize: checkpointSize, checkpointRoot: checkpointRoot,
            columns: Self.carbonColumns, lines: lines,
            totals: [
                "minted": .integer(minted), "received": .integer(received), "sent": .integer(sent), "retired": .integer(retired),
                "cancelled": .integer(cancelled), "balance": .integer(balance), "bufferTokens": .integer(bufferTokens),
            ],
            sections: [
                "holdings": .array(holdings.map { .object(Self.rangeObject($0, seq: nil)) }), "bufferContributions": .array(buffer),
                "retirements": .array(retirements), "serialHistories": .array(histories),
            ],
            seqs: seqs)
    }

    /// Every retirement of every company (public): who retired which serials, for whom and why.
    public func retirementRegister() throws(Refusal) -> Report {
        var lines: [[String: JSONValue]] = []
        var tokens: Int64 = 0
        for movement in facts.movements {
            guard case .carbonRetired(let owner, let range, let beneficiary, let reason) = movement.event else { continue }
            try Self.add(range.count, to: &tokens)
            lines.append([
                "seq": .integer(Int64(movement.seq)), "time": .integer(movement.time), "owner": .string(owner), "vintage": .integer(Int64(range.vintage)),
                "first": .integer(range.first), "last": .integer(range.last), "tokens": .integer(range.count),
                "beneficiary": .string(beneficiary), "reason": .string(reason),
            ])
        }
        return Report(
            kind: "retirements", parameters: [:], checkpointSize: checkpointSize, checkpointRoot: checkpointRoot, columns: Self.retirementColumns,
            lines: lines, totals: ["retirements": .integer(Int64(lines.count)), "tokens": .integer(tokens)],
            seqs: lines.compactMap { $0["seq"]?.integerValue.map(UInt64.init) })
    }

    static func rangeObject(_ range: SerialRange, seq: UInt64?) -> [String: JSONValue] {
        var object: [String: JSONValue] = [
            "vintage": .integer(Int64(range.vintage)), "first": .integer(range.first), "last": .integer(range.last), "tokens": .integer(range.count),
        ]
        object["seq"] = seq.map { .integer(Int64($0)) }
        return object
    }

    /// Sorted, with adjacent ranges of one vintage joined: one canonical form of a set of serials.
    static func merged(_ ranges: [SerialRange]) -> [SerialRange] {
        var result: [SerialRange] = []
        for range in ranges.sorted() {
            if let last = result.last, last.vintage == range.vintage, last.last + 1 >= range.first {
                result[result.count - 1] = SerialRange(vintage: last.vintage, first: last.first, last: max(last.last, range.last))!
            } else {
                result.append(range)
            }
        }
        return result
    }

    static func overlaps(_ a: SerialRange, _ b: SerialRange) -> Bool {
        a.vintage == b.vintage && a.first <= b.last && b.first <= a.last
    }
}

/// One report asked for, by the CLI, the HTTP API or a test; the same request computed from the
/// ledger (`Reports`) and from the mirror (`MirrorReports`) must give the same report.
public enum ReportRequest: Sendable, Equatable {
    case csr(company: String, site: String? = nil, from: Int64? = nil, until: Int64? = nil)
    case tax(company: String, year: Int, priorYearNetIncomeRupiah: Int64? = nil)
    case carbon(company: String)
    case retirements
    /// Built from `csr` and `carbon` of the company, then signed (`ImpactCertificate`).
    case certificate(company: String)

    /// Refuses parameters no report can answer (an empty period, a year out of range, a negative
    /// income), whatever the ledger holds.
    public func checkParameters() throws(Reports.Refusal) {
        switch self {
        case .csr(_, _, let from, let until):
            if let from, let until, from > until { throw .periodIsEmpty }
        case .tax(_, let year, let income):
            guard (2000...2999).contains(year) else { throw .yearIsOutOfRange }
            if let income, income < 0 { throw .incomeMustNotBeNegative }
        case .carbon, .retirements, .certificate:
            break
        }
    }

    /// A sentence saying why `refusal` refuses this request, for the problem's detail.
    public func explain(_ refusal: Reports.Refusal) -> String {
        switch (refusal, self) {
        case (.companyNotFound, _): "\(company ?? "?") is not a registered company in the checkpoint"
        case (.siteIsNotTheCompanys, .csr(let company, let site, _, _)): "\(site ?? "?") is not a site of \(company)"
        case (.periodIsEmpty, _): "from is after until"
        case (.yearIsOutOfRange, _): "the fiscal year must be 2000…2999"
        case (.incomeMustNotBeNegative, _): "the prior-year net income must be ≥ 0 rupiah"
        case (.totalIsOutOfRange, _): "a total of this report is beyond ±(2^53 − 1), the integers reports are written in"
        default: refusal.rawValue
        }
    }

    /// The company the report is about (nil for the public register).
    public var company: String? {
        switch self {
        case .csr(let company, _, _, _), .tax(let company, _, _), .carbon(let company), .certificate(let company): company
        case .retirements: nil
        }
    }

    /// The report's kind, as `Report.kind` and the URL path name it.
    public var kind: String {
        switch self {
        case .csr: "csr"
        case .tax: "tax"
        case .carbon: "carbon"
        case .retirements: "retirements"
        case .certificate: "certificate"
        }
    }
}

extension Reports {
    /// The report `request` asks for; a certificate is signed by `sign`.
    public func report(_ request: ReportRequest, tiers: [(name: String, tokens: Int64)] = [], sign: (String) throws -> String = { $0 }) throws -> Report {
        // Each builder checks its own parameters.
        return switch request {
        case .csr(let company, let site, let from, let until): try csr(company: company, site: site, from: from, until: until)
        case .tax(let company, let year, let income): try taxRegister(company: company, year: year, priorYearNetIncomeRupiah: income)
        case .carbon(let company): try carbonStatement(company: company)
        case .retirements: try retirementRegister()
        case .certificate(let company):
            try ImpactCertificate.make(csr: try csr(company: company), carbon: try carbonStatement(company: company), tiers: tiers, sign: sign)
        }
    }
}
