/// A deterministic, seeded simulation of rescue traffic in Jakarta and Surabaya: providers post
/// surplus (more in the evening surge), matched NGOs accept or decline, open offers are claimed
/// by NGOs and buyers (sometimes with a stale version or too many portions), pickups happen or
/// do not (no-shows, partial pickups, late pickups, low freshness scores), deliveries complete
/// rescues, some are disputed and decided, and companies trade and retire their tokens. In the
/// evening surge providers put paid lots up for Flash Ludes auctions: buyers bid at the price
/// shown (some too late, some naming a price below the curve's, some after another won), some
/// lots sell, some are withdrawn and the rest become donations. After the
/// busy days it lets every window and deadline pass so every rescue settles.
///
/// It only proposes commands (`next(world:)`): the caller runs them against a `RescueWorld`
/// directly or through the command loop and its ledger. The same seed gives the same commands
/// against the same world.
public struct CitySimulator: Sendable {
    /// One proposed command.
    public struct Step: Sendable {
        public var command: RescueCommand
        public var actor: String
        public var now: Int64
        /// For a `syncPos`: what the till sent, for a run that posts it as a signed webhook.
        public var till: TillDelivery?

        public init(command: RescueCommand, actor: String, now: Int64, till: TillDelivery? = nil) {
            self.command = command
            self.actor = actor
            self.now = now
            self.till = till
        }
    }

    public static let operatorActor = "operator"

    public let seed: UInt64
    var random: SplitMix64
    let digest: @Sendable (_ claim: String, _ code: String) -> String
    private let busyEnd: Int64
    private let settleAt: Int64
    private let stepMicroseconds: Int64
    public internal(set) var now: Int64
    private var lastTick: Int64
    private var settled = false
    private var settlingTrades = 0
    private var setup: [Step] = []

    var providers: [String] = []
    private var recipients: [String] = []
    private var buyers: [String] = []
    private var companies: [String] = []
    var offers: [String] = []
    var placed: [String] = []
    private var pickedUp: [String] = []
    private var delivered: [String] = []
    private var disputes: [String] = []
    var codes: [String: String] = [:]
    private var auctionIDs: [String] = []
    private var groupIDs: [String] = []
    private var coordinators: [String] = []
    private let auctionCurves: [String]
    private var counter = 0
    let run: String
    /// Pahlawan-Scan (`SimulatedDevices`): nil runs no scans.
    let devices: SimulatedDevices?
    /// Each site's phone generation (a lost phone's replacement is the next), and the scans
    /// attested lately (what a replay resends).
    var deviceGeneration: [String: Int] = [:]
    var recentScans: [DeviceBook.Scan] = []
    var scanRandom: SplitMix64
    /// Connected tills (connection, site), the last delivery (a vendor's retry resends it), and
    /// whether the run signs webhooks (then forged and stale deliveries are tried too).
    var tills: [(connection: String, site: String)] = []
    var lastDelivery: TillDelivery?
    public var webhooksAreSigned = false
    /// Couriers of the city (FORMAT §7.16).
    var courierIDs: [String] = []

    private static let categories = ["bakery", "dairy", "mixedMeals", "poultry", "produce", "rice"]
    private static let cities: [(code: String, region: String, latitude: Int64, longitude: Int64)] = [
        ("jkt", "ID-JK", -6_208_800, 106_845_600), ("sby", "ID-JI", -7_257_500, 112_752_100),
    ]

    /// `start` is the first instant (µs); `days` of traffic with about `commandsPerDay` commands
    /// each. `digest` turns a claim's pickup code into the digest the engines compare (the
    /// command loop's keyed digest, or anything deterministic for a pure run).
    public init(
        seed: UInt64, start: Int64, days: Int = 2, commandsPerDay: Int = 2_000, companies companyCount: Int = 12,
        recipients recipientCount: Int = 40, buyers buyerCount: Int = 6, auctionCurves: [String] = ["linear", "steps10", "halfHour"],
        devices: SimulatedDevices? = nil, digest: @escaping @Sendable (_ claim: String, _ code: String) -> String
    ) {
        self.seed = seed
        self.devices = devices
        scanRandom = SplitMix64(seed: seed ^ 0x5CA7_5CA7_5CA7_5CA7)
        self.auctionCurves = auctionCurves
        random = SplitMix64(seed: seed)
        // The start minute makes ids unique across runs; a run from the epoch keeps them short.
        // Written in letters: an id holds at most 8 digits (InputDomain.isID).
        run = start / 60_000_000 == 0 ? "" : Self.letters(start / 60_000_000) + "-"
        self.digest = digest
        now = start
        lastTick = start
        let day: Int64 = 86_400_000_000
        busyEnd = start + Int64(days) * day
        settleAt = busyEnd + 4 * day
        stepMicroseconds = max(1, day / Int64(max(1, commandsPerDay)))
        for number in 0..<companyCount {
            let city = Self.cities[number % 2]
            let company = "cmp-\(city.code)-\(number)"
            companies.append(company)
            // Companies name their NPWP (from the number, not the random stream).
            let npwp = "0" + String(200_000_000_000_000 + number)
            setup.append(Step(
                command: .register(.init(id: company, role: .company, region: city.region, taxNumber: npwp)), actor: Self.operatorActor, now: start))
            for site in 0..<2 {
                let id = "site-\(city.code)-\(number)-\(site)"
                providers.append(id)
                let (latitude, longitude) = place(near: city)
                setup.append(Step(
                    command: .register(.init(id: id, role: .site, company: company, region: city.region, latitude: latitude, longitude: longitude)),
                    actor: Self.operatorActor, now: start))
                // Every third company's first site posts from its till.
                if devices != nil, site == 0, number % 3 == 0 {
                    let connection = "pos-\(id)"
                    tills.append((connection, id))
                    setup.append(Step(
                        command: .connectPos(.init(
                            id: connection, site: id, vendor: PosBook.Vendor.allCases[(number / 3) % 3], mapping: Self.tillMappings[(number / 3) % 3])),
                        actor: Self.operatorActor, now: start))
                }
                // Each site's first phone: the second site's registered by its company.
                if let devices {
                    let device = "dev-\(id)-0"
                    setup.append(Step(
                        command: .registerDevice(.init(id: device, holder: id, publicKey: devices.publicKey(device))), actor: site == 0 ? id : company, now: start))
                }
            }
        }
        for number in 0..<recipientCount {
            let city = Self.cities[number % 2]
            let id = "ngo-\(city.code)-\(number)"
            recipients.append(id)
            let (latitude, longitude) = place(near: city)
            let categories = Set(Self.categories.filter { _ in random.chance(percent: 80) } + ["mixedMeals"])
            setup.append(Step(
                command: .register(.init(
                    id: id, role: .recipient, region: city.region, latitude: latitude, longitude: longitude,
                    registrationNumber: "AHU-\(10_000 + number)", capacityPortions: 20 + random.int(below: 200), acceptedCategories: categories,
                    serviceRadiusMetres: 5_000 + random.int(below: 20_000), headcountServed: 30 + random.int(below: 400),
                    // Tax details from the number, not the random stream, so earlier seeds keep
                    // their runs: every fourth recipient has no NPWP, every third no listed purpose.
                    taxNumber: number % 4 == 3 ? nil : "0" + String(100_000_000_000_000 + number),
                    donationPurpose: number % 3 == 2 ? nil : (number % 2 == 0 ? .socialInfrastructure : .disasterRelief))),
                actor: Self.operatorActor, now: start))
        }
        // RT/RW coordinators (community recipients): no random draw, so the traffic of earlier
        // seeds is unchanged by their registration.
        for number in 0..<4 {
            let city = Self.cities[number % 2]
            let id = "rt-\(city.code)-\(number)"
            coordinators.append(id)
            setup.append(Step(
                command: .register(.init(id: id, role: .group, region: city.region)),
                actor: Self.operatorActor, now: start))
        }
        // Couriers: motorbikes (10 kg) and a few cold vans (200 kg), from the city centres, and
        // the logistics provider's account (a run over HTTP books it for long deliveries).
        if devices != nil {
            setup.append(Step(
                command: .register(.init(
                    id: LogisticsPolicy.standard.providerCourier, role: .courier, region: "ID-JK", latitude: Self.cities[0].latitude,
                    longitude: Self.cities[0].longitude, serviceRadiusMetres: 30_000, vehicleGrams: 1_000_000, coldChain: true)),
                actor: Self.operatorActor, now: start))
            for number in 0..<12 {
                let city = Self.cities[number % 2]
                let id = "kurir-\(city.code)-\(number)"
                courierIDs.append(id)
                let cold = number % 4 == 3
                setup.append(Step(
                    command: .register(.init(
                        id: id, role: .courier, region: city.region, latitude: city.latitude + Int64(number) * 1_000, longitude: city.longitude,
                        serviceRadiusMetres: 25_000, vehicleGrams: cold ? 200_000 : 10_000, coldChain: cold)),
                    actor: Self.operatorActor, now: start))
            }
        }
        for number in 0..<buyerCount {
            let city = Self.cities[number % 2]
            let id = "buyer-\(city.code)-\(number)"
            buyers.append(id)
            setup.append(Step(command: .register(.init(id: id, role: .buyer, region: city.region)), actor: Self.operatorActor, now: start))
        }
        setup.reverse()
    }

    private mutating func place(near city: (code: String, region: String, latitude: Int64, longitude: Int64)) -> (Int64, Int64) {
        (city.latitude + random.int(below: 240_000) - 120_000, city.longitude + random.int(below: 240_000) - 120_000)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next(below: UInt64(items.count)))] }

    /// Offer, claim and dispute ids: unique per run (`run` names it), so that runs can follow
    /// one another into the same ledger.
    /// Evidence as the service records it (`hmac:` and 64 hex digits), made up for a name: the
    /// service keys a real HMAC; a simulation only needs a stable digest of the right form.
    public static func evidence(_ name: String) -> String {
        var hex = "hmac:"
        for round in 0..<4 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(round)
            for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            let digits = String(hash, radix: 16)
            hex += String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex
    }

    /// A non-negative number in base 26, `a` to `z`.
    static func letters(_ number: Int64) -> String {
        var number = max(0, number)
        var text = ""
        repeat {
            text.insert(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(number % 26))), at: text.startIndex)
            number /= 26
        } while number > 0
        return text
    }

    mutating func nextCounter() -> Int {
        counter += 1
        return counter
    }

    private mutating func nextID(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)-\(run)\(counter)"
    }

    /// The next command, or nil when the simulation is over.
    public mutating func next(world: RescueWorld) -> Step? {
        while let step = setup.popLast() {
            // A city already registered (an earlier run into the same ledger) is reused.
            if case .register(let participant) = step.command, world.participants.participants[participant.id] != nil { continue }
            if case .registerDevice(let device) = step.command, world.devices.devices[device.id] != nil { continue }
            if case .connectPos(let connection) = step.command, world.pos.connections[connection.id] != nil { continue }
            return step
        }
        if now >= busyEnd {
            guard !settled else { return nil }
            // Let every dispute window and decision deadline pass, then settle everything.
            if now < settleAt {
                now = settleAt
                return Step(command: .tick, actor: "system", now: now)
            }
            if settlingTrades < 60, let trade = carbonTrade(world: world) {
                settlingTrades += 1
                return trade
            }
            settled = true
            return Step(command: .tick, actor: "system", now: now)
        }
        // Scans come between the other commands, drawing from their own stream, so a run with
        // devices makes every other choice of the same seed (the hostile moves tests look for).
        if devices != nil, scanRandom.chance(percent: 8), let step = scan(world: world) { return step }
        if devices != nil, scanRandom.chance(percent: 3), let step = tillSync(world: world) { return step }
        if devices != nil, scanRandom.chance(percent: 15), let step = courierStep(world: world) { return step }
        now += 1 + random.int(below: 2 * stepMicroseconds / surgeFactor())
        if now - lastTick >= 60_000_000 {
            lastTick = now
            return Step(command: .tick, actor: "system", now: now)
        }
        for _ in 0..<8 {
            if let step = propose(world: world) { return step }
        }
        return post()
    }

    /// Evening (17–21 WIB) traffic is three times the rest of the day's.
    func surgeFactor() -> Int64 {
        let hour = ((now + 7 * 3_600_000_000) / 3_600_000_000) % 24
        return (17...21).contains(hour) ? 3 : 1
    }

    private mutating func propose(world: RescueWorld) -> Step? {
        // 0–99 is the day's ordinary traffic; the rest are hostile or careless actors.
        switch random.int(below: 124) {
        case 0..<16: return post()
        case 16..<36: return respondToMatch(world: world)
        case 36..<54: return claim(world: world)
        case 54..<72: return pickup(world: world)
        case 72..<86: return deliver(world: world)
        case 86..<92: return dispute(world: world)
        case 92..<95: return decide(world: world)
        case 95..<97: return cancel(world: world)
        case 97..<100: return carbonTrade(world: world)
        case 100..<105: return hostile(world: world)
        case 105..<116: return auction(world: world)
        default: return group(world: world)
        }
    }

    /// RT/RW group buys: coordinators form groups on fresh offers (or for a category), neighbours
    /// join and sometimes leave, the coordinator claims (sometimes too early), some groups miss
    /// their deadline, and a member sometimes does not collect.
    private mutating func group(world: RescueWorld) -> Step? {
        let forming = groupIDs.filter { world.groups.groups[$0]?.status == .forming }
        if forming.isEmpty || random.chance(percent: 20) { return formGroup(world: world) }
        let id = pick(forming)
        guard let group = world.groups.groups[id] else { return nil }
        switch random.int(below: 100) {
        case 0..<50:
            // A neighbour joins (sometimes one already in: refused).
            let member = random.chance(percent: 90) ? pick(buyers) : group.members.first?.id ?? pick(buyers)
            return Step(command: .joinGroup(group: id, portions: 1 + random.int(below: 3)), actor: member, now: now)
        case 50..<58:
            guard let member = group.members.last else { return nil }
            return Step(command: .leaveGroup(group: id), actor: member.id, now: now)
        case 58..<68:
            // Groups left to their deadline expire.
            return nil
        default:
            // The coordinator claims (refused below the minimum); a category group names a fresh offer of its category.
            var offer = group.offer
            if let category = group.category {
                offer = offers.suffix(40).first { world.offers.offers[$0]?.category == category && (world.offers.offers[$0]?.remainingPortions ?? 0) > 0 }
                guard offer != nil else { return nil }
            }
            let claim = nextID("clm")
            let code = "K\(random.next(below: 1_000_000_000))"
            codes[claim] = code
            placed.append(claim)
            return Step(
                command: .claimGroup(group: id, claim: claim, offer: group.category == nil ? nil : offer, pickupCodeDigest: digest(claim, code)),
                actor: group.coordinator, now: now)
        }
    }

    private mutating func formGroup(world: RescueWorld) -> Step? {
        guard !offers.isEmpty else { return nil }
        let coordinator = pick(coordinators)
        let area = (coordinator.contains("jkt") ? "3174031002" : "3578011001") + ".rw0\(1 + random.int(below: 9)).rt0\(1 + random.int(below: 9))"
        let id = nextID("grp")
        if random.chance(percent: 20) {
            groupIDs.append(id)
            return Step(
                command: .formGroup(GroupBook.Form(
                    id: id, area: area, offer: nil, category: pick(Self.categories), deadline: now + 30 * 60_000_000, minPortions: 2)),
                actor: coordinator, now: now)
        }
        guard let offer = world.offers.offers[recentOffer()], offer.remainingPortions >= 2, offer.expiresAt - now > 20 * 60_000_000 else { return nil }
        groupIDs.append(id)
        if groupIDs.count > 200 { groupIDs.removeFirst(50) }
        let deadline = now + min(offer.expiresAt - now - 60_000_000, (10 + random.int(below: 50)) * 60_000_000)
        return Step(
            command: .formGroup(GroupBook.Form(
                id: id, area: area, offer: offer.id, category: nil, deadline: deadline, minPortions: 2 + random.int(below: min(4, offer.remainingPortions - 1)))),
            actor: coordinator, now: now)
    }

    /// Flash Ludes: lots go up for auction in the evening surge, and bidders bid on them.
    private mutating func auction(world: RescueWorld) -> Step? {
        let open = auctionIDs.filter { world.auctions.auctions[$0]?.status == .open }
        if surgeFactor() > 1 && (open.isEmpty || random.chance(percent: 50)) { return startAuction(world: world) }
        guard !auctionIDs.isEmpty, !open.isEmpty || random.chance(percent: 25) else { return nil }
        // Mostly open lots; sometimes one that just closed (a bid after another won).
        let id = open.isEmpty || random.chance(percent: 10) ? auctionIDs[auctionIDs.count - 1 - Int(random.next(below: UInt64(min(auctionIDs.count, 5))))] : pick(open)
        guard let auction = world.auctions.auctions[id] else { return nil }
        switch random.int(below: 100) {
        case 0..<10:
            return Step(command: .cancelAuction(id: id), actor: auction.provider, now: now)
        case 10..<15:
            // The provider bids on its own lot (refused: providers never claim).
            return bidStep(auction, bidder: auction.provider, seen: auction.lotPrice(at: now))
        case 15..<25:
            // A bidder names a price below the curve's (refused with the current price).
            return bidStep(auction, bidder: pick(buyers), seen: max(0, auction.lotPrice(at: now) - 1 - random.int(below: 1_000)))
        case 25..<75:
            // Bidders wait for the price to fall: many lots are never bid on above the floor.
            return nil
        default:
            // The price the bidder was shown a little earlier, or exactly now's.
            let shown = auction.lotPrice(at: now - random.int(below: 120_000_000))
            return bidStep(auction, bidder: random.chance(percent: 85) ? pick(buyers) : pick(recipients), seen: shown)
        }
    }

    private mutating func startAuction(world: RescueWorld) -> Step? {
        guard !offers.isEmpty else { return nil }
        var found: OfferBook.Offer?
        for _ in 0..<4 {
            if let offer = world.offers.offers[recentOffer()], offer.priceRupiah > 0, offer.remainingPortions == offer.portions,
                world.auctions.openAuctionOfOffer[offer.id] == nil
            {
                found = offer
                break
            }
        }
        guard let offer = found else { return nil }
        let id = nextID("auc")
        auctionIDs.append(id)
        if auctionIDs.count > 200 { auctionIDs.removeFirst(50) }
        let start = offer.priceRupiah * (60 + random.int(below: 31)) / 100
        let floor = start * (10 + random.int(below: 31)) / 100
        // Up to two hours, within the food's life; sometimes beyond it (refused).
        let life = (offer.expiresAt - now) / 60_000_000
        let minutes = random.chance(percent: 5) ? life + 10 : max(1, min(life, 20 + random.int(below: 100)))
        return Step(
            command: .startAuction(AuctionBook.Start(
                id: id, offer: offer.id, curve: pick(auctionCurves), startRupiah: start, floorRupiah: floor, durationMicroseconds: minutes * 60_000_000)),
            actor: offer.provider, now: now)
    }

    private mutating func bidStep(_ auction: AuctionBook.Auction, bidder: String, seen: Int64) -> Step {
        let id = nextID("clm")
        let code = "K\(random.next(below: 1_000_000_000))"
        codes[id] = code
        placed.append(id)
        return Step(
            command: .bid(auction: auction.id, claim: id, seenPriceRupiah: seen, portions: nil, pickupCodeDigest: digest(id, code)), actor: bidder, now: now)
    }

    /// Hostile and careless actors (issue 13): each tries what the rules forbid, or does the
    /// rare legitimate thing at an awkward moment. The engines must refuse the first kind with a
    /// named rejection and write the second correctly; the reference model checks both.
    private mutating func hostile(world: RescueWorld) -> Step? {
        switch random.int(below: 12) {
        case 0:
            // A provider reports a no-show while the claimant may still come (refused), or
            // after the offer's expiry (accepted: no refund, nothing to relist).
            guard let (_, claim) = Self.live(&placed, random: &random, world: world, status: .placed), let offer = world.offers.offers[claim.offer] else { return nil }
            return Step(
                command: .openDispute(id: nextID("dsp"), claim: claim.id, reason: .claimantNoShow, evidence: []), actor: offer.provider, now: now)
        case 1:
            // A claimant claims the provider never came, after the food was handed over.
            guard let (_, claim) = Self.live(&pickedUp, random: &random, world: world, status: .pickedUp) else { return nil }
            return Step(command: .openDispute(id: nextID("dsp"), claim: claim.id, reason: .providerNoShow, evidence: []), actor: claim.claimant, now: now)
        case 2:
            // A complaint before delivery, about food picked up.
            guard let (_, claim) = Self.live(&pickedUp, random: &random, world: world, status: .pickedUp) else { return nil }
            let id = nextID("dsp")
            disputes.append(id)
            return Step(command: .openDispute(id: id, claim: claim.id, reason: .spoiled, evidence: [Self.evidence("photo:\(id)")]), actor: claim.claimant, now: now)
        case 3:
            // The offered recipient accepts late: refused once its window is over.
            guard let offerID = world.matches.active.sorted().first(where: { world.matches.matches[$0]!.expiresAt <= now }),
                let recipient = world.matches.matches[offerID]?.offeredTo, let offer = world.offers.offers[offerID]
            else { return nil }
            return claimStep(offer: offer, claimant: recipient, portions: offer.remainingPortions, version: offer.version)
        case 4:
            // A holder cancels tokens (a reversal); and sometimes gives no reason code.
            guard world.carbon.holdingCount > 0 else { return nil }
            let holding = world.carbon.recentHoldings(50).last!
            guard case .held(let owner) = holding.status, owner != CarbonRegistry.bufferAccount else { return nil }
            let range = SerialRange(vintage: holding.range.vintage, first: holding.range.first, last: holding.range.first)!
            return Step(command: .cancelCarbon(range: range, reason: random.chance(percent: 80) ? "reversal" : "oops, wrong batch"), actor: owner, now: now)
        case 5:
            // Personal data through a registration: a NIK or phone number as the id, a phone
            // number in the region, a person's details as a registration number.
            let tries: [ParticipantRegistry.Participant] = [
                .init(id: "3174011201900001", role: .buyer, region: "ID-JK"),
                .init(id: "hp-081234567890", role: .buyer, region: "ID-JK"),
                .init(id: nextID("buyer"), role: .buyer, region: "ID-JK 081234567890"),
                .init(id: nextID("ngo"), role: .recipient, region: "ID-JK", latitude: -6_200_000, longitude: 106_800_000,
                      registrationNumber: "Budi Santoso, 081234567890, budi@example.id, Jl. Melati 5", capacityPortions: 10,
                      acceptedCategories: ["bakery"], serviceRadiusMetres: 5_000),
            ]
            return Step(command: .register(pick(tries)), actor: Self.operatorActor, now: now)
        case 6:
            // Personal data through a retirement: a person's name, an address in the reason.
            guard world.carbon.holdingCount > 0, case .held(let owner) = world.carbon.recentHoldings(50).last!.status, owner != CarbonRegistry.bufferAccount
            else { return nil }
            let range = world.carbon.recentHoldings(50).last!.range
            let (beneficiary, reason) = pick([
                ("Budi Santoso", RetirementReason.csrCommitment.rawValue),
                (owner, "birthday gift for Siti Rahayu, Jl. Melati No. 5 RT 03/RW 07, Kebayoran Baru"),
                (owner, "NIK 3174-0112-0485-0001"),
                ("siti.rahayu.jl-melati", RetirementReason.onBehalfOfBeneficiary.rawValue),
                ("budi-santoso", RetirementReason.onBehalfOfBeneficiary.rawValue),
            ])
            return Step(command: .retireCarbon(range: range, beneficiary: beneficiary, reason: reason), actor: owner, now: now)
        case 7:
            // Extreme quantities, prices and places, one field at a time.
            let provider = pick(providers)
            let extreme = pick([Int64.max, Int64.min, 9_007_199_254_740_991, 200_000_000])
            var post = OfferPost(
                id: nextID("off"), provider: provider, category: pick(Self.categories), grams: 4_200, portions: 10, latitude: -6_200_000,
                longitude: 106_800_000, temperature: .ambient, expiresAt: now + 3_600_000_000, priceRupiah: 0, now: now)
            switch random.int(below: 4) {
            case 0: post.grams = extreme
            case 1: post.portions = extreme
            case 2: post.latitude = extreme
            default: post.priceRupiah = extreme == 200_000_000 ? -1 : extreme
            }
            return Step(command: .post(post), actor: provider, now: now)
        case 8:
            guard !offers.isEmpty, let offer = world.offers.offers[recentOffer()] else { return nil }
            return Step(
                command: .claim(id: nextID("clm"), offer: offer.id, seenVersion: offer.version, portions: pick([Int64.max, Int64.min, -1]), pickupCodeDigest: "x"),
                actor: offer.priceRupiah > 0 ? pick(buyers) : pick(recipients), now: now)
        case 9:
            // An operator relists food somebody already took.
            guard let id = disputes.last, let dispute = world.disputes.disputes[id], dispute.resolution == nil else { return nil }
            return Step(command: .decideDispute(id: id, outcome: .noRefundRelist), actor: Self.operatorActor, now: now)
        case 10:
            // A claimant cancels a claim it disputed (refused: the dispute settles its money, or
            // the food was already picked up).
            guard let claim = world.disputeOfClaim.keys.sorted().last, let placedClaim = world.offers.claims[claim] else { return nil }
            return Step(command: .cancelClaim(claim: claim), actor: placedClaim.claimant, now: now)
        default:
            // Personal data as evidence, written with separators.
            guard let (_, claim) = Self.live(&pickedUp, random: &random, world: world, status: .pickedUp) else { return nil }
            return Step(
                command: .openDispute(id: nextID("dsp"), claim: claim.id, reason: .notAsDescribed, evidence: ["3174 0112 0190 0001"]),
                actor: claim.claimant, now: now)
        }
    }

    private mutating func post() -> Step {
        let provider = pick(providers)
        let grams = 2_000 + random.int(below: 38_000)
        let paid = random.chance(percent: 20)
        let temperature = pick(OfferBook.Temperature.allCases)
        let id = nextID("off")
        offers.append(id)
        if offers.count > 300 { offers.removeFirst(100) }
        let city = Self.cities[provider.contains("jkt") ? 0 : 1]
        let (latitude, longitude) = place(near: city)
        return Step(
            command: .post(OfferPost(
                id: id, provider: provider, category: pick(Self.categories), grams: grams, portions: max(1, grams / 400), latitude: latitude,
                longitude: longitude, temperature: temperature, expiresAt: now + 3_600_000_000 + random.int(below: 5 * 3_600_000_000),
                priceRupiah: paid ? 5_000 * (3 + random.int(below: 30)) : 0, now: now,
                // Donors declare their cost (about Rp 12 a gram) on most donations, as the tax register needs.
                costRupiah: paid || grams % 5 == 0 ? nil : grams * 12 + 7)),
            actor: provider, now: now)
    }

    private mutating func respondToMatch(world: RescueWorld) -> Step? {
        // Sorted: a Set's order differs from process to process, and runs must repeat.
        let active = world.matches.active.sorted()
        guard !active.isEmpty else { return nil }
        let offerID = pick(active)
        guard let recipient = world.matches.matches[offerID]?.offeredTo, let offer = world.offers.offers[offerID] else { return nil }
        if random.chance(percent: 20) { return Step(command: .declineMatch(offer: offerID), actor: recipient, now: now) }
        return claimStep(offer: offer, claimant: recipient, portions: offer.remainingPortions, version: offer.version)
    }

    private mutating func claim(world: RescueWorld) -> Step? {
        guard !offers.isEmpty, let offer = world.offers.offers[recentOffer()], offer.remainingPortions > 0 else { return nil }
        let claimant = offer.priceRupiah > 0 ? pick(buyers) : pick(recipients)
        let stale = random.chance(percent: 12) && offer.version > 1
        let portions =
            offer.priceRupiah > 0 ? offer.portions : random.chance(percent: 5) ? offer.remainingPortions + 1 : 1 + random.int(below: offer.remainingPortions)
        return claimStep(offer: offer, claimant: claimant, portions: portions, version: stale ? offer.version - 1 : offer.version)
    }

    /// Mostly one of the last few dozen offers: claimants look at what is fresh.
    mutating func recentOffer() -> String {
        offers[offers.count - 1 - Int(random.next(below: UInt64(min(offers.count, 30))))]
    }

    private mutating func claimStep(offer: OfferBook.Offer, claimant: String, portions: Int64, version: Int64) -> Step {
        let id = nextID("clm")
        let code = "K\(random.next(below: 1_000_000_000))"
        codes[id] = code
        placed.append(id)
        return Step(
            command: .claim(id: id, offer: offer.id, seenVersion: version, portions: portions, pickupCodeDigest: digest(id, code)),
            actor: claimant, now: now)
    }

    private mutating func pickup(world: RescueWorld) -> Step? {
        guard let (index, claim) = Self.live(&placed, random: &random, world: world, status: .placed) else { return nil }
        let offer = world.offers.offers[claim.offer]!
        switch random.int(below: 100) {
        case 0..<8:
            // Nobody came: the provider or the claimant reports the no-show instead.
            placed.remove(at: index)
            let byProvider = random.chance(percent: 50)
            return Step(
                command: .openDispute(
                    id: nextID("dsp"), claim: claim.id, reason: byProvider ? .claimantNoShow : .providerNoShow, evidence: [Self.evidence("photo:\(claim.id)")]),
                actor: byProvider ? offer.provider : claim.claimant, now: now)
        case 8..<12:
            return Step(
                command: .confirmPickup(claim: claim.id, pickupCodeDigest: digest(claim.id, "WRONG"), grams: claim.grams, declaredFreshnessScore: nil),
                actor: offer.provider, now: now)
        default:
            placed.remove(at: index)
            pickedUp.append(claim.id)
            let partial = random.chance(percent: 10) && claim.grams > 1
            let freshness: Int64? = random.chance(percent: 30) ? 40 + random.int(below: 61) : nil
            return Step(
                command: .confirmPickup(
                    claim: claim.id, pickupCodeDigest: digest(claim.id, codes[claim.id] ?? ""),
                    grams: partial ? max(1, claim.grams / 2) : claim.grams, declaredFreshnessScore: freshness),
                actor: offer.provider, now: now)
        }
    }

    private mutating func deliver(world: RescueWorld) -> Step? {
        guard let (index, claim) = Self.live(&pickedUp, random: &random, world: world, status: .pickedUp) else { return nil }
        // A neighbour of a group claim did not come to the drop point: the coordinator records it.
        if let group = world.groupOfClaim[claim.id], let member = world.groups.groups[group]?.members.last, random.chance(percent: 30),
            world.groups.groups[group]?.noShows.contains(member.id) == false
        {
            return Step(command: .groupNoShow(group: group, member: member.id), actor: claim.claimant, now: now)
        }
        pickedUp.remove(at: index)
        delivered.append(claim.id)
        if delivered.count > 400 { delivered.removeFirst(100) }
        return Step(command: .confirmDelivery(claim: claim.id, portionsServed: claim.portions - random.int(below: 2)), actor: claim.claimant, now: now)
    }

    private mutating func dispute(world: RescueWorld) -> Step? {
        guard !delivered.isEmpty else { return nil }
        let claimID = pick(delivered)
        guard let claim = world.offers.claims[claimID], world.disputeOfClaim[claimID] == nil else { return nil }
        let id = nextID("dsp")
        disputes.append(id)
        let reason = pick([DisputeBook.Reason.spoiled, .notAsDescribed, .safety])
        return Step(command: .openDispute(id: id, claim: claimID, reason: reason, evidence: [Self.evidence("photo:\(id)"), Self.evidence("scan:\(id)")]), actor: claim.claimant, now: now)
    }

    private mutating func decide(world: RescueWorld) -> Step? {
        guard !disputes.isEmpty else { return nil }
        let index = Int(random.next(below: UInt64(disputes.count)))
        let id = disputes.remove(at: index)
        guard let dispute = world.disputes.disputes[id], dispute.resolution == nil else { return nil }
        let outcome: DisputeBook.Outcome =
            switch random.int(below: 3) {
            case 0: .fullRefund
            case 1 where dispute.heldRupiah > 1: .partialRefund(rupiah: dispute.heldRupiah / 2)
            default: .noRefund
            }
        return Step(command: .decideDispute(id: id, outcome: outcome), actor: Self.operatorActor, now: now)
    }

    private mutating func cancel(world: RescueWorld) -> Step? {
        guard let (index, claim) = Self.live(&placed, random: &random, world: world, status: .placed) else { return nil }
        placed.remove(at: index)
        return Step(command: .cancelClaim(claim: claim.id), actor: claim.claimant, now: now)
    }

    /// A company (or buyer) moves part of a holding: to a buyer, or retires it for a beneficiary.
    private mutating func carbonTrade(world: RescueWorld) -> Step? {
        guard world.carbon.holdingCount > 0 else { return nil }
        // Recent holdings: copying them all on every trade would grow with the registry.
        let holdings = Array(world.carbon.recentHoldings(200))
        for _ in 0..<4 {
            let holding = holdings[Int(random.next(below: UInt64(holdings.count)))]
            guard case .held(let owner) = holding.status, owner != CarbonRegistry.bufferAccount, random.chance(percent: 40) || now >= busyEnd else { continue }
            let count = 1 + random.int(below: holding.range.count)
            let range = SerialRange(vintage: holding.range.vintage, first: holding.range.first, last: holding.range.first + count - 1)!
            if companies.contains(owner) && random.chance(percent: 60) {
                return Step(command: .transferCarbon(to: pick(buyers), range: range), actor: owner, now: now)
            }
            if random.chance(percent: 50) {
                return Step(command: .retireCarbon(range: range, beneficiary: owner, reason: RetirementReason.csrCommitment.rawValue), actor: owner, now: now)
            }
        }
        return nil
    }

    /// A random claim from `list` that is still in `status`, dropping ones that moved on.
    private static func live(
        _ list: inout [String], random: inout SplitMix64, world: RescueWorld, status: OfferBook.ClaimStatus
    ) -> (Int, OfferBook.Claim)? {
        for _ in 0..<4 where !list.isEmpty {
            let index = Int(random.next(below: UInt64(list.count)))
            if let claim = world.offers.claims[list[index]], claim.status == status { return (index, claim) }
            list.remove(at: index)
        }
        return nil
    }
}
