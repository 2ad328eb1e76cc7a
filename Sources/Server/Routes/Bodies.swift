import Rescue

/// A request body decoded strictly: any field not in `fields` is refused.
protocol StrictBody: Decodable {
    static var fields: Set<String> { get }
}

struct ParticipantBody: StrictBody {
    static let fields: Set<String> = [
        "id", "role", "company", "region", "latitude", "longitude", "registrationNumber", "capacityPortions", "acceptedCategories",
        "serviceRadiusMetres", "headcountServed", "taxNumber", "donationPurpose",
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

    func participant() throws -> ParticipantRegistry.Participant {
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
            headcountServed: headcountServed, taxNumber: taxNumber, donationPurpose: purpose)
    }
}

struct SurplusBody: StrictBody {
    static let fields: Set<String> = ["id", "category", "grams", "portions", "latitude", "longitude", "temperature", "expiresAt", "priceRupiah", "costRupiah"]
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
}

struct PickupBody: StrictBody {
    static let fields: Set<String> = ["pickupCode", "grams", "freshnessScore"]
    var pickupCode: String
    var grams: Int64
    var freshnessScore: Int64?
}

struct DeliveryBody: StrictBody {
    static let fields: Set<String> = ["portionsServed"]
    var portionsServed: Int64
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
}

struct DecisionBody: StrictBody {
    static let fields: Set<String> = ["outcome", "refundRupiah"]
    var outcome: String
    var refundRupiah: Int64?

    func outcomeValue() throws -> DisputeBook.Outcome {
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
}

struct RetirementBody: StrictBody {
    static let fields: Set<String> = ["range", "beneficiary", "reason"]
    var range: RangeBody
    /// Who the retirement is for (an organisation or a pseudonymous id, never a person's data).
    var beneficiary: String
    var reason: String
}

struct CancellationBody: StrictBody {
    static let fields: Set<String> = ["range", "reason"]
    var range: RangeBody
    var reason: String
}
