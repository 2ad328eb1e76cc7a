import Rescue

/// A request body decoded strictly: any field not in `fields` is refused.
protocol StrictBody: Decodable {
    static var fields: Set<String> { get }
}

/// The boundary's half of the input domains (FORMAT §9): a value outside its field's domain is
/// refused with 400 naming the field, before any engine sees it. The engines check the same
/// `InputDomain` again and refuse with 422, so a caller that is not this server is held to it too.
enum Field {
    static func range<Value: Comparable & Sendable>(_ value: Value?, _ domain: ClosedRange<Value>, _ field: String) throws {
        guard let value, !domain.contains(value) else { return }
        throw Problem(.badRequest, "fieldOutOfRange", "A field is outside its range", detail: "\(field) must be \(domain.lowerBound)…\(domain.upperBound)")
    }

    /// A new id the caller chose: the pseudonymous grammar.
    static func id(_ value: String?, _ field: String) throws {
        guard let value, !InputDomain.isID(value) else { return }
        throw Problem(
            .badRequest, "idIsNotPseudonymous", "An id must be pseudonymous",
            detail: "\(field): 1–64 bytes, a lowercase letter first, then a-z 0-9 . _ : -, at most \(InputDomain.idDigitsMax) digits in all")
    }

    /// A code from a closed list (never free text).
    static func code<Code: RawRepresentable & CaseIterable>(_ value: String, _ type: Code.Type, _ field: String) throws where Code.RawValue == String {
        guard Code(rawValue: value) == nil else { return }
        throw Problem(.badRequest, "reasonIsNotACode", "Not one of the codes", detail: "\(field): " + Code.allCases.map(\.rawValue).joined(separator: ", "))
    }

    /// An id naming something that already exists (looked up, never stored as given unless found).
    static func reference(_ value: String, _ field: String) throws {
        guard !ParticipantRegistry.isPseudonymous(value) else { return }
        throw Problem(.badRequest, "idIsNotPseudonymous", "An id must be pseudonymous", detail: "\(field) is not an id")
    }
}

struct ParticipantBody: StrictBody {
    static let fields: Set<String> = [
        "id", "role", "company", "region", "latitude", "longitude", "registrationNumber", "capacityPortions", "acceptedCategories",
        "serviceRadiusMetres", "headcountServed", "taxNumber", "donationPurpose", "vehicleGrams", "coldChain",
    ]
    var id: String
    var role: String
    var company: String?
    var region: String
    var latitude: Int64?
    var longitude: Int64?
    var registrationNumber: String?
    var capacityPortions: Int64?
    var acceptedCategories: [String]?
    var serviceRadiusMetres: Int64?
    var headcountServed: Int64?
    var taxNumber: String?
    var donationPurpose: String?
    /// Couriers: what the vehicle carries (grams) and whether it keeps food cold.
    var vehicleGrams: Int64?
    var coldChain: Bool?

    func participant() throws -> ParticipantRegistry.Participant {
        try Field.id(id, "id")
        if let company { try Field.reference(company, "company") }
        guard InputDomain.regions.contains(region) else {
            throw Problem(.badRequest, "regionIsUnknown", "Not a province of Indonesia", detail: "region must be an ISO 3166-2:ID province code, e.g. ID-JK")
        }
        try Field.range(latitude, InputDomain.latitude, "latitude")
        try Field.range(longitude, InputDomain.longitude, "longitude")
        try Field.range(capacityPortions, InputDomain.capacityPortions, "capacityPortions")
        try Field.range(serviceRadiusMetres, 1...CandidateSearch.serviceRadiusMetresMax, "serviceRadiusMetres")
        try Field.range(headcountServed, InputDomain.headcountServed, "headcountServed")
        try Field.range(vehicleGrams, InputDomain.vehicleGrams, "vehicleGrams")
        if let registrationNumber, !InputDomain.isRegistrationNumber(registrationNumber) {
            throw Problem(
                .badRequest, "registrationNumberIsMalformed", "Not an organisation's registration number",
                detail: "a registry prefix of 2–10 capitals, '-', then 1–53 of A-Z 0-9 . / - (e.g. AHU-0012345.AH.01.04), holding no NIK or phone number")
        }
        if let taxNumber, !ParticipantRegistry.isOrganisationTaxNumber(taxNumber) {
            throw Problem(.badRequest, "taxNumberIsNotAnOrganisationNPWP", "Not an organisation's NPWP", detail: "16 digits starting with 0")
        }
        if let acceptedCategories, acceptedCategories.count > 64 || Set(acceptedCategories).count != acceptedCategories.count {
            throw Problem(.badRequest, "fieldOutOfRange", "A field is outside its range", detail: "acceptedCategories: distinct categories of carbon.yaml")
        }
        guard let role = ParticipantRegistry.Role(rawValue: role) else {
            throw Problem(.badRequest, "unknownRole", "Not a participant role", detail: ParticipantRegistry.Role.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let purpose = try donationPurpose.map { name in
            guard let purpose = ParticipantRegistry.DonationPurpose(rawValue: name) else {
                throw Problem(.badRequest, "unknownDonationPurpose", "Not a PP 93/2010 donation purpose",
                    detail: ParticipantRegistry.DonationPurpose.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return purpose
        }
        return .init(
            id: id, role: role, company: company, region: region, latitude: latitude, longitude: longitude, registrationNumber: registrationNumber,
            capacityPortions: capacityPortions, acceptedCategories: Set(acceptedCategories ?? []), serviceRadiusMetres: serviceRadiusMetres,
            headcountServed: headcountServed, taxNumber: taxNumber, donationPurpose: purpose, vehicleGrams: vehicleGrams, coldChain: coldChain)
    }
}

struct SurplusBody: StrictBody {
    static let fields: Set<String> = [
        "id", "category", "grams", "portions", "latitude", "longitude", "temperature", "expiresAt", "priceRupiah", "costRupiah", "scan",
    ]
    var id: String?
    var category: String
    var grams: Int64
    var portions: Int64
    var latitude: Int64
    var longitude: Int64
    var temperature: String
    /// µs since the Unix epoch.
    var expiresAt: Int64
    var priceRupiah: Int64
    /// The donor's declared cost of the goods (for the tax register).
    var costRupiah: Int64?
    /// A device-signed scan of the offer (FORMAT §7.14), required for some categories.
    var scan: SignedScanBody?

    /// The domains of FORMAT §9, checked before the command is built.
    func check() throws {
        try Field.id(id, "id")
        try Field.range(grams, InputDomain.grams, "grams")
        try Field.range(portions, InputDomain.portions, "portions")
        try Field.range(latitude, InputDomain.latitude, "latitude")
        try Field.range(longitude, InputDomain.longitude, "longitude")
        try Field.range(expiresAt, InputDomain.microseconds, "expiresAt")
        try Field.range(priceRupiah, InputDomain.rupiah, "priceRupiah")
        try Field.range(costRupiah, InputDomain.rupiah, "costRupiah")
        guard category.utf8.count <= 64 else { throw Problem(.badRequest, "fieldOutOfRange", "A field is outside its range", detail: "category: a carbon.yaml category") }
    }

    func temperatureValue() throws -> OfferBook.Temperature {
        guard let value = OfferBook.Temperature(rawValue: temperature) else {
            throw Problem(.badRequest, "unknownTemperature", "Not a temperature class", detail: "ambient, chilled, frozen or hot")
        }
        return value
    }
}

struct ClaimBody: StrictBody {
    static let fields: Set<String> = ["id", "offer", "seenVersion", "portions"]
    /// The caller's own id for the claim (pseudonymous); chosen by the service when absent.
    var id: String?
    var offer: String
    var seenVersion: Int64
    var portions: Int64

    func check() throws {
        try Field.id(id, "id")
        try Field.reference(offer, "offer")
        try Field.range(seenVersion, InputDomain.version, "seenVersion")
        try Field.range(portions, InputDomain.portions, "portions")
    }
}

struct AuctionBody: StrictBody {
    static let fields: Set<String> = ["id", "offer", "curve", "startRupiah", "floorRupiah", "durationMinutes"]
    /// The caller's own id for the auction (pseudonymous); chosen by the service when absent.
    var id: String?
    var offer: String
    /// A curve named in `policies/auction.yaml`.
    var curve: String
    var startRupiah: Int64
    var floorRupiah: Int64
    var durationMinutes: Int64

    func check() throws {
        try Field.id(id, "id")
        try Field.reference(offer, "offer")
        guard (1...64).contains(curve.utf8.count), curve.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) }) else {
            throw Problem(.badRequest, "fieldOutOfRange", "A field is outside its range", detail: "curve: 1–64 letters or digits, a name from policies/auction.yaml")
        }
        try Field.range(startRupiah, InputDomain.rupiah, "startRupiah")
        try Field.range(floorRupiah, InputDomain.rupiah, "floorRupiah")
        try Field.range(durationMinutes, InputDomain.auctionMinutes, "durationMinutes")
    }
}

struct BidBody: StrictBody {
    static let fields: Set<String> = ["id", "seenPriceRupiah", "portions"]
    /// The caller's own id for the claim a won bid becomes (pseudonymous); chosen when absent.
    var id: String?
    /// The whole lot's price the bidder was shown; the bid stands only if the price now is no higher.
    var seenPriceRupiah: Int64
    /// Portions wanted (part lots only); the whole lot when absent.
    var portions: Int64?

    func check() throws {
        try Field.id(id, "id")
        try Field.range(seenPriceRupiah, InputDomain.rupiah, "seenPriceRupiah")
        try Field.range(portions, InputDomain.portions, "portions")
    }
}

struct GroupBody: StrictBody {
    static let fields: Set<String> = ["id", "area", "offer", "category", "deadline", "minPortions"]
    /// The caller's own id for the group (pseudonymous); chosen by the service when absent.
    var id: String?
    /// `<10-digit BPS kelurahan code>.rw<NN>.rt<NN>`.
    var area: String
    var offer: String?
    var category: String?
    var deadline: Int64
    var minPortions: Int64

    func check() throws {
        try Field.id(id, "id")
        if let offer { try Field.reference(offer, "offer") }
        guard GroupBook.isAreaCode(area) else {
            throw Problem(.badRequest, "areaIsNotAnRTRWCode", "The area is not an RT/RW code", detail: "area: <10-digit BPS kelurahan code>.rw<NN>.rt<NN>, e.g. 3174031002.rw07.rt03")
        }
        if let category, !(1...64).contains(category.utf8.count) {
            throw Problem(.badRequest, "fieldOutOfRange", "A field is outside its range", detail: "category: a category of carbon.yaml")
        }
        try Field.range(deadline, InputDomain.microseconds, "deadline")
        try Field.range(minPortions, InputDomain.portions, "minPortions")
    }
}

struct GroupJoinBody: StrictBody {
    static let fields: Set<String> = ["portions"]
    var portions: Int64

    func check() throws { try Field.range(portions, InputDomain.portions, "portions") }
}

struct GroupClaimBody: StrictBody {
    static let fields: Set<String> = ["id", "offer"]
    var id: String?
    /// For a group formed for a category: the offer it claims.
    var offer: String?

    func check() throws {
        try Field.id(id, "id")
        if let offer { try Field.reference(offer, "offer") }
    }
}

struct GroupNoShowBody: StrictBody {
    static let fields: Set<String> = ["member"]
    var member: String

    func check() throws { try Field.reference(member, "member") }
}

struct PickupBody: StrictBody {
    static let fields: Set<String> = ["pickupCode", "grams", "declaredFreshnessScore"]
    var pickupCode: String
    var grams: Int64
    /// What the provider says of the food's freshness (0–100): recorded as declared, decides nothing.
    var declaredFreshnessScore: Int64?

    func check() throws {
        guard (1...InputDomain.pickupCodeBytesMax).contains(pickupCode.utf8.count) else {
            throw Problem(.badRequest, "fieldOutOfRange", "A field is outside its range", detail: "pickupCode: 1–\(InputDomain.pickupCodeBytesMax) bytes")
        }
        try Field.range(grams, InputDomain.grams, "grams")
        try Field.range(declaredFreshnessScore, InputDomain.freshnessScore, "declaredFreshnessScore")
    }
}

struct DeliveryBody: StrictBody {
    static let fields: Set<String> = ["portionsServed"]
    var portionsServed: Int64

    func check() throws { try Field.range(portionsServed, 0...InputDomain.portions.upperBound, "portionsServed") }
}

/// A route that takes no fields: `{}` (or an empty body).
struct EmptyBody: StrictBody {
    static let fields: Set<String> = []
}

struct DisputeBody: StrictBody {
    static let fields: Set<String> = ["id", "claim", "reason", "evidence"]
    var id: String?
    var claim: String
    var reason: String
    /// References to evidence (digests of photos, document ids); never personal data.
    var evidence: [String]

    func check() throws {
        try Field.id(id, "id")
        try Field.reference(claim, "claim")
        guard evidence.count <= InputDomain.evidenceCountMax else {
            throw Problem(.badRequest, "fieldOutOfRange", "A field is outside its range", detail: "evidence: at most \(InputDomain.evidenceCountMax) references")
        }
        for (index, item) in evidence.enumerated() {
            let isDigest = item.hasPrefix("sha256:")
            guard (1...InputDomain.evidenceReferenceBytesMax).contains(item.utf8.count), item.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }),
                !isDigest || (item.utf8.count == 71 && item.utf8.dropFirst(7).allSatisfy { (48...57).contains($0) || (97...102).contains($0) })
            else {
                throw Problem(
                    .badRequest, "evidenceIsNotAReference", "Evidence is given by reference",
                    detail: "evidence[\(index)]: 1–\(InputDomain.evidenceReferenceBytesMax) bytes without spaces or control characters, e.g. sha256:<64 hex digits> of a photo or a document id")
            }
            // Recorded only as a keyed digest, but a reference that is plainly personal data is
            // a mistake worth saying so (a file digest is exempt: its hex digits are random).
            if !isDigest { try RequestBodies.requireNoPersonalData(item, field: "evidence[\(index)]") }
        }
    }
}

struct DecisionBody: StrictBody {
    static let fields: Set<String> = ["outcome", "refundRupiah"]
    var outcome: String
    var refundRupiah: Int64?

    func outcomeValue() throws -> DisputeBook.Outcome {
        try Field.range(refundRupiah, 1...InputDomain.rupiah.upperBound, "refundRupiah")
        switch (outcome, refundRupiah) {
        case ("fullRefund", nil): return .fullRefund
        case ("partialRefund", let rupiah?): return .partialRefund(rupiah: rupiah)
        case ("noRefund", nil): return .noRefund
        case ("noRefundRelist", nil): return .noRefundRelist
        default:
            throw Problem(
                .badRequest, "unknownOutcome", "Not a dispute outcome",
                detail: "fullRefund, noRefund, noRefundRelist, or partialRefund with refundRupiah (and only then)")
        }
    }
}

/// A serial range of one vintage: `{"vintage": 2026, "first": 1, "last": 10}`.
struct RangeBody: Decodable {
    var vintage: Int
    var first: Int64
    var last: Int64

    func value() throws -> SerialRange {
        try Field.range(vintage, InputDomain.vintage, "range.vintage")
        try Field.range(first, InputDomain.serial, "range.first")
        try Field.range(last, InputDomain.serial, "range.last")
        guard let range = SerialRange(vintage: vintage, first: first, last: last) else {
            throw Problem(.badRequest, "badSerialRange", "Not a serial range", detail: "needs 1 ≤ first ≤ last")
        }
        return range
    }
}

struct TransferBody: StrictBody {
    static let fields: Set<String> = ["to", "range"]
    var to: String
    var range: RangeBody

    func check() throws { try Field.reference(to, "to") }
}

struct RetirementBody: StrictBody {
    static let fields: Set<String> = ["range", "beneficiary", "reason"]
    var range: RangeBody
    /// Who the retirement is for: an id (a participant, or for a person a vault subject),
    /// because the public retirement register republishes it forever.
    var beneficiary: String
    /// A `RetirementReason` code.
    var reason: String

    func check() throws {
        guard InputDomain.isID(beneficiary) else {
            throw Problem(
                .badRequest, "beneficiaryIsNotAnID", "The beneficiary must be an id",
                detail: "a participant id, or for a person the subject id the vault gave (POST /v1/subjects); never a name")
        }
        try Field.code(reason, RetirementReason.self, "reason")
    }
}

struct CancellationBody: StrictBody {
    static let fields: Set<String> = ["range", "reason"]
    var range: RangeBody
    /// A `CancellationReason` code.
    var reason: String

    func check() throws { try Field.code(reason, CancellationReason.self, "reason") }
}
