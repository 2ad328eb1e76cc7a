import PropertyBased
import Testing
@testable import Rescue

@Suite struct OfferBookTests {
    let policy = OfferPolicy(factors: [
        "mixedMeals": EmissionFactors(lifecycle: 2_500, downstream: 750), "bakery": EmissionFactors(lifecycle: 1_500, downstream: 1_640),
    ])
    static let hour: Int64 = 3_600_000_000
    let now: Int64 = 1_795_453_200_000_000

    @discardableResult
    func run(_ book: inout OfferBook, _ command: OfferCommand) -> Result<OfferEvent, OfferRejection> {
        let result = book.decide(command, policy: policy)
        if case .success(let event) = result { book.apply(event) }
        return result
    }

    func post(_ id: String, portions: Int64 = 10, grams: Int64 = 4_200, price: Int64 = 0, temperature: OfferBook.Temperature = .ambient) -> OfferCommand {
        .post(OfferPost(
            id: id, provider: "prv-jkt-01", category: "mixedMeals", grams: grams, portions: portions, latitude: -6_200_000,
            longitude: 106_816_666, temperature: temperature, expiresAt: now + 10 * Self.hour, priceRupiah: price, now: now))
    }

    func claim(_ id: String, _ offer: String, by claimant: String = "rcp-jkt-01", version: Int64, portions: Int64) -> OfferCommand {
        .claim(id: id, offer: offer, claimant: claimant, seenVersion: version, portions: portions, pickupCodeDigest: "d-\(id)", now: now + 1)
    }

    /// The donor's declared cost is kept with the offer, and never negative.
    @Test func aDeclaredCostIsKeptAndNeverNegative() {
        var book = OfferBook()
        guard case .post(var post) = post("off-cost") else { Issue.record("not a post"); return }
        post.costRupiah = -1
        #expect(run(&book, .post(post)) == .failure(.costMustNotBeNegative))
        post.costRupiah = 50_400
        #expect(run(&book, .post(post)).isSuccess)
        #expect(book.offers["off-cost"]?.costRupiah == 50_400)
    }

    @Test func aTranscriptOfPostingClaimingAndCancelling() {
        var book = OfferBook()
        #expect(run(&book, post("off-1")).isSuccess)
        // Ambient food: 4 hours after posting, not the stated 10.
        #expect(book.offers["off-1"]?.expiresAt == now + 4 * Self.hour)
        #expect(run(&book, post("off-1")) == .failure(.offerAlreadyExists))
        #expect(run(&book, claim("c-1", "off-1", version: 1, portions: 4)).isSuccess)
        #expect(book.offers["off-1"]?.version == 2 && book.offers["off-1"]?.remainingPortions == 6)
        #expect(book.claims["c-1"]?.grams == 1_680)
        #expect(run(&book, claim("c-2", "off-1", by: "rcp-jkt-02", version: 1, portions: 1)) == .failure(.offerVersionIsStale))
        #expect(run(&book, claim("c-2", "off-1", by: "rcp-jkt-02", version: 2, portions: 7)) == .failure(.claimExceedsRemaining))
        #expect(run(&book, claim("c-2", "off-1", by: "prv-jkt-01", version: 2, portions: 1)) == .failure(.providerCannotClaimOwnOffer))
        #expect(run(&book, claim("c-2", "off-1", by: "rcp-jkt-02", version: 2, portions: 6)).isSuccess)
        #expect(book.offers["off-1"]?.remainingGrams == 0, "the last claim takes the rounding remainder")
        #expect(run(&book, claim("c-3", "off-1", by: "rcp-jkt-03", version: 3, portions: 1)) == .failure(.offerIsFullyClaimed))
        #expect(run(&book, .cancelClaim(id: "c-1", actor: "rcp-jkt-02")) == .failure(.claimBelongsToAnotherClaimant))
        #expect(run(&book, .cancelClaim(id: "c-1", actor: "rcp-jkt-01")).isSuccess)
        #expect(run(&book, .cancelClaim(id: "c-1", actor: "rcp-jkt-01")) == .failure(.claimAlreadyCancelled))
        #expect(book.offers["off-1"]?.remainingPortions == 4 && book.offers["off-1"]?.version == 4)
        // Paid offers are claimed whole; hot food keeps 2 hours.
        #expect(run(&book, post("off-2", price: 25_000, temperature: .hot)).isSuccess)
        #expect(book.offers["off-2"]?.expiresAt == now + 2 * Self.hour)
        #expect(run(&book, claim("c-4", "off-2", version: 1, portions: 3)) == .failure(.paidOfferMustBeClaimedWhole))
        #expect(run(&book, claim("c-4", "off-2", version: 1, portions: 10)).isSuccess)
        #expect(book.claims["c-4"]?.priceRupiah == 25_000)
        #expect(run(&book, .claim(id: "c-5", offer: "off-1", claimant: "rcp-x", seenVersion: 4, portions: 1, pickupCodeDigest: "d", now: now + 4 * Self.hour)) == .failure(.offerHasExpired))
        #expect(book.invariantViolations().isEmpty)
    }

    @Test func aTranscriptOfPartialPickupDeliveryAndCompletion() {
        var book = OfferBook()
        run(&book, post("off-1", portions: 10, grams: 4_200))
        run(&book, claim("c-1", "off-1", version: 1, portions: 10))
        #expect(run(&book, .cancelClaim(id: "c-1", actor: "rcp-jkt-01")).isSuccess)
        #expect(run(&book, claim("c-2", "off-1", version: book.offers["off-1"]!.version, portions: 10)).isSuccess)
        let pickup = OfferCommand.confirmPickup(claim: "c-2", actor: "prv-jkt-01", pickupCodeDigest: "d-c-2", grams: 3_000, now: now + 60_000_000)
        #expect(run(&book, .confirmDelivery(claim: "c-2", actor: "rcp-jkt-01", portionsServed: 5, now: now)) == .failure(.pickupNotConfirmed))
        #expect(run(&book, .confirmPickup(claim: "c-2", actor: "rcp-jkt-01", pickupCodeDigest: "d-c-2", grams: 3_000, now: now)) == .failure(.actorIsNotTheProvider))
        #expect(run(&book, .confirmPickup(claim: "c-2", actor: "prv-jkt-01", pickupCodeDigest: "wrong", grams: 3_000, now: now)) == .failure(.pickupCodeIsWrong))
        #expect(run(&book, .confirmPickup(claim: "c-2", actor: "prv-jkt-01", pickupCodeDigest: "d-c-2", grams: 4_201, now: now)) == .failure(.pickupExceedsClaim))
        // 3,000 of 4,200 g taken: 8 portions (rounded up); 2 portions and 1,200 g go back on offer.
        guard case .success(.pickedUp(let taken)) = run(&book, pickup) else {
            Issue.record("pickup must succeed")
            return
        }
        #expect(taken.portions == 8 && taken.returnedPortions == 2 && taken.returnedGrams == 1_200 && !taken.afterExpiry)
        #expect(book.offers["off-1"]?.remainingPortions == 2 && book.offers["off-1"]?.remainingGrams == 1_200)
        #expect(run(&book, pickup) == .failure(.claimIsAlreadyPickedUp))
        #expect(run(&book, .cancelClaim(id: "c-2", actor: "rcp-jkt-01")) == .failure(.claimIsAlreadyPickedUp))
        #expect(run(&book, .confirmDelivery(claim: "c-2", actor: "rcp-jkt-01", portionsServed: 9, now: now)) == .failure(.servedExceedsPickedUp))
        guard case .success(let event) = run(&book, .confirmDelivery(claim: "c-2", actor: "rcp-jkt-01", portionsServed: 8, now: now + 3_600_000_000)),
            case .delivered(let done) = event
        else {
            Issue.record("delivery must succeed")
            return
        }
        // A delivery is written as two entries: the confirmation, then the completed rescue.
        #expect([RescueEvent.deliveryConfirmed(claim: "c-2", portionsServed: 8), .rescueCompleted(done)].map(\.kind.rawValue) == ["delivery.confirmed", "rescue.completed"])
        // 3,000 g: 7 meals of 420 g; 2.5 kg and 0.75 kg CO2e per kg.
        #expect(done.gramsRescued == 3_000 && done.meals == 7 && done.lifecycleGramsCO2e == 7_500 && done.downstreamGramsCO2e == 2_250)
        #expect(run(&book, .confirmDelivery(claim: "c-2", actor: "rcp-jkt-01", portionsServed: 8, now: now)) == .failure(.deliveryAlreadyConfirmed))
        #expect(book.invariantViolations().isEmpty)
    }

    /// 1,000 claimants race for one donation, each retrying with the version it reads after a
    /// refusal: exactly the offered portions are granted, never more.
    @Test func aThousandClaimantsGetExactlyTheAvailablePortions() {
        var book = OfferBook()
        run(&book, post("off-1", portions: 137, grams: 57_540))
        var granted: Int64 = 0
        var pending = (0..<1_000).map { (claimant: "rcp-\($0)", seen: Int64(1)) }
        while !pending.isEmpty {
            var next = [(claimant: String, seen: Int64)]()
            for (claimant, seen) in pending {
                switch run(&book, claim("c-\(claimant)", "off-1", by: claimant, version: seen, portions: 1)) {
                case .success: granted += 1
                case .failure(.offerVersionIsStale): next.append((claimant, book.offers["off-1"]!.version))
                case .failure(.offerIsFullyClaimed): break
                case .failure(let other): Issue.record("unexpected \(other)")
                }
            }
            pending = next
        }
        #expect(granted == 137)
        #expect(book.offers["off-1"]?.remainingPortions == 0 && book.offers["off-1"]?.remainingGrams == 0)
        #expect(book.invariantViolations().isEmpty)
    }

    /// Any sequence of claims and cancellations keeps claimed + remaining equal to what was
    /// offered, changes nothing when refused, and replays to the same state.
    @Test func claimsNeverExceedTheOfferForAnySequence() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...99).array(of: 4).array(of: 1...80)) { draws in
            var book = OfferBook()
            var events = [OfferEvent]()
            for (step, draw) in draws.enumerated() {
                let command: OfferCommand
                switch draw[0] % 7 {
                case 0: command = post("off-\(draw[1] % 3)", portions: Int64(1 + draw[2] % 20), grams: Int64(100 + draw[3] * 37), price: draw[3] % 4 == 0 ? 15_000 : 0)
                case 1, 2, 3:
                    let offer = "off-\(draw[1] % 3)"
                    let version = (book.offers[offer]?.version ?? 1) - (draw[3] % 7 == 0 ? 1 : 0)
                    command = claim("c-\(step)", offer, by: "rcp-\(draw[2] % 5)", version: version, portions: Int64(draw[2] % 12))
                case 4:
                    command = .cancelClaim(id: "c-\(draw[1] % max(1, step))", actor: "rcp-\(draw[2] % 5)")
                case 5:
                    let id = "c-\(draw[1] % max(1, step))"
                    command = .confirmPickup(
                        claim: id, actor: "prv-jkt-01", pickupCodeDigest: draw[3] % 9 == 0 ? "x" : "d-\(id)",
                        grams: Int64(draw[2] * 31), now: now + 1)
                default:
                    command = .confirmDelivery(claim: "c-\(draw[1] % max(1, step))", actor: "rcp-\(draw[2] % 5)", portionsServed: Int64(draw[3] % 6), now: now + 2)
                }
                let before = book
                switch book.decide(command, policy: policy) {
                case .success(let event):
                    book.apply(event)
                    events.append(event)
                case .failure:
                    #expect(book == before)
                }
                #expect(book.invariantViolations().isEmpty, "step \(step)")
            }
            var replayed = OfferBook()
            for event in events { replayed.apply(event) }
            #expect(replayed == book)
        }
    }
}
