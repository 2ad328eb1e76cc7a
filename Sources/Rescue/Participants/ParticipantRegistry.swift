/// Who takes part, by pseudonymous id only: personal data (names, phone numbers, addresses)
/// lives in the PII vault, never here. Pure `decide` / `apply`, like the other engines.
public struct ParticipantRegistry: Sendable, Equatable {
    public enum Role: String, Hashable, Sendable, CaseIterable {
        /// A company donating or selling surplus (its sites register as providers too).
        case company
        /// A company's site: where food is picked up.
        case site
        /// An NGO, food bank or other organisation receiving food.
        case recipient
        case courier
        case buyer
        /// A neighbourhood (RT/RW) group claiming together.
        case group

        /// Whether this role may claim food or bid for a lot: providers never do, so no provider
        /// can take or buy its own offer; couriers only carry.
        public var mayClaim: Bool {
            switch self {
            case .recipient, .group, .buyer: true
            case .company, .site, .courier: false
            }
        }
    }

    /// The purposes PP 93/2010 Art. 1 lists for deductible donations; a recipient declares the one
    /// it serves (tax reports flag donations to any other purpose as not deductible).
    public enum DonationPurpose: String, Hashable, Sendable, CaseIterable {
        case disasterRelief, research, education, sports, socialInfrastructure
    }

    public struct Participant: Hashable, Sendable {
        public var id: String
        public var role: Role
        /// For a site: the company it belongs to.
        public var company: String?
        /// Province-level region code, e.g. `ID-JK`.
        public var region: String
        /// Micro-degrees (WGS 84); sites and recipients only.
        public var latitude: Int64?
        public var longitude: Int64?
        /// Recipients: the organisation's registration number (not personal data).
        public var registrationNumber: String?
        /// Recipients: how many portions they can take per day.
        public var capacityPortions: Int64?
        /// Recipients: the food categories they accept.
        public var acceptedCategories: Set<String>
        /// Recipients: how far they will travel to collect, in metres.
        public var serviceRadiusMetres: Int64?
        /// Recipients: how many people they feed.
        public var headcountServed: Int64?
        /// Recipients and companies: the organisation's NPWP (16 digits, starting with 0: an
        /// organisation's, never a person's, whose NPWP is the NIK).
        public var taxNumber: String?
        /// Recipients: the PP 93/2010 purpose they serve, if any.
        public var donationPurpose: DonationPurpose?
        /// Couriers: what the vehicle carries, in grams, and whether it keeps food cold.
        public var vehicleGrams: Int64?
        public var coldChain: Bool?

        public init(
            id: String, role: Role, company: String? = nil, region: String, latitude: Int64? = nil, longitude: Int64? = nil,
            registrationNumber: String? = nil, capacityPortions: Int64? = nil, acceptedCategories: Set<String> = [],
            serviceRadiusMetres: Int64? = nil, headcountServed: Int64? = nil, taxNumber: String? = nil, donationPurpose: DonationPurpose? = nil,
            vehicleGrams: Int64? = nil, coldChain: Bool? = nil
        ) {
            self.vehicleGrams = vehicleGrams
            self.coldChain = coldChain
            self.id = id
            self.role = role
            self.company = company
            self.region = region
            self.latitude = latitude
            self.longitude = longitude
            self.registrationNumber = registrationNumber
            self.capacityPortions = capacityPortions
            self.acceptedCategories = acceptedCategories
            self.serviceRadiusMetres = serviceRadiusMetres
            self.headcountServed = headcountServed
            self.taxNumber = taxNumber
            self.donationPurpose = donationPurpose
        }
    }

    public private(set) var participants: IDTable<Participant> = [:]
    /// Each participant's role alone: most commands check only the actor's role, and reading it
    /// from `participants` copied the whole record (a dozen fields, 3% of deciding commands).
    public private(set) var roles: IDTable<Role> = [:]

    public init() {}

    public func decide(_ participant: Participant, categories: Set<String>) -> Result<Participant, ParticipantRejection> {
        guard participants[participant.id] == nil else { return .failure(.participantAlreadyRegistered) }
        guard InputDomain.isID(participant.id) else { return .failure(.idIsNotPseudonymous) }
        guard InputDomain.regions.contains(participant.region) else { return .failure(.regionIsUnknown) }
        if let latitude = participant.latitude, !InputDomain.latitude.contains(latitude) { return .failure(.locationIsOutOfRange) }
        if let longitude = participant.longitude, !InputDomain.longitude.contains(longitude) { return .failure(.locationIsOutOfRange) }
        if let capacity = participant.capacityPortions, !InputDomain.capacityPortions.contains(capacity) { return .failure(.capacityMustBePositive) }
        if let headcount = participant.headcountServed, !InputDomain.headcountServed.contains(headcount) { return .failure(.headcountIsOutOfRange) }
        if let radius = participant.serviceRadiusMetres, !(1...CandidateSearch.serviceRadiusMetresMax).contains(radius) {
            return .failure(radius <= 0 ? .serviceRadiusMustBePositive : .serviceRadiusIsTooLarge)
        }
        if let registration = participant.registrationNumber, !InputDomain.isRegistrationNumber(registration) {
            return .failure(.registrationNumberIsMalformed)
        }
        // Only recipients have a place in the matching engine and a registration; only a site
        // belongs to a company. Anything else is a field nobody checks, so it is refused.
        if participant.role != .recipient,
            participant.registrationNumber != nil || participant.capacityPortions != nil || (participant.serviceRadiusMetres != nil && participant.role != .courier)
                || participant.headcountServed != nil || !participant.acceptedCategories.isEmpty
        {
            return .failure(.fieldIsForRecipientsOnly)
        }
        if participant.role != .courier, participant.vehicleGrams != nil || participant.coldChain != nil { return .failure(.fieldIsForCouriersOnly) }
        if participant.role != .site, participant.company != nil { return .failure(.companyIsForSitesOnly) }
        if ![.site, .recipient, .courier].contains(participant.role), participant.latitude != nil || participant.longitude != nil {
            return .failure(.locationIsForSitesAndRecipientsOnly)
        }
        // A company's NPWP names the donor in the tax register; a purpose is the recipient's.
        if participant.role != .recipient, participant.donationPurpose != nil || (participant.taxNumber != nil && participant.role != .company) {
            return .failure(.taxDetailsAreForRecipientsOnly)
        }
        if let taxNumber = participant.taxNumber, !Self.isOrganisationTaxNumber(taxNumber) { return .failure(.taxNumberIsNotAnOrganisationNPWP) }
        switch participant.role {
        case .site:
            guard let company = participant.company, participants[company]?.role == .company else { return .failure(.siteNeedsARegisteredCompany) }
            guard participant.latitude != nil, participant.longitude != nil else { return .failure(.locationIsMissing) }
        case .recipient:
            guard participant.latitude != nil, participant.longitude != nil else { return .failure(.locationIsMissing) }
            guard participant.registrationNumber != nil else { return .failure(.registrationNumberIsMissing) }
            guard (participant.capacityPortions ?? 0) > 0 else { return .failure(.capacityMustBePositive) }
            guard (participant.serviceRadiusMetres ?? 0) > 0 else { return .failure(.serviceRadiusMustBePositive) }
            guard participant.serviceRadiusMetres! <= CandidateSearch.serviceRadiusMetresMax else { return .failure(.serviceRadiusIsTooLarge) }
            guard !participant.acceptedCategories.isEmpty else { return .failure(.acceptedCategoriesAreEmpty) }
            guard participant.acceptedCategories.isSubset(of: categories) else { return .failure(.categoryIsUnknown) }
        case .courier:
            // A courier is dispatched by where it is based, how far it goes and what it carries.
            guard participant.latitude != nil, participant.longitude != nil else { return .failure(.locationIsMissing) }
            guard (participant.serviceRadiusMetres ?? 0) > 0 else { return .failure(.serviceRadiusMustBePositive) }
            guard let vehicle = participant.vehicleGrams else { return .failure(.vehicleIsMissing) }
            guard InputDomain.vehicleGrams.contains(vehicle) else { return .failure(.vehicleIsOutOfRange) }
        case .company, .buyer, .group:
            break
        }
        return .success(participant)
    }

    /// `participant.registered`.
    public mutating func apply(_ participant: Participant) {
        participants[participant.id] = participant
        roles[participant.id] = participant.role
    }

    /// An organisation's 16-digit NPWP: a leading 0 then the 15 digits of the old format. A
    /// person's NPWP is their NIK, which starts with a province code (11–94), so this rule keeps
    /// personal numbers out of the ledger.
    public static func isOrganisationTaxNumber(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.first == UInt8(ascii: "0") && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// The characters of an id already in the ledger, for looking one up: 1–64 bytes of a-z,
    /// 0-9, '.', '_', ':', '-'. A new id must also meet `InputDomain.isID` (ids written before
    /// that rule keep working as references).
    public static func isPseudonymous(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard !utf8.isEmpty, utf8.count <= 64 else { return false }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
        }
    }
}

/// Why a registration was refused; names read as sentences and never change meaning.
public enum ParticipantRejection: String, Error, Sendable {
    case participantAlreadyRegistered
    case idIsNotPseudonymous
    case locationIsOutOfRange
    case locationIsMissing
    case siteNeedsARegisteredCompany
    case registrationNumberIsMissing
    case capacityMustBePositive
    case serviceRadiusMustBePositive
    case serviceRadiusIsTooLarge
    case acceptedCategoriesAreEmpty
    case categoryIsUnknown
    case taxDetailsAreForRecipientsOnly
    case taxNumberIsNotAnOrganisationNPWP
    case regionIsUnknown
    case headcountIsOutOfRange
    case registrationNumberIsMalformed
    case fieldIsForRecipientsOnly
    case companyIsForSitesOnly
    case locationIsForSitesAndRecipientsOnly
    case fieldIsForCouriersOnly
    case vehicleIsOutOfRange
    case vehicleIsMissing
}

extension ParticipantRejection: CaseIterable {
    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .participantAlreadyRegistered: .conflict
        // A site naming an unregistered company is a body that refers to nothing, not a missing target.
        case .idIsNotPseudonymous, .locationIsOutOfRange, .locationIsMissing, .siteNeedsARegisteredCompany, .registrationNumberIsMissing,
            .capacityMustBePositive, .serviceRadiusMustBePositive, .serviceRadiusIsTooLarge, .acceptedCategoriesAreEmpty, .categoryIsUnknown,
            .taxDetailsAreForRecipientsOnly, .taxNumberIsNotAnOrganisationNPWP, .regionIsUnknown, .headcountIsOutOfRange,
            .registrationNumberIsMalformed, .fieldIsForRecipientsOnly, .companyIsForSitesOnly, .locationIsForSitesAndRecipientsOnly,
            .fieldIsForCouriersOnly, .vehicleIsOutOfRange, .vehicleIsMissing:
            .invalid
        }
    }
}
