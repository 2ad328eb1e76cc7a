/// What a till sends, before any vendor shape or signature: the raw event id and lines. The
/// simulator turns it into the command the webhook route would (`PosBook.Report`, through
/// `SimulatedDevices.sha256`); a run over HTTP posts it as the vendor's JSON, signed, and
/// may tamper with the signature (`tamper`).
public struct TillDelivery: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var sku: String
        public var category: String
        public var quantity: Int64
        public var gramsEach: Int64
        public var priceRupiahEach: Int64

        public init(sku: String, category: String, quantity: Int64, gramsEach: Int64, priceRupiahEach: Int64) {
            self.sku = sku
            self.category = category
            self.quantity = quantity
            self.gramsEach = gramsEach
            self.priceRupiahEach = priceRupiahEach
        }
    }

    /// A hostile or careless delivery the webhook route must refuse (only in runs that sign).
    public enum Tamper: String, Sendable, Hashable { case badSignature, expired }

    public var connection: String
    public var vendor: PosBook.Vendor
    public var eventID: String
    public var lines: [Line]
    public var tamper: Tamper?

    public init(connection: String, vendor: PosBook.Vendor, eventID: String, lines: [Line], tamper: Tamper? = nil) {
        self.connection = connection
        self.vendor = vendor
        self.eventID = eventID
        self.lines = lines
        self.tamper = tamper
    }
}

extension CitySimulator {
    /// The tills connected in a simulated city: every third company's first site, rotating
    /// vendors and `pos.yaml`'s example mappings.
    static let tillMappings = ["warungDonation", "bakeryHalfPrice", "supermarketFlash"]
    static let tillCategories = [
        "warungDonation": ["Nasi", "Lauk", "Roti", "Sayur", "Minuman"], "bakeryHalfPrice": ["Roti", "Kue", "Minuman"],
        "supermarketFlash": ["Susu", "Buah", "Sayur", "Minuman"],
    ]

    /// Pahlawan-Connect: a till reports its stock in the evening (mostly new events; sometimes a
    /// vendor's retry of the last one, and, in runs that sign, a forged or stale delivery).
    mutating func tillSync(world: RescueWorld) -> Step? {
        guard devices != nil, !tills.isEmpty, surgeFactor() > 1 || scanRandom.chance(percent: 20) else { return nil }
        if scanRandom.chance(percent: 12), let last = lastDelivery { return tillStep(last) }
        let (connection, site) = tills[Int(scanRandom.next(below: UInt64(tills.count)))]
        guard let till = world.pos.connections[connection] else { return nil }
        let vocabulary = Self.tillCategories[till.mapping] ?? ["Minuman"]
        var lines: [TillDelivery.Line] = []
        for number in 0..<(1 + scanRandom.int(below: 4)) {
            let category = vocabulary[Int(scanRandom.next(below: UInt64(vocabulary.count)))]
            lines.append(TillDelivery.Line(
                sku: "SKU-\(Self.letters(Int64(number)))\(scanRandom.int(below: 900) + 100)", category: category, quantity: scanRandom.int(below: 12),
                gramsEach: 150 + scanRandom.int(below: 400), priceRupiahEach: 5_000 + 500 * scanRandom.int(below: 60)))
        }
        var delivery = TillDelivery(connection: connection, vendor: till.vendor, eventID: "evt_\(run)\(site)_\(nextCounter())", lines: lines)
        if webhooksAreSigned, scanRandom.chance(percent: 10) { delivery.tamper = scanRandom.chance(percent: 50) ? .badSignature : .expired }
        if delivery.tamper == nil { lastDelivery = delivery }
        return tillStep(delivery)
    }

    private func tillStep(_ delivery: TillDelivery) -> Step {
        let sha256 = devices!.sha256
        let report = PosBook.Report(
            connection: delivery.connection, vendorEventSha256: sha256(delivery.eventID), bodySha256: sha256("\(delivery)"),
            lines: delivery.lines.filter { $0.quantity > 0 }.map {
                PosBook.Line(skuSha256: sha256($0.sku), vendorCategory: $0.category, quantity: $0.quantity, gramsEach: $0.gramsEach, priceRupiahEach: $0.priceRupiahEach)
            }, offerStem: String(sha256(delivery.connection + "/" + delivery.eventID).prefix(12).map { Character(Unicode.Scalar(UInt8(ascii: "a") + $0.asciiValue! % 26)) }))
        let site = world(site: delivery.connection)
        return Step(command: .syncPos(report), actor: site, now: now, till: delivery)
    }

    private func world(site connection: String) -> String { tills.first { $0.connection == connection }?.site ?? "" }
}
