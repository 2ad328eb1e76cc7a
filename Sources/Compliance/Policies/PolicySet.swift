#if canImport(Glibc)
import Glibc
#endif
import Ledger
import Rescue
import Yams

/// The policy files in force (`policies/*.yaml`), validated, with the hash every ledger entry
/// carries in its `policy` field.
public struct PolicySet: Sendable {
    public static let fileNames = ["carbon.yaml", "disputes.yaml", "matching.yaml", "auction.yaml", "groups.yaml", "freshness.yaml", "pos.yaml", "logistics.yaml"]

    public let carbon: CarbonPolicy
    public let offers: OfferPolicy
    public let disputes: DisputePolicy
    /// How long the candidate being offered a donation has to claim it.
    public let matchAcceptWindowMicroseconds: Int64
    /// Flash Ludes auctions (`auction.yaml`).
    public let auctions: AuctionPolicy
    /// RT/RW group buys (`groups.yaml`).
    public let groups: GroupPolicy
    /// Device-attested freshness scans (`freshness.yaml`).
    public let freshness: FreshnessPolicy
    /// POS sync (`pos.yaml`).
    public let pos: PosPolicy
    /// Couriers and Eco-Hero points (`logistics.yaml`).
    public let logistics: LogisticsPolicy
    /// Everything the rescue engines need, in one value.
    public var rescue: RescuePolicy {
        RescuePolicy(
            offers: offers, disputes: disputes, carbon: carbon, matchAcceptWindowMicroseconds: matchAcceptWindowMicroseconds, auctions: auctions,
            groups: groups, freshness: freshness, pos: pos, logistics: logistics)
    }
    /// SHA-256 (hex) of each file's exact bytes, by file name (recorded by `policy.activated`).
    public let fileHashes: [String: String]
    /// Per category: where its emission factors come from.
    public let factorSources: [String: String]
    /// The impact certificate's tiers, lowest first: a company that retired at least `tokens`
    /// tokens itself reaches the tier.
    public let certificateTiers: [(name: String, tokens: Int64)]
    /// SHA-256 over, for each file in `fileNames` order: its name, a newline, its exact bytes, a
    /// zero byte. Anyone holding the files can recompute it.
    public let hash: Hash

    /// Loads and validates the policy files from `directory`; a problem is
    /// reported with the file, line, key and reason.
    public static func load(directory: String) throws(PolicyError) -> PolicySet {
        var texts: [String: String] = [:]
        var material = [UInt8]()
        var fileHashes: [String: String] = [:]
        for name in fileNames {
            let path = directory + "/" + name
            guard let bytes = FileBytes.read(path) else { throw PolicyError(file: path, line: nil, key: nil, reason: "cannot read the file") }
            material += Array(name.utf8) + [0x0A] + bytes + [0x00]
            fileHashes[name] = SHA256.hash(bytes).hex
            texts[path] = String(decoding: bytes, as: UTF8.self)
        }
        func file(_ name: String) throws(PolicyError) -> PolicyFile {
            let path = directory + "/" + name
            return try PolicyFile(path: path, text: texts[path]!)
        }
        return try PolicySet(
            carbon: file("carbon.yaml"), disputes: file("disputes.yaml"), matching: file("matching.yaml"), auction: file("auction.yaml"),
            groups: file("groups.yaml"), freshness: file("freshness.yaml"), pos: file("pos.yaml"), logistics: file("logistics.yaml"),
            hash: SHA256.hash(material), fileHashes: fileHashes)
    }

    private init(
        carbon file: PolicyFile, disputes rules: PolicyFile, matching: PolicyFile, auction: PolicyFile, groups: PolicyFile, freshness: PolicyFile, pos: PolicyFile, logistics: PolicyFile, hash: Hash,
        fileHashes: [String: String]
    ) throws(PolicyError) {
        try file.expectVersion()
        let basisName = try file.string("basis")
        guard let basis = CarbonPolicy.Basis(rawValue: basisName) else {
            throw file.error("basis", "must be lifecycle or downstream, not \(basisName)")
        }
        carbon = CarbonPolicy(
            tokenGrams: try file.integer("tokenGrams", in: 1...1_000_000_000),
            bufferPercent: try file.integer("bufferPercent", in: 0...100), basis: basis)
        var factors: [String: EmissionFactors] = [:]
        var sources: [String: String] = [:]
        for category in try file.keys("categories") {
            let key = "categories.\(category)"
            factors[category] = EmissionFactors(
                lifecycle: try file.integer("\(key).lifecycle", in: 0...1_000_000),
                downstream: try file.integer("\(key).downstream", in: 0...1_000_000))
            sources[category] = try file.string("\(key).source")
        }
        guard !factors.isEmpty else { throw file.error("categories", "must name at least one food category") }
        let hour: Int64 = 3_600_000_000
        offers = OfferPolicy(
            factors: factors, mealGrams: try file.integer("mealGrams", in: 1...10_000),
            hotFoodWindowMicroseconds: try file.integer("foodSafety.hotFoodHours", in: 1...24) * hour,
            otherFoodWindowMicroseconds: try file.integer("foodSafety.otherFoodHours", in: 1...72) * hour)
        factorSources = sources
        var tiers: [(name: String, tokens: Int64)] = []
        for name in try file.keys("certificateTiers") {
            tiers.append((name, try file.integer("certificateTiers.\(name)", in: 1...1_000_000_000_000)))
        }
        tiers.sort { $0.tokens < $1.tokens }
        for (lower, higher) in zip(tiers, tiers.dropFirst()) where lower.tokens == higher.tokens {
            throw file.error("certificateTiers.\(higher.name)", "needs more tokens than \(lower.name)")
        }
        certificateTiers = tiers

        try rules.expectVersion()
        var automatic: [DisputeBook.Reason: DisputeBook.Outcome] = [:]
        for reasonName in try rules.keys("automatic") {
            guard let reason = DisputeBook.Reason(rawValue: reasonName) else {
                throw rules.error("automatic.\(reasonName)", "is not a dispute reason (\(DisputeBook.Reason.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            automatic[reason] = try rules.outcome("automatic.\(reasonName)")
        }
        disputes = DisputePolicy(
            windowMicroseconds: try rules.integer("windowHours", in: 1...720) * hour,
            decisionDeadlineMicroseconds: try rules.integer("decisionDeadlineHours", in: 1...720) * hour,
            freshnessThreshold: try rules.integer("freshnessThreshold", in: 0...100),
            automaticByReason: automatic, outcomeWhenUndecided: try rules.outcome("undecided"),
            claimantNoShowNoticeMicroseconds: try rules.integer("claimantNoShowNoticeMinutes", in: 0...1_440) * 60_000_000)
        try matching.expectVersion()
        matchAcceptWindowMicroseconds = try matching.integer("acceptWindowMinutes", in: 1...1_440) * 60_000_000
        auctions = try Self.auctionPolicy(auction)
        try groups.expectVersion()
        self.groups = GroupPolicy(
            deadlineMicrosecondsMax: try groups.integer("deadlineMinutesMax", in: 1...10_080) * 60_000_000,
            membersMax: try groups.integer("membersMax", in: 1...1_000), portionsPerMemberMax: try groups.integer("portionsPerMemberMax", in: 1...100_000))
        self.freshness = try Self.freshnessPolicy(freshness, categories: Set(factors.keys))
        self.pos = try Self.posPolicy(pos, categories: Set(factors.keys), curves: Set(auctions.curves.keys))
        try logistics.expectVersion()
        let providerCourier = try logistics.string("provider.courier")
        guard InputDomain.isID(providerCourier) else { throw logistics.error("provider.courier", "must be a participant id") }
        self.logistics = LogisticsPolicy(
            acceptWindowMicroseconds: try logistics.integer("acceptWindowMinutes", in: 1...1_440) * 60_000_000,
            batchMax: Int(try logistics.integer("batchMax", in: 1...20)), perKg: try logistics.integer("points.perKg", in: 0...1_000_000),
            perKm: try logistics.integer("points.perKm", in: 0...1_000_000), coldChainBonus: try logistics.integer("points.coldChainBonus", in: 0...1_000_000),
            nearExpiryBonus: try logistics.integer("points.nearExpiryBonus", in: 0...1_000_000),
            nearExpiryMinutes: try logistics.integer("points.nearExpiryMinutes", in: 0...1_440), providerCourier: providerCourier,
            providerBeyondMetres: try logistics.integer("provider.beyondMetres", in: 0...1_000_000),
            providerFailuresToOpen: Int(try logistics.integer("provider.failuresToOpen", in: 1...1_000)),
            providerOpenMicroseconds: try logistics.integer("provider.openSeconds", in: 1...86_400) * 1_000_000)
        self.hash = hash
        self.fileHashes = fileHashes
    }
}

extension PolicySet {
    /// `pos.yaml` (FORMAT §7.15): the replay window and each mapping's rules; categories must be
    /// `carbon.yaml`'s and curves `auction.yaml`'s. SKUs are kept as their SHA-256, the form
    /// a till's lines take once read.
    static func posPolicy(_ file: PolicyFile, categories: Set<String>, curves: Set<String>) throws(PolicyError) -> PosPolicy {
        try file.expectVersion()
        let minute: Int64 = 60_000_000
        var mappings: [String: PosPolicy.Mapping] = [:]
        for name in try file.keys("mappings") {
            let key = "mappings.\(name)"
            guard InputDomain.isID(name) || name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) }),
                (1...64).contains(name.utf8.count)
            else { throw file.error(key, "a mapping name is 1-64 letters and digits") }
            let outcomeName = try file.string("\(key).outcome")
            guard let outcome = PosPolicy.Outcome(rawValue: outcomeName) else { throw file.error("\(key).outcome", "must be donation, fixedPrice or auction, not \(outcomeName)") }
            let temperatureName = try file.string("\(key).temperature")
            guard let temperature = OfferBook.Temperature(rawValue: temperatureName) else {
                throw file.error("\(key).temperature", "must be ambient, chilled, frozen or hot, not \(temperatureName)")
            }
            func foodCategory(_ at: String) throws(PolicyError) -> String {
                let category = try file.string(at)
                guard categories.contains(category) else { throw file.error(at, "\(category) is not a carbon.yaml category") }
                return category
            }
            var byCategory: [String: String] = [:]
            for vendorCategory in try file.keys("\(key).categories") { byCategory[vendorCategory] = try foodCategory("\(key).categories.\(vendorCategory)") }
            var bySKU: [String: String] = [:]
            for sku in try file.keys("\(key).skus") { bySKU[SHA256.hash(Array(sku.utf8)).hex] = try foodCategory("\(key).skus.\(sku)") }
            var mapping = PosPolicy.Mapping(
                outcome: outcome, categories: byCategory, skus: bySKU, minPortions: try file.integer("\(key).minPortions", in: 1...100_000),
                expiryMicroseconds: try file.integer("\(key).expiryMinutes", in: 1...4_320) * minute, temperature: temperature)
            switch outcome {
            case .donation: break
            case .fixedPrice: mapping.discountPercent = try file.integer("\(key).discountPercent", in: 0...100)
            case .auction:
                mapping.curve = try file.string("\(key).curve")
                guard curves.contains(mapping.curve) else { throw file.error("\(key).curve", "\(mapping.curve) is not a curve of auction.yaml") }
                mapping.startPercent = try file.integer("\(key).startPercent", in: 1...100)
                mapping.floorPercent = try file.integer("\(key).floorPercent", in: 0...99)
                guard mapping.floorPercent < mapping.startPercent else { throw file.error("\(key).floorPercent", "must be below startPercent") }
                mapping.durationMicroseconds = try file.integer("\(key).durationMinutes", in: 1...1_440) * minute
            }
            mappings[name] = mapping
        }
        return PosPolicy(replayWindowMicroseconds: try file.integer("replayWindowSeconds", in: 1...3_600) * 1_000_000, mappings: mappings)
    }

    /// `freshness.yaml` (FORMAT §7.14): the pass score, the age window, and the categories
    /// (from `carbon.yaml`) that require an attested scan.
    static func freshnessPolicy(_ file: PolicyFile, categories: Set<String>) throws(PolicyError) -> FreshnessPolicy {
        try file.expectVersion()
        var required: [Set<String>] = []
        for key in ["requireAtOffer", "requireAtPickup"] {
            let names = try file.strings(key)
            for name in names where !categories.contains(name) {
                throw file.error(key, "\(name) is not a carbon.yaml category (\(categories.sorted().joined(separator: ", ")))")
            }
            required.append(Set(names))
        }
        return FreshnessPolicy(
            passScore: try file.integer("passScore", in: 0...100), maxAgeMicroseconds: try file.integer("maxAgeMinutes", in: 1...1_440) * 60_000_000,
            futureSkewMicroseconds: try file.integer("futureSkewSeconds", in: 0...3_600) * 1_000_000, requireAtOffer: required[0],
            requireAtPickup: required[1])
    }
}

extension PolicySet {
    /// `auction.yaml`: every curve's parameters within the domains of FORMAT §7.12.
    static func auctionPolicy(_ file: PolicyFile) throws(PolicyError) -> AuctionPolicy {
        try file.expectVersion()
        let minute: Int64 = 60_000_000
        let durationMinutesMax = try file.integer("durationMinutesMax", in: 1...1_440)
        var curves: [String: AuctionPolicy.CurveRule] = [:]
        for name in try file.keys("curves") {
            let key = "curves.\(name)"
            guard name.utf8.count <= 32, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) else {
                throw file.error(key, "a curve's name is 1–32 letters and digits")
            }
            switch try file.string("\(key).shape") {
            case "linear":
                curves[name] = .linear
            case "steps":
                curves[name] = .steps(
                    stepMinutes: try file.integer("\(key).stepMinutes", in: 1...durationMinutesMax),
                    dropPermille: try file.integer("\(key).dropPermille", in: 1...1_000))
            case "exponential":
                curves[name] = .exponential(halfLifeMinutes: try file.integer("\(key).halfLifeMinutes", in: 1...durationMinutesMax))
            case let other:
                throw file.error("\(key).shape", "must be linear, steps or exponential, not \(other)")
            }
        }
        guard !curves.isEmpty else { throw file.error("curves", "must name at least one curve") }
        return AuctionPolicy(
            durationMicrosecondsMax: durationMinutesMax * minute,
            convertMicrosecondsBeforeExpiry: try file.integer("convertMinutesBeforeExpiry", in: 0...1_440) * minute,
            partialLots: try file.boolean("partialLots"), curves: curves)
    }
}

/// A policy file that cannot be used: which file, where, which key and why.
public struct PolicyError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let key: String?
    public let reason: String

    public var description: String {
        [file + (line.map { ":\($0)" } ?? ""), key, reason].compactMap { $0 }.joined(separator: ": ")
    }
}

/// One parsed YAML file with typed, located accessors. Only what the policies need: mappings
/// (Yams refuses duplicate keys), integers written as plain digits (no floats, no `1e3`, no
/// `0x10`), and strings.
struct PolicyFile {
    let path: String
    let root: Node

    init(path: String, text: String) throws(PolicyError) {
        self.path = path
        let parsed: Node?
        do {
            parsed = try Yams.compose(yaml: text)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            throw PolicyError(file: path, line: context.mark.line, key: duplicates.sorted().first, reason: "appears twice")
        } catch let error as YamlError {
            throw PolicyError(file: path, line: Self.line(of: error), key: nil, reason: "not valid YAML: \(Self.problem(of: error))")
        } catch {
            throw PolicyError(file: path, line: nil, key: nil, reason: "not valid YAML")
        }
        guard let parsed, parsed.mapping != nil else { throw PolicyError(file: path, line: 1, key: nil, reason: "must be a mapping of keys") }
        root = parsed
    }

    func error(_ key: String, _ reason: String) -> PolicyError {
        PolicyError(file: path, line: (try? node(key))?.mark?.line, key: key, reason: reason)
    }

    func node(_ key: String) throws(PolicyError) -> Node {
        var current = root
        for part in key.split(separator: ".") {
            guard let next = current.mapping?[String(part)] else {
                throw PolicyError(file: path, line: current.mark?.line, key: key, reason: "is missing")
            }
            current = next
        }
        return current
    }

    func integer(_ key: String, in range: ClosedRange<Int64>) throws(PolicyError) -> Int64 {
        let value = try node(key)
        guard let text = value.scalar?.string, text.first != "+", let number = Int64(text), String(number) == text else {
            throw PolicyError(file: path, line: value.mark?.line, key: key, reason: "must be a whole number written in digits (no decimals)")
        }
        guard range.contains(number) else {
            throw PolicyError(file: path, line: value.mark?.line, key: key, reason: "must be within \(range.lowerBound)…\(range.upperBound), not \(number)")
        }
        return number
    }

    func string(_ key: String) throws(PolicyError) -> String {
        let value = try node(key)
        guard let text = value.scalar?.string, !text.isEmpty else {
            throw PolicyError(file: path, line: value.mark?.line, key: key, reason: "must be a non-empty text")
        }
        return text
    }

    func strings(_ key: String) throws(PolicyError) -> [String] {
        let value = try node(key)
        guard let items = value.sequence else { throw PolicyError(file: path, line: value.mark?.line, key: key, reason: "must be a list") }
        var strings = [String]()
        for item in items {
            guard let text = item.scalar?.string, !text.isEmpty else {
                throw PolicyError(file: path, line: item.mark?.line, key: key, reason: "must be a list of non-empty texts")
            }
            strings.append(text)
        }
        return strings
    }

    func keys(_ key: String) throws(PolicyError) -> [String] {
        let value = try node(key)
        guard let mapping = value.mapping else { throw PolicyError(file: path, line: value.mark?.line, key: key, reason: "must be a mapping") }
        return mapping.compactMap { $0.key.scalar?.string }.sorted()
    }

    func outcome(_ key: String) throws(PolicyError) -> DisputeBook.Outcome {
        switch try string(key) {
        case "fullRefund": .fullRefund
        case "noRefund": .noRefund
        case "noRefundRelist": .noRefundRelist
        case let other: throw error(key, "must be fullRefund, noRefund or noRefundRelist, not \(other)")
        }
    }

    /// `yes`/`true` or `no`/`false`.
    func boolean(_ key: String) throws(PolicyError) -> Bool {
        switch try string(key) {
        case "yes", "true": true
        case "no", "false": false
        case let other: throw error(key, "must be yes or no, not \(other)")
        }
    }

    func expectVersion() throws(PolicyError) {
        _ = try integer("version", in: 1...1)
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }
}

/// Reads a whole file (policies are small) without Foundation.
enum FileBytes {
    static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count > 0 { bytes += buffer[0..<count] }
            if count < buffer.count { return ferror(file) == 0 ? bytes : nil }
        }
    }
}
