/// Point-of-sale connections and the end-of-day reports they synced (FORMAT §7.15). Pure: the
/// webhook's signature and the vendor's payload shape are Core's; this book holds which site
/// each connection posts for, which vendor events it already took, and the mapping rules that
/// turn a report's lines into offers.
public struct PosBook: Sendable, Equatable {
    public enum Vendor: String, Hashable, Sendable, CaseIterable { case canonical, moka, majoo }

    public struct Connection: Hashable, Sendable {
        public var id: String
        public var site: String
        public var vendor: Vendor
        public var mapping: String

        public init(id: String, site: String, vendor: Vendor, mapping: String) {
            self.id = id
            self.site = site
            self.vendor = vendor
            self.mapping = mapping
        }
    }

    /// One line of a till's report, as the adapter read it. `vendorCategory` is the vendor's
    /// free text: it selects a mapping and never reaches the ledger.
    public struct Line: Hashable, Sendable {
        public var skuSha256: String
        public var vendorCategory: String
        public var quantity: Int64
        public var gramsEach: Int64
        public var priceRupiahEach: Int64

        public init(skuSha256: String, vendorCategory: String, quantity: Int64, gramsEach: Int64, priceRupiahEach: Int64) {
            self.skuSha256 = skuSha256
            self.vendorCategory = vendorCategory
            self.quantity = quantity
            self.gramsEach = gramsEach
            self.priceRupiahEach = priceRupiahEach
        }
    }

    /// A verified webhook delivery: digests of the vendor's event id and of the exact body.
    public struct Report: Hashable, Sendable {
        public var connection: String
        public var vendorEventSha256: String
        public var bodySha256: String
        public var lines: [Line]
        /// 12 letters naming this event's offers (`pos-<stem>-<line>`), keyed by the service
        /// over the connection and the event, so they are unique and unpredictable.
        public var offerStem: String

        public init(connection: String, vendorEventSha256: String, bodySha256: String, lines: [Line], offerStem: String) {
            self.offerStem = offerStem
            self.connection = connection
            self.vendorEventSha256 = vendorEventSha256
            self.bodySha256 = bodySha256
            self.lines = lines
        }
    }

    /// `scanRequired`: the category must be posted with an attested scan (`freshness.yaml`).
    /// `noPrice`: an auction mapping's line the till priced at 0 (nothing to auction).
    public enum SkipReason: String, Hashable, Sendable { case unmapped, belowMinimum, scanRequired, noPrice }

    /// What one line became: an offer, or why it was skipped.
    public struct MappedLine: Hashable, Sendable {
        public var sku: String
        public var quantity: Int64
        /// What the till said of each unit (recorded, so anyone can recompute the offer).
        public var gramsEach: Int64
        public var priceRupiahEach: Int64
        public var offer: String?
        public var category: String?
        public var grams: Int64?
        public var priceRupiah: Int64?
        public var skipped: SkipReason?

        public init(
            sku: String, quantity: Int64, gramsEach: Int64, priceRupiahEach: Int64, offer: String? = nil, category: String? = nil, grams: Int64? = nil,
            priceRupiah: Int64? = nil, skipped: SkipReason? = nil
        ) {
            self.sku = sku
            self.quantity = quantity
            self.gramsEach = gramsEach
            self.priceRupiahEach = priceRupiahEach
            self.offer = offer
            self.category = category
            self.grams = grams
            self.priceRupiah = priceRupiah
            self.skipped = skipped
        }
    }

    /// The `pos.synced` entry.
    public struct Synced: Hashable, Sendable {
        public var connection: String
        public var vendorEvent: String
        public var bodySha256: String
        public var lines: [MappedLine]

        public init(connection: String, vendorEvent: String, bodySha256: String, lines: [MappedLine]) {
            self.connection = connection
            self.vendorEvent = vendorEvent
            self.bodySha256 = bodySha256
            self.lines = lines
        }
    }

    /// The prefix of till offers' ids, which no other post may use.
    public static let offerIDPrefix = "pos-"

    public private(set) var connections: IDTable<Connection> = [:]
    /// The seq of each vendor event's `pos.synced`, by `<connection>/<vendorEvent>`.
    public private(set) var syncedEvents: IDTable<UInt64> = [:]

    public init() {}

    public func decideConnect(_ connection: Connection, siteRole: ParticipantRegistry.Role?, policy: PosPolicy) -> Result<Connection, PosRejection> {
        guard InputDomain.isID(connection.id) else { return .failure(.idIsNotPseudonymous) }
        guard connections[connection.id] == nil else { return .failure(.posConnectionAlreadyExists) }
        guard siteRole == .site else { return .failure(.posSiteIsNotASite) }
        guard policy.mappings[connection.mapping] != nil else { return .failure(.posMappingIsUnknown) }
        return .success(connection)
    }

    /// The seq of an event already synced, nil for a new one.
    public func syncedSeq(connection: String, vendorEvent: String) -> UInt64? { syncedEvents[connection + "/" + vendorEvent] }

    /// Each line mapped by the connection's rules (`offerID` names a mapped line's offer).
    /// `requireScan`: categories whose offers need an attested scan, which a till cannot give.
    public func map(_ report: Report, mapping: PosPolicy.Mapping, requireScan: Set<String>, offerID: (Int) -> String) -> Result<[MappedLine], PosRejection> {
        // A till that sold out reports nothing left: recorded, with no offer.
        guard report.lines.count <= PosPolicy.linesMax else { return .failure(.posReportHasTooManyLines) }
        var mapped: [MappedLine] = []
        for (index, line) in report.lines.enumerated() {
            guard InputDomain.portions.contains(line.quantity), InputDomain.grams.contains(line.gramsEach), InputDomain.rupiah.contains(line.priceRupiahEach) else {
                return .failure(.posLineIsOutOfRange)
            }
            guard let category = mapping.skus[line.skuSha256] ?? mapping.categories[line.vendorCategory] else {
                mapped.append(MappedLine(sku: line.skuSha256, quantity: line.quantity, gramsEach: line.gramsEach, priceRupiahEach: line.priceRupiahEach, skipped: .unmapped))
                continue
            }
            guard line.quantity >= mapping.minPortions else {
                mapped.append(MappedLine(sku: line.skuSha256, quantity: line.quantity, gramsEach: line.gramsEach, priceRupiahEach: line.priceRupiahEach, skipped: .belowMinimum))
                continue
            }
            guard requireScan.contains(category) == false else {
                mapped.append(MappedLine(sku: line.skuSha256, quantity: line.quantity, gramsEach: line.gramsEach, priceRupiahEach: line.priceRupiahEach, skipped: .scanRequired))
                continue
            }
            guard let grams = line.quantity.multiplied(by: line.gramsEach, dividedBy: 1), InputDomain.grams.contains(grams),
                let full = line.quantity.multiplied(by: line.priceRupiahEach, dividedBy: 1), InputDomain.rupiah.contains(full)
            else { return .failure(.posLineIsOutOfRange) }
            if mapping.outcome == .auction && full == 0 {
                mapped.append(MappedLine(sku: line.skuSha256, quantity: line.quantity, gramsEach: line.gramsEach, priceRupiahEach: line.priceRupiahEach, skipped: .noPrice))
                continue
            }
            let price: Int64 =
                switch mapping.outcome {
                case .donation: 0
                case .fixedPrice: full.multiplied(by: 100 - mapping.discountPercent, dividedBy: 100) ?? 0
                case .auction: full
                }
            mapped.append(MappedLine(sku: line.skuSha256, quantity: line.quantity, gramsEach: line.gramsEach, priceRupiahEach: line.priceRupiahEach, offer: offerID(index), category: category, grams: grams, priceRupiah: price))
        }
        return .success(mapped)
    }

    public mutating func applyConnected(_ connection: Connection) { connections[connection.id] = connection }

    public mutating func applySynced(_ synced: Synced, seq: UInt64) { syncedEvents[synced.connection + "/" + synced.vendorEvent] = seq }
}

/// Why a POS command was refused (FORMAT §7.15).
public enum PosRejection: String, Error, Sendable, CaseIterable {
    case idIsNotPseudonymous
    case posConnectionAlreadyExists
    case posSiteIsNotASite
    case posMappingIsUnknown
    case posConnectionNotFound
    case posEventAlreadySynced
    case posReportHasTooManyLines
    case posLineIsOutOfRange
    case actorIsNotTheConnectionsSite
    case idIsReservedForTills

    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .posConnectionNotFound: .notFound
        case .posConnectionAlreadyExists, .posEventAlreadySynced: .conflict
        case .actorIsNotTheConnectionsSite: .forbidden
        case .idIsNotPseudonymous, .idIsReservedForTills, .posSiteIsNotASite, .posMappingIsUnknown, .posReportHasTooManyLines, .posLineIsOutOfRange: .invalid
        }
    }
}

/// `policies/pos.yaml`: the webhook's replay window and the mapping rules by name.
public struct PosPolicy: Hashable, Sendable {
    /// The most lines one report may carry (a till's end of day; bounds one command's work).
    public static let linesMax = 200

    public enum Outcome: String, Hashable, Sendable, CaseIterable { case donation, fixedPrice, auction }

    public struct Mapping: Hashable, Sendable {
        public var outcome: Outcome
        /// Vendor category name → food category (`carbon.yaml`).
        public var categories: [String: String]
        /// Hex SHA-256 of a vendor SKU → food category (overrides `categories`).
        public var skus: [String: String]
        public var minPortions: Int64
        public var expiryMicroseconds: Int64
        public var temperature: OfferBook.Temperature
        /// `fixedPrice`: percent off the till's price.
        public var discountPercent: Int64
        /// `auction`: the curve and its start and floor as percent of the till's price.
        public var curve: String
        public var startPercent: Int64
        public var floorPercent: Int64
        public var durationMicroseconds: Int64

        public init(
            outcome: Outcome, categories: [String: String], skus: [String: String] = [:], minPortions: Int64 = 1, expiryMicroseconds: Int64,
            temperature: OfferBook.Temperature, discountPercent: Int64 = 0, curve: String = "", startPercent: Int64 = 0, floorPercent: Int64 = 0,
            durationMicroseconds: Int64 = 0
        ) {
            self.outcome = outcome
            self.categories = categories
            self.skus = skus
            self.minPortions = minPortions
            self.expiryMicroseconds = expiryMicroseconds
            self.temperature = temperature
            self.discountPercent = discountPercent
            self.curve = curve
            self.startPercent = startPercent
            self.floorPercent = floorPercent
            self.durationMicroseconds = durationMicroseconds
        }
    }

    public var replayWindowMicroseconds: Int64
    public var mappings: [String: Mapping]

    public init(replayWindowMicroseconds: Int64, mappings: [String: Mapping]) {
        self.replayWindowMicroseconds = replayWindowMicroseconds
        self.mappings = mappings
    }

    /// No mappings (callers that run no tills).
    public static let none = PosPolicy(replayWindowMicroseconds: 300_000_000, mappings: [:])
}
