import Testing
@testable import Rescue

@Suite struct ParticipantRegistryTests {
    let categories: Set<String> = ["mixedMeals", "bakery"]

    @discardableResult
    func run(_ registry: inout ParticipantRegistry, _ participant: ParticipantRegistry.Participant) -> Result<ParticipantRegistry.Participant, ParticipantRejection> {
        let result = registry.decide(participant, categories: categories)
        if case .success(let registered) = result { registry.apply(registered) }
        return result
    }

    func recipient(_ id: String, radius: Int64? = 5_000, categories: Set<String> = ["mixedMeals"]) -> ParticipantRegistry.Participant {
        .init(id: id, role: .recipient, region: "ID-JK", latitude: -6_200_000, longitude: 106_816_666, registrationNumber: "AHU-0012345",
              capacityPortions: 120, acceptedCategories: categories, serviceRadiusMetres: radius, headcountServed: 80)
    }

    @Test func aTranscriptOfRegistrations() {
        var registry = ParticipantRegistry()
        let site = ParticipantRegistry.Participant(id: "site-jkt-01", role: .site, company: "cmp-01", region: "ID-JK", latitude: -6_170_000, longitude: 106_820_000)
        #expect(run(&registry, site) == .failure(.siteNeedsARegisteredCompany))
        #expect(run(&registry, .init(id: "cmp-01", role: .company, region: "ID-JK")).isSuccess)
        #expect(run(&registry, site).isSuccess)
        #expect(run(&registry, .init(id: "cmp-01", role: .company, region: "ID-JK")) == .failure(.participantAlreadyRegistered))
        #expect(run(&registry, .init(id: "siti@example.com", role: .buyer, region: "ID-JK")) == .failure(.idIsNotPseudonymous))
        #expect(run(&registry, .init(id: "+6281234567890", role: .courier, region: "ID-JK")) == .failure(.idIsNotPseudonymous))
        #expect(run(&registry, recipient("rcp-01", radius: 0)) == .failure(.serviceRadiusMustBePositive))
        #expect(run(&registry, recipient("rcp-01", categories: [])) == .failure(.acceptedCategoriesAreEmpty))
        #expect(run(&registry, recipient("rcp-01", categories: ["caviar"])) == .failure(.categoryIsUnknown))
        #expect(run(&registry, recipient("rcp-01")).isSuccess)
        var far = recipient("rcp-02")
        far.latitude = 95_000_000
        #expect(run(&registry, far) == .failure(.locationIsOutOfRange))
        #expect(registry.participants.count == 3)
    }

    /// Tax details: only recipients carry them, and only an organisation's NPWP is accepted (a
    /// person's NPWP is their NIK, which must never reach the ledger).
    @Test func onlyRecipientsCarryTaxDetailsAndOnlyAnOrganisationsNPWP() {
        var registry = ParticipantRegistry()
        var organisation = recipient("rcp-01")
        organisation.taxNumber = "0123456789012000"
        organisation.donationPurpose = .socialInfrastructure
        #expect(run(&registry, organisation).isSuccess)
        for personal in ["3174015506900001", "012345678901200", "01234567890120000", "0123-45678901200"] {
            var person = recipient("rcp-\(personal.count)-\(personal.prefix(2))")
            person.taxNumber = personal
            #expect(run(&registry, person) == .failure(.taxNumberIsNotAnOrganisationNPWP), "\(personal)")
        }
        var company = ParticipantRegistry.Participant(id: "cmp-01", role: .company, region: "ID-JK")
        company.donationPurpose = .education
        #expect(run(&registry, company) == .failure(.taxDetailsAreForRecipientsOnly))
        var site = ParticipantRegistry.Participant(id: "site-01", role: .site, company: "cmp-01", region: "ID-JK", latitude: 0, longitude: 0)
        site.taxNumber = "0123456789012001"
        company.donationPurpose = nil
        company.taxNumber = "0123456789012001"
        #expect(run(&registry, company).isSuccess, "a company names its NPWP as the donor")
        #expect(run(&registry, site) == .failure(.taxDetailsAreForRecipientsOnly))
        #expect(registry.participants.count == 2)
    }

    /// Issue 13: every one of these was accepted and signed into the ledger.
    @Test func personalDataCannotBeRegistered() {
        var registry = ParticipantRegistry()
        for id in ["3174011201900001", "081234567890", "nik3174011201900001"] {
            #expect(run(&registry, .init(id: id, role: .buyer, region: "ID-JK")) == .failure(.idIsNotPseudonymous), "\(id)")
        }
        for region in ["ID-JK 081234567890", String(repeating: "x", count: 20_000), "ID-JK\u{7}", "id-jk", ""] {
            #expect(run(&registry, .init(id: "buyer-1", role: .buyer, region: region)) == .failure(.regionIsUnknown))
        }
        for number in ["3174011201900001", "budi@example.id", "Budi Santoso, 081234567890, budi@example.id, Jl. Melati 5"] {
            var person = recipient("rcp-01")
            person.registrationNumber = number
            #expect(run(&registry, person) == .failure(.registrationNumberIsMalformed), "\(number)")
        }
        var negative = recipient("rcp-01")
        negative.headcountServed = -5
        #expect(run(&registry, negative) == .failure(.headcountIsOutOfRange))
        var buyer = ParticipantRegistry.Participant(id: "buyer-1", role: .buyer, region: "ID-JK")
        buyer.registrationNumber = "AHU-1"
        #expect(run(&registry, buyer) == .failure(.fieldIsForRecipientsOnly))
        buyer.registrationNumber = nil
        buyer.latitude = 0
        #expect(run(&registry, buyer) == .failure(.locationIsForSitesAndRecipientsOnly))
        #expect(registry.participants.isEmpty)
    }
}
