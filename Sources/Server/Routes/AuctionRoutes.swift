import Core
import Hummingbird
import Ledger
import Rescue

/// Flash Ludes auctions over HTTP (FORMAT §7.12): a provider starts and cancels, anyone may read
/// the lot's price as the engine computes it now, and a bidder names the price it was shown.
extension Service {
    func addAuctionRoutes(_ routes: RouteBuilder) {
        let loop = loop
        routes.write(.post, "/v1/auctions", .needs(.auctionsRun), status: .created) { bytes, _ in
            let body = try RequestBodies.decode(bytes, as: AuctionBody.self)
            try body.check()
            return .startAuction(AuctionBook.Start(
                id: try Self.chosenID(body.id, "auc"), offer: body.offer, curve: body.curve, startRupiah: body.startRupiah,
                floorRupiah: body.floorRupiah, durationMicroseconds: body.durationMinutes * 60_000_000))
        } answer: { entries in
            guard let started = entries.first?.body.payload else { return [:] }
            return compact([
                "auction": started["auction"], "offer": started["offer"], "priceRupiah": started["startRupiah"], "endsAt": started["endsAt"],
                "endRule": started["endRule"],
            ])
        }
        routes.on(.get, "/v1/auctions/{auction}", .needs(.auctionsRead)) { _, context in
            Response.json(.ok, try Self.auctionRecord(loop, try PathParameters.id(context, "auction")))
        }
        routes.write(.post, "/v1/auctions/{auction}/bids", .needs(.auctionsBid), status: .created, timedAsClaim: true) { bytes, context in
            let auction = try PathParameters.id(context, "auction")
            let body = try RequestBodies.decode(bytes, as: BidBody.self)
            try body.check()
            let claim = try Self.chosenID(body.id, "clm")
            return .bid(
                auction: auction, claim: claim, seenPriceRupiah: body.seenPriceRupiah, portions: body.portions,
                pickupCodeDigest: loop.pickupCodeDigest(claim: claim, code: loop.pickupCode(claim: claim)))
        } answer: { entries in
            var answer = Self.claimAnswer(loop, entries)
            if case .object(let sale)? = entries.first.map({ JSONValue.object($0.body.payload) }) {
                answer["auction"] = sale["auction"]
                answer["priceRupiah"] = sale["priceRupiah"]
                answer["lotPriceRupiah"] = sale["lotPriceRupiah"]
            }
            return answer
        }
        routes.write(.post, "/v1/auctions/{auction}/cancel", .needs(.auctionsRun), status: .ok) { bytes, context in
            _ = try RequestBodies.decode(bytes, as: EmptyBody.self)
            return .cancelAuction(id: try PathParameters.id(context, "auction"))
        } answer: { entries in
            compact(["auction": entries.first?.body.payload["auction"], "portions": entries.first?.body.payload["portions"]])
        }
    }

    /// `GET /v1/auctions/{id}`'s answer (the console's auction page shows the same).
    static func auctionRecord(_ loop: CommandLoop, _ id: String) throws(Problem) -> [String: JSONValue] {
        guard let answer = loop.readNow({ world, now in world.auctions.auctions[id].map { Self.auctionAnswer($0, world: world, now: now) } }) else {
            throw Problem(.notFound, "auctionNotFound", "No such auction", detail: "no auction has the id \(id)")
        }
        return answer
    }

    /// An auction as a bidder needs it: the lot's price at the engine's time now, and its terms.
    static func auctionAnswer(_ auction: AuctionBook.Auction, world: RescueWorld, now: Int64) -> [String: JSONValue] {
        // Past its end an open auction is about to convert: no bid can take it at any price.
        let open = auction.status == .open && now < auction.endsAt
        var answer = EntryCodec.payload(of: .auctionStarted(auction))
        answer["status"] = .string(auction.status == .open && !open ? "ended" : auction.status.rawValue)
        answer["startedAt"] = .integer(auction.startedAt)
        answer["at"] = .integer(now)
        answer["priceRupiah"] = .integer(auction.lotPrice(at: now))
        answer["soldPortions"] = .integer(auction.soldPortions)
        answer["remainingPortions"] = .integer(open ? world.offers.offers[auction.offer]?.remainingPortions ?? 0 : 0)
        return answer
    }
}
