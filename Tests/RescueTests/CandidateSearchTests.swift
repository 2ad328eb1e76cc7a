import PropertyBased
import Testing
@testable import Rescue

@Suite struct CandidateSearchTests {
    func recipient(_ id: String, _ latitude: Int64, _ longitude: Int64, capacity: Int64 = 50, radius: Int64 = 10_000, categories: Set<String> = ["mixedMeals"]) -> ParticipantRegistry.Participant {
        .init(id: id, role: .recipient, region: "ID-JK", latitude: latitude, longitude: longitude, registrationNumber: "AHU-1",
              capacityPortions: capacity, acceptedCategories: categories, serviceRadiusMetres: radius, headcountServed: 40)
    }

    @Test func distancesAreIntegerMetres() {
        // Monas to Bundaran HI, Jakarta: about 2.2 km.
        let monasToHI = CandidateSearch.distanceMetres(-6_175_392, 106_827_153, -6_194_951, 106_823_018)
        #expect((2_100...2_350).contains(monasToHI))
        // Jakarta to Surabaya: about 660 km.
        #expect((640_000...680_000).contains(CandidateSearch.distanceMetres(-6_200_000, 106_816_666, -7_257_472, 112_752_088)))
        #expect(CandidateSearch.distanceMetres(1, 2, 1, 2) == 0)
    }

    @Test func rankingIsNearestThenFairestThenBestFitThenId() {
        var search = CandidateSearch()
        let offer = (latitude: Int64(-6_200_000), longitude: Int64(106_816_666))
        search.index(recipient("rcp-far", -6_260_000, 106_816_666))                 // ~6.7 km
        search.index(recipient("rcp-near-b", -6_203_000, 106_816_666, capacity: 30)) // ~330 m
        search.index(recipient("rcp-near-a", -6_203_000, 106_816_666, capacity: 30))
        search.index(recipient("rcp-near-fit", -6_202_000, 106_816_666, capacity: 12))
        search.index(recipient("rcp-bakery", -6_201_000, 106_816_666, categories: ["bakery"]))
        search.index(recipient("rcp-small-radius", -6_230_000, 106_816_666, radius: 2_000)) // ~3.3 km, serves 2 km
        search.index(recipient("rcp-surabaya", -7_257_472, 112_752_088, radius: 30_000))
        var ranked = search.candidates(latitude: offer.latitude, longitude: offer.longitude, category: "mixedMeals", portions: 12)
        #expect(ranked.map(\.recipient) == ["rcp-near-fit", "rcp-near-a", "rcp-near-b", "rcp-far"])
        // One grant to the best fit: within the same kilometre, fairness now puts it last.
        search.recordGrant(to: "rcp-near-fit")
        ranked = search.candidates(latitude: offer.latitude, longitude: offer.longitude, category: "mixedMeals", portions: 12)
        #expect(ranked.map(\.recipient) == ["rcp-near-a", "rcp-near-b", "rcp-near-fit", "rcp-far"])
    }

    /// The grid never misses or invents a candidate: it agrees with checking every recipient.
    @Test func theGridAgreesWithABruteForceSearch() async {
        let coordinate = Gen.int64(in: -60_000...60_000)
        await propertyCheck(count: 100, input: coordinate.array(of: 2).array(of: 1...40), coordinate, coordinate) { points, offerLatitude, offerLongitude in
            var search = CandidateSearch()
            var all = [ParticipantRegistry.Participant]()
            for (index, point) in points.enumerated() {
                // Around Jakarta, within ±0.06° (~6.7 km) of the offer's area, various radii.
                let participant = recipient("rcp-\(index)", -6_200_000 + point[0], 106_816_666 + point[1], capacity: Int64(1 + index % 7), radius: Int64(500 + (index * 997) % 9_000))
                search.index(participant)
                all.append(participant)
            }
            let latitude = -6_200_000 + offerLatitude
            let longitude = 106_816_666 + offerLongitude
            let expected = Set(all.filter { participant in
                CandidateSearch.distanceMetres(latitude, longitude, participant.latitude!, participant.longitude!) <= participant.serviceRadiusMetres!
            }.map(\.id))
            #expect(Set(search.candidates(latitude: latitude, longitude: longitude, category: "mixedMeals", portions: 3).map(\.recipient)) == expected)
        }
    }

    /// Stopping early (the best few, nearest rings first, skipping the trigonometry for anyone
    /// clearly beyond the worst in hand) gives exactly the head of the full ranking, over a
    /// spread wide enough for many rings, near the equator and far from it.
    @Test func theBestFewAreTheHeadOfTheFullRanking() async {
        let coordinate = Gen.int64(in: -250_000...250_000)
        // Jakarta, Tromsø, Ushuaia.
        let bases: [(latitude: Int64, longitude: Int64)] = [(-6_200_000, 106_816_666), (69_649_000, 18_955_000), (-54_801_000, -68_303_000)]
        await propertyCheck(count: 60, input: coordinate.array(of: 2).array(of: 20...80), coordinate, coordinate, Gen.int(in: 1...20), Gen.int(in: 0...2)) {
            points, offerLatitude, offerLongitude, limit, baseNumber in
            let base = bases[baseNumber]
            var search = CandidateSearch()
            for (index, point) in points.enumerated() {
                search.index(recipient(
                    "rcp-\(index)", base.latitude + point[0], base.longitude + point[1], capacity: Int64(1 + index % 5),
                    radius: Int64(2_000 + (index * 7_919) % 28_000)))
                if index % 3 == 0 { search.recordGrant(to: "rcp-\(index)") }
            }
            let latitude = base.latitude + offerLatitude
            let longitude = base.longitude + offerLongitude
            let full = search.candidates(latitude: latitude, longitude: longitude, category: "mixedMeals", portions: 3)
            let head = search.candidates(latitude: latitude, longitude: longitude, category: "mixedMeals", portions: 3, limit: limit)
            #expect(head == Array(full.prefix(limit)))
        }
    }
}
