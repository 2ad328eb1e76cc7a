import PropertyBased
import Testing
@testable import Rescue

/// The group-buy engine alone (FORMAT §7.13).
@Suite struct GroupBookTests {
    static let minute: Int64 = 60_000_000
    let t: Int64 = 1_795_453_200_000_000
    var offer: OfferBook.Offer {
        OfferBook.Offer(
            id: "off-a", provider: "site-a", category: "mixedMeals", grams: 2_940, portions: 7, latitude: 0, longitude: 0, temperature: .ambient,
            postedAt: t, expiresAt: t + 120 * Self.minute, priceRupiah: 100_000, version: 1, remainingPortions: 7, remainingGrams: 2_940)
    }

    func book(members: [(String, Int64)], minPortions: Int64 = 5) -> GroupBook {
        var book = GroupBook()
        let form = GroupBook.Form(id: "grp-a", area: "3174031002.rw07.rt03", offer: "off-a", category: nil, deadline: t + 60 * Self.minute, minPortions: minPortions)
        book.apply(.formed(try! book.decideForm(form, coordinator: "rt-03", offer: offer, categories: ["mixedMeals"], now: t).get()))
        for (member, portions) in members {
            book.apply(.joined(group: "grp-a", try! book.decideJoin(group: "grp-a", member: member, portions: portions, now: t + Self.minute).get()))
        }
        return book
    }

    /// FORMAT §7.13's worked example: Rp 100,000 for 3 + 3 + 1 portions.
    @Test func aGroupClaimSplitsItsPriceByLargestRemainder() throws {
        let book = book(members: [("hh-a", 3), ("hh-b", 3), ("hh-c", 1)])
        let plan = try book.decideClaim(group: "grp-a", claim: "clm-g", offer: offer, actor: "rt-03", now: t + 2 * Self.minute).get()
        #expect(plan.portions == 7 && plan.priceRupiah == 100_000)
        #expect(plan.shares.map(\.rupiah) == [42_857, 42_857, 14_286])
        #expect(book.decideClaim(group: "grp-a", claim: "clm-g", offer: offer, actor: "hh-a", now: t + 2 * Self.minute) == .failure(.actorIsNotTheCoordinator))
    }

    @Test func formingJoiningAndLeavingRefuseByName() {
        var book = book(members: [("hh-a", 3)])
        let form = { (area: String, offer: String?, category: String?, deadline: Int64) in
            GroupBook.Form(id: "grp-b", area: area, offer: offer, category: category, deadline: deadline, minPortions: 2)
        }
        let inAnHour = t + 60 * Self.minute
        #expect(book.decideForm(form("Jl. Melati 5 RT 03", "off-a", nil, inAnHour), coordinator: "rt-03", offer: offer, categories: [], now: t) == .failure(.areaIsNotAnRTRWCode))
        #expect(book.decideForm(form("3174031002.rw07.rt03", "off-a", "bakery", inAnHour), coordinator: "rt-03", offer: offer, categories: ["bakery"], now: t) == .failure(.nameAnOfferOrACategory))
        #expect(book.decideForm(form("3174031002.rw07.rt03", nil, "caviar", inAnHour), coordinator: "rt-03", offer: nil, categories: ["bakery"], now: t) == .failure(.categoryIsUnknown))
        #expect(book.decideForm(form("3174031002.rw07.rt03", "off-a", nil, t + 121 * Self.minute), coordinator: "rt-03", offer: offer, categories: [], now: t) == .failure(.deadlineIsOutOfRange))
        #expect(book.decideForm(form("3174031002.rw07.rt03", "off-a", nil, t), coordinator: "rt-03", offer: offer, categories: [], now: t) == .failure(.deadlineIsOutOfRange))
        #expect(book.decideJoin(group: "grp-a", member: "hh-a", portions: 1, now: t) == .failure(.memberAlreadyJoined))
        #expect(book.decideJoin(group: "grp-a", member: "hh-b", portions: 0, now: t) == .failure(.quantityMustBePositive))
        #expect(book.decideJoin(group: "grp-a", member: "hh-b", portions: 1, now: t + 60 * Self.minute) == .failure(.groupDeadlineHasPassed))
        #expect(book.decideClaim(group: "grp-a", claim: "clm-g", offer: offer, actor: "rt-03", now: t) == .failure(.minimumNotReached))
        #expect(book.decideLeave(group: "grp-a", member: "hh-z") == .failure(.memberNotInGroup))
        book.apply(.left(group: "grp-a", member: "hh-a", reason: .left))
        #expect(book.groups["grp-a"]?.members.isEmpty == true)
        // At its deadline a forming group is due (to claim or expire); once it expired, not any more.
        #expect(book.due(by: t + 60 * Self.minute).map(\.id) == ["grp-a"])
        book.apply(.expired(group: "grp-a"))
        #expect(book.due(by: t + 60 * Self.minute).isEmpty)
        #expect(book.decideJoin(group: "grp-a", member: "hh-b", portions: 1, now: t) == .failure(.groupIsNotForming))
        #expect(GroupBook.isAreaCode("3174031002.rw007.rt03") && !GroupBook.isAreaCode("3174031002.rw7.rt03") && !GroupBook.isAreaCode("081234567890.rw07.rt03"))
        // A mobile number in the kelurahan's place, a province that does not exist, RW or RT 0.
        for area in ["0812345678.rw07.rt03", "0000000000.rw07.rt03", "9912345678.rw07.rt03", "3174031002.rw00.rt03", "3174031002.rw07.rt000"] {
            #expect(!GroupBook.isAreaCode(area), "\(area)")
        }
    }

    /// Any members: the shares sum to the claim's price, which is the offer's price for the
    /// portions rounded down, and each share is its member's quota rounded down or up.
    @Test func sharesAlwaysSumToTheClaimPrice() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...50).array(of: 1...12), Gen.int(in: 1...1_000_000)) { portions, price in
            var offer = self.offer
            offer.portions = 1_000
            offer.remainingPortions = 1_000
            offer.priceRupiah = Int64(price)
            var book = GroupBook()
            let form = GroupBook.Form(id: "grp-p", area: "3578011001.rw01.rt01", offer: "off-a", category: nil, deadline: self.t + Self.minute, minPortions: 1)
            book.apply(.formed(try! book.decideForm(form, coordinator: "rt-01", offer: offer, categories: [], now: self.t).get()))
            for (index, count) in portions.enumerated() {
                book.apply(.joined(group: "grp-p", .init(id: "hh-\(index)", portions: Int64(count))))
            }
            guard case .success(let plan) = book.decideClaim(group: "grp-p", claim: "clm-p", offer: offer, actor: "rt-01", now: self.t) else {
                Issue.record("claim refused")
                return
            }
            let total = Int64(portions.reduce(0, +))
            #expect(plan.priceRupiah == Int64(price) * total / 1_000)
            #expect(plan.shares.reduce(0) { $0 + $1.rupiah } == plan.priceRupiah)
            for share in plan.shares {
                let exact = plan.priceRupiah * share.portions
                #expect(share.rupiah >= exact / total && share.rupiah <= (exact + total - 1) / total)
            }
        }
    }
}
