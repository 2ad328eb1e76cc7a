import Ledger
import Rescue

/// Rescue events to ledger payloads and back (`ledger/FORMAT.md` §7). Each event is one entry;
/// the entry's `time` carries the event's time, so payloads do not repeat it (except
/// `postedAt` and the deadlines, which are facts of their own). Optional fields are left out
/// rather than written as null.
public enum EntryCodec {
    /// The payload of `event` (its kind is `event.kind`).
    public static func payload(of event: RescueEvent) -> [String: JSONValue] {
        switch event {
        case .registered(let p):
            var payload: [String: JSONValue] = ["participant": .string(p.id), "role": .string(p.role.rawValue), "region": .string(p.region)]
            payload["company"] = p.company.map(JSONValue.string)
            payload["latitude"] = p.latitude.map(JSONValue.integer)
            payload["longitude"] = p.longitude.map(JSONValue.integer)
            payload["registrationNumber"] = p.registrationNumber.map(JSONValue.string)
            payload["capacityPortions"] = p.capacityPortions.map(JSONValue.integer)
            if !p.acceptedCategories.isEmpty { payload["acceptedCategories"] = .array(p.acceptedCategories.sorted().map(JSONValue.string)) }
            payload["serviceRadiusMetres"] = p.serviceRadiusMetres.map(JSONValue.integer)
            payload["headcountServed"] = p.headcountServed.map(JSONValue.integer)
            payload["taxNumber"] = p.taxNumber.map(JSONValue.string)
            payload["donationPurpose"] = p.donationPurpose.map { .string($0.rawValue) }
            payload["vehicleGrams"] = p.vehicleGrams.map(JSONValue.integer)
            payload["coldChain"] = p.coldChain.map(JSONValue.bool)
            return payload
        case .posted(let o):
            var payload: [String: JSONValue] = [
                "offer": .string(o.id), "provider": .string(o.provider), "category": .string(o.category), "grams": .integer(o.grams),
                "portions": .integer(o.portions), "latitude": .integer(o.latitude), "longitude": .integer(o.longitude),
                "temperature": .string(o.temperature.rawValue), "postedAt": .integer(o.postedAt), "expiresAt": .integer(o.expiresAt),
                "priceRupiah": .integer(o.priceRupiah), "version": .integer(o.version),
            ]
            payload["costRupiah"] = o.costRupiah.map(JSONValue.integer)
            return payload
        case .matchOffered(let offer, let recipient, let candidates, let expiresAt):
            var payload: [String: JSONValue] = ["offer": .string(offer), "recipient": .string(recipient), "expiresAt": .integer(expiresAt)]
            payload["candidates"] = candidates.map { .array($0.map(JSONValue.string)) }
            return payload
        case .matchDeclined(let offer, let recipient), .matchExpired(let offer, let recipient):
            return ["offer": .string(offer), "recipient": .string(recipient)]
        case .claimPlaced(let c):
            return [
                "claim": .string(c.id), "offer": .string(c.offer), "claimant": .string(c.claimant), "portions": .integer(c.portions),
                "grams": .integer(c.grams), "priceRupiah": .integer(c.priceRupiah), "pickupCodeDigest": .string(c.pickupCodeDigest),
            ]
        case .claimCancelled(let claim):
            return ["claim": .string(claim)]
        case .escrowHeld(let e):
            return ["escrow": .string(e.id), "claim": .string(e.claim), "buyer": .string(e.buyer), "provider": .string(e.provider), "rupiah": .integer(e.heldRupiah)]
        case .escrowReleased(let escrow, let rupiah):
            return ["escrow": .string(escrow), "rupiah": .integer(rupiah)]
        case .escrowRefunded(let escrow, let rupiah, let rule):
            return ["escrow": .string(escrow), "rupiah": .integer(rupiah), "rule": .string(rule)]
        case .pickedUp(let p):
            var payload: [String: JSONValue] = [
                "claim": .string(p.claim), "grams": .integer(p.grams), "portions": .integer(p.portions),
                "returnedGrams": .integer(p.returnedGrams), "returnedPortions": .integer(p.returnedPortions), "afterExpiry": .bool(p.afterExpiry),
            ]
            payload["declaredFreshnessScore"] = p.declaredFreshnessScore.map(JSONValue.integer)
            return payload
        case .deliveryConfirmed(let claim, let served):
            return ["claim": .string(claim), "portionsServed": .integer(served)]
        case .rescueCompleted(let c):
            return [
                "claim": .string(c.claim), "offer": .string(c.offer), "provider": .string(c.provider), "claimant": .string(c.claimant),
                "category": .string(c.category), "gramsRescued": .integer(c.gramsRescued), "portionsServed": .integer(c.portionsServed),
                "meals": .integer(c.meals), "lifecycleGramsCO2e": .integer(c.lifecycleGramsCO2e), "downstreamGramsCO2e": .integer(c.downstreamGramsCO2e),
            ]
        case .disputeOpened(let d):
            return [
                "dispute": .string(d.id), "claim": .string(d.claim), "claimant": .string(d.claimant), "reason": .string(d.reason.rawValue),
                "evidence": .array(d.evidence.map(JSONValue.string)), "decideBy": .integer(d.decideBy), "heldRupiah": .integer(d.heldRupiah),
            ]
        case .disputeResolved(let id, let r):
            return ["dispute": .string(id), "outcome": .string(r.outcome.name), "refundRupiah": .integer(r.refundRupiah), "rule": .string(r.rule)]
        case .carbonMinted(let m):
            var payload: [String: JSONValue] = [
                "company": .string(m.company), "vintage": .integer(Int64(m.vintage)), "rescue": .integer(Int64(m.rescue)),
                "gramsCO2e": .integer(m.gramsCO2e), "basedOn": .array(m.basedOn.map { .integer(Int64($0)) }),
                "carriedGrams": .integer(m.carriedGrams), "basis": .string(m.basis.rawValue),
            ]
            payload["range"] = m.range.map(rangeValue)
            payload["buffer"] = m.buffer.map(rangeValue)
            return payload
        case .carbonTransferred(let from, let to, let range):
            return ["from": .string(from), "to": .string(to), "range": rangeValue(range)]
        case .carbonRetired(let owner, let range, let beneficiary, let reason):
            return ["owner": .string(owner), "range": rangeValue(range), "beneficiary": .string(beneficiary), "reason": .string(reason)]
        case .carbonCancelled(let owner, let range, let reason):
            return ["owner": .string(owner), "range": rangeValue(range), "reason": .string(reason)]
        case .policyActivated(let policy, let files):
            return ["policy": .string(policy), "files": .object(files.mapValues(JSONValue.string))]
        case .auctionStarted(let a):
            var payload: [String: JSONValue] = [
                "auction": .string(a.id), "offer": .string(a.offer), "provider": .string(a.provider), "curve": .string(a.curveName),
                "shape": .string(a.curve.shapeName), "startRupiah": .integer(a.curve.startRupiah), "floorRupiah": .integer(a.curve.floorRupiah),
                "durationMicroseconds": .integer(a.curve.durationMicroseconds), "portions": .integer(a.portions), "grams": .integer(a.grams),
                "offerPriceRupiah": .integer(a.offerPriceRupiah), "endsAt": .integer(a.endsAt), "endRule": .string(a.endRule.rawValue),
            ]
            switch a.curve.shape {
            case .linear: break
            case .steps(let step, let permille):
                payload["stepMicroseconds"] = .integer(step)
                payload["dropPermille"] = .integer(permille)
            case .exponential(let halfLife):
                payload["halfLifeMicroseconds"] = .integer(halfLife)
            }
            return payload
        case .auctionSold(let s):
            return [
                "auction": .string(s.auction), "offer": .string(s.offer), "claim": .string(s.claim), "buyer": .string(s.buyer),
                "portions": .integer(s.portions), "grams": .integer(s.grams), "lotPriceRupiah": .integer(s.lotPriceRupiah),
                "priceRupiah": .integer(s.priceRupiah), "elapsedMicroseconds": .integer(s.elapsedMicroseconds), "rule": .string(s.rule),
            ]
        case .auctionConverted(let auction, let offer, let portions, let grams, let rule):
            return ["auction": .string(auction), "offer": .string(offer), "portions": .integer(portions), "grams": .integer(grams), "rule": .string(rule.rawValue)]
        case .auctionCancelled(let auction, let offer, let portions):
            return ["auction": .string(auction), "offer": .string(offer), "portions": .integer(portions)]
        case .groupFormed(let g):
            var payload: [String: JSONValue] = [
                "group": .string(g.id), "coordinator": .string(g.coordinator), "area": .string(g.area), "deadline": .integer(g.deadline),
                "minPortions": .integer(g.minPortions),
            ]
            payload["offer"] = g.offer.map(JSONValue.string)
            payload["category"] = g.category.map(JSONValue.string)
            return payload
        case .groupJoined(let group, let member):
            return ["group": .string(group), "member": .string(member.id), "portions": .integer(member.portions)]
        case .groupLeft(let group, let member, let portions, let reason):
            return ["group": .string(group), "member": .string(member), "portions": .integer(portions), "reason": .string(reason.rawValue)]
        case .groupClaimed(let plan):
            return [
                "group": .string(plan.group), "claim": .string(plan.claim), "offer": .string(plan.offer), "portions": .integer(plan.portions),
                "priceRupiah": .integer(plan.priceRupiah),
                "shares": .array(plan.shares.map { share in
                    var item: [String: JSONValue] = ["member": .string(share.member), "portions": .integer(share.portions), "rupiah": .integer(share.rupiah)]
                    if share.rupiah > 0 { item["escrow"] = .string(GroupBook.ClaimPlan.escrowID(claim: plan.claim, member: share.member)) }
                    return .object(item)
                }),
            ]
        case .groupExpired(let group, let rule):
            return ["group": .string(group), "rule": .string(rule)]
        case .groupClosed(let group):
            return ["group": .string(group)]
        case .deviceRegistered(let d):
            return ["device": .string(d.id), "holder": .string(d.holder), "publicKey": .string(d.publicKey)]
        case .deviceRevoked(let device, let reason):
            return ["device": .string(device), "reason": .string(reason.rawValue)]
        case .scanAttested(let s):
            var payload = ScanDocument.members(of: s)
            payload["v"] = nil
            payload["scan"] = .string(s.id)
            payload["stage"] = .string(s.stage.rawValue)
            payload["signature"] = .string(s.signature)
            return payload
        case .courierOffered(let claim, let courier, let grams, let expiresAt):
            return ["claim": .string(claim), "courier": .string(courier), "grams": .integer(grams), "expiresAt": .integer(expiresAt)]
        case .courierDeclined(let claim, let courier, let reason):
            return ["claim": .string(claim), "courier": .string(courier), "reason": .string(reason.rawValue)]
        case .courierAssigned(let claim, let courier, let grams, let booking):
            var payload: [String: JSONValue] = ["claim": .string(claim), "courier": .string(courier), "grams": .integer(grams)]
            payload["bookingSha256"] = booking.map(JSONValue.string)
            return payload
        case .courierPickedUp(let claim, let courier, let grams):
            return ["claim": .string(claim), "courier": .string(courier), "grams": .integer(grams)]
        case .courierDelivered(let d):
            return [
                "claim": .string(d.claim), "courier": .string(d.courier), "grams": .integer(d.grams), "distanceMetres": .integer(d.distanceMetres),
                "coldChain": .bool(d.coldChain), "minutesBeforeExpiry": .integer(d.minutesBeforeExpiry),
            ]
        case .pointsAwarded(let a):
            return [
                "courier": .string(a.courier), "claim": .string(a.claim), "points": .integer(a.points), "kgPoints": .integer(a.kgPoints),
                "kmPoints": .integer(a.kmPoints), "coldChainPoints": .integer(a.coldChainPoints), "nearExpiryPoints": .integer(a.nearExpiryPoints),
            ]
        case .posConnected(let c):
            return ["connection": .string(c.id), "site": .string(c.site), "vendor": .string(c.vendor.rawValue), "mapping": .string(c.mapping)]
        case .posSynced(let s):
            return [
                "connection": .string(s.connection), "vendorEvent": .string(s.vendorEvent), "bodySha256": .string(s.bodySha256),
                "lines": .array(s.lines.map { line in
                    var item: [String: JSONValue] = [
                        "sku": .string(line.sku), "quantity": .integer(line.quantity), "gramsEach": .integer(line.gramsEach),
                        "priceRupiahEach": .integer(line.priceRupiahEach),
                    ]
                    item["offer"] = line.offer.map(JSONValue.string)
                    item["category"] = line.category.map(JSONValue.string)
                    item["grams"] = line.grams.map(JSONValue.integer)
                    item["priceRupiah"] = line.priceRupiah.map(JSONValue.integer)
                    item["skipped"] = line.skipped.map { .string($0.rawValue) }
                    return .object(item)
                }),
            ]
        }
    }

    /// A `pos.synced` payload's lines, in the till's order.
    private static func posLines(_ p: PayloadReader) throws(CodecError) -> [PosBook.MappedLine] {
        guard let elements = p.payload.arrayElements("lines") else { throw p.error("lines", "must be an array of lines") }
        var lines = [PosBook.MappedLine]()
        for element in elements {
            guard let item = try? JSONObjectView(bytes: Array(p.payload.bytes[element])), let sku = item.string("sku"), let quantity = item.integer("quantity"),
                let gramsEach = item.integer("gramsEach"), let priceEach = item.integer("priceRupiahEach")
            else { throw p.error("lines", "each line is {sku, quantity, gramsEach, priceRupiahEach, …}") }
            let skipped = item.string("skipped").flatMap(PosBook.SkipReason.init(rawValue:))
            lines.append(PosBook.MappedLine(
                sku: sku, quantity: quantity, gramsEach: gramsEach, priceRupiahEach: priceEach, offer: item.string("offer"), category: item.string("category"),
                grams: item.integer("grams"), priceRupiah: item.integer("priceRupiah"), skipped: skipped))
        }
        return lines
    }

    /// A `group.claimed` payload's shares, in joining order.
    private static func shares(_ p: PayloadReader) throws(CodecError) -> [GroupBook.Share] {
        guard let elements = p.payload.arrayElements("shares") else { throw p.error("shares", "must be an array of shares") }
        var shares = [GroupBook.Share]()
        for element in elements {
            guard let item = try? JSONObjectView(bytes: Array(p.payload.bytes[element])), let member = item.string("member"),
                let portions = item.integer("portions"), let rupiah = item.integer("rupiah")
            else { throw p.error("shares", "each share is {member, portions, rupiah}") }
            shares.append(GroupBook.Share(member: member, portions: portions, rupiah: rupiah))
        }
        return shares
    }

    /// An `auction.started` payload's curve, its domains checked as the engine checks them.
    private static func curve(_ p: PayloadReader) throws(CodecError) -> PriceCurve {
        let shape: PriceCurve.Shape
        switch try p.string("shape") {
        case "linear": shape = .linear
        case "steps": shape = .steps(stepMicroseconds: try p.integer("stepMicroseconds"), dropPermille: try p.integer("dropPermille"))
        case "exponential": shape = .exponential(halfLifeMicroseconds: try p.integer("halfLifeMicroseconds"))
        default: throw p.error("shape", "is not linear, steps or exponential")
        }
        let (start, floor, duration) = (try p.integer("startRupiah"), try p.integer("floorRupiah"), try p.integer("durationMicroseconds"))
        do throws(PriceCurve.Invalid) {
            return try PriceCurve(startRupiah: start, floorRupiah: floor, durationMicroseconds: duration, shape: shape)
        } catch {
            throw p.error(error.field, error.reason)
        }
    }

    private static func endRule(_ p: PayloadReader, _ field: String) throws(CodecError) -> AuctionBook.EndRule {
        guard let rule = AuctionBook.EndRule(rawValue: try p.string(field)) else {
            throw p.error(field, "is not \(AuctionBook.EndRule.allCases.map(\.rawValue).joined(separator: " or "))")
        }
        return rule
    }

    /// The event an entry records, nil for kinds outside the rescue domain (key rotation,
    /// erasure, access records…). A domain entry whose payload breaks the contract is an error
    /// naming its seq, kind and field.
    public static func event(of body: EntryBody) throws(CodecError) -> RescueEvent? {
        try event(seq: body.seq, time: body.time, kind: body.kind, payloadBytes: CanonicalJSON.encode(.object(body.payload)))
    }

    /// The event a stored entry records (see `event(of:)`), read from its exact body bytes.
    public static func event(of entry: SignedEntry) throws(CodecError) -> RescueEvent? {
        try decode(bodyBytes: entry.bodyBytes, seq: entry.seq)?.event
    }

    /// The event recorded by a body's bytes and the entry's time (replay's fast path: no JSON
    /// tree is built); nil for kinds outside the rescue domain.
    public static func decode(bodyBytes: [UInt8], seq: UInt64) throws(CodecError) -> (event: RescueEvent, time: Int64)? {
        try decodeForReplay(bodyBytes: bodyBytes, seq: seq).map { ($0.event, $0.time) }
    }

    /// What replay needs of one entry: its event and time, and the idempotency record a
    /// command's first entry carries (FORMAT.md §7.11).
    struct Replayed {
        let event: RescueEvent
        let time: Int64
        let idempotency: IdempotencyRecord?
    }

    static func decodeForReplay(bodyBytes: [UInt8], seq: UInt64) throws(CodecError) -> Replayed? {
        let body: JSONObjectView
        do {
            body = try JSONObjectView(bytes: bodyBytes)
        } catch {
            throw CodecError(seq: seq, kind: "?", field: "body", reason: error.description)
        }
        guard let kindRange = body.valueRange("kind"), let time = body.integer("time"), body.integer("seq") == Int64(seq) else {
            throw CodecError(seq: seq, kind: body.string("kind") ?? "?", field: "body", reason: "kind, time or seq is missing or wrong")
        }
        // Matched on the bytes: most kinds are longer than Swift's inline strings, and creating
        // one per entry is a measurable share of a replay.
        guard let kind = domainKind(bodyBytes, kindRange) else { return nil }
        guard let payload = body.object("payload") else { throw CodecError(seq: seq, kind: kind.rawValue, field: "payload", reason: "must be an object") }
        guard let event = try event(seq: seq, time: time, kind: kind, payload: payload) else { return nil }
        var idempotency: IdempotencyRecord?
        if let member = payload.object(IdempotencyRecord.member) {
            guard let actor = body.string("actor"), let record = IdempotencyRecord(member, actor: actor, firstSeq: seq, time: time) else {
                throw CodecError(seq: seq, kind: kind.rawValue, field: IdempotencyRecord.member, reason: "needs key, request (64 hex digits each) and entries ≥ 1")
            }
            idempotency = record
        }
        return Replayed(event: event, time: time, idempotency: idempotency)
    }

    private static let quotedKinds = EntryKind.domainEvents.map { (kind: $0, bytes: Array("\"\($0.rawValue)\"".utf8)) }

    /// The domain kind whose quoted name is at `range`, if it is one.
    private static func domainKind(_ bytes: [UInt8], _ range: Range<Int>) -> EntryKind? {
        for candidate in quotedKinds where candidate.bytes.count == range.count {
            if bytes[range].elementsEqual(candidate.bytes) { return candidate.kind }
        }
        return nil
    }

    static func event(seq: UInt64, time: Int64, kind name: String, payloadBytes: [UInt8]) throws(CodecError) -> RescueEvent? {
        guard let kind = EntryKind(rawValue: name), kind.isDomainEvent else { return nil }
        let payload: JSONObjectView
        do throws(JSONViewError) {
            payload = try JSONObjectView(bytes: payloadBytes)
        } catch {
            throw CodecError(seq: seq, kind: kind.rawValue, field: "payload", reason: error.description)
        }
        return try event(seq: seq, time: time, kind: kind, payload: payload)
    }

    private static func donationPurpose(_ p: PayloadReader) throws(CodecError) -> ParticipantRegistry.DonationPurpose? {
        guard let name = try p.optionalString("donationPurpose") else { return nil }
        guard let purpose = ParticipantRegistry.DonationPurpose(rawValue: name) else { throw p.error("donationPurpose", "is not a PP 93/2010 purpose") }
        return purpose
    }

    static func event(seq: UInt64, time: Int64, kind: EntryKind, payload: JSONObjectView) throws(CodecError) -> RescueEvent? {
        let p = PayloadReader(seq: seq, kind: kind.rawValue, payload: payload)
        switch kind {
        case .participantRegistered:
            guard let role = ParticipantRegistry.Role(rawValue: try p.string("role")) else { throw p.error("role", "is not a participant role") }
            return .registered(ParticipantRegistry.Participant(
                id: try p.string("participant"), role: role, company: try p.optionalString("company"), region: try p.string("region"),
                latitude: try p.optionalInteger("latitude"), longitude: try p.optionalInteger("longitude"),
                registrationNumber: try p.optionalString("registrationNumber"), capacityPortions: try p.optionalInteger("capacityPortions"),
                acceptedCategories: Set(try p.optionalStrings("acceptedCategories") ?? []),
                serviceRadiusMetres: try p.optionalInteger("serviceRadiusMetres"), headcountServed: try p.optionalInteger("headcountServed"),
                taxNumber: try p.optionalString("taxNumber"), donationPurpose: try donationPurpose(p), vehicleGrams: try p.optionalInteger("vehicleGrams"),
                coldChain: p.payload.bool("coldChain")))
        case .surplusPosted:
            guard let temperature = OfferBook.Temperature(rawValue: try p.string("temperature")) else {
                throw p.error("temperature", "is not ambient, chilled, frozen or hot")
            }
            let grams = try p.integer("grams")
            let portions = try p.integer("portions")
            return .posted(OfferBook.Offer(
                id: try p.string("offer"), provider: try p.string("provider"), category: try p.string("category"), grams: grams,
                portions: portions, latitude: try p.integer("latitude"), longitude: try p.integer("longitude"), temperature: temperature,
                postedAt: try p.integer("postedAt"), expiresAt: try p.integer("expiresAt"), priceRupiah: try p.integer("priceRupiah"),
                version: try p.integer("version"), remainingPortions: portions, remainingGrams: grams, costRupiah: try p.optionalInteger("costRupiah")))
        case .matchOffered:
            return .matchOffered(
                offer: try p.string("offer"), recipient: try p.string("recipient"), candidates: try p.optionalStrings("candidates"),
                expiresAt: try p.integer("expiresAt"))
        case .matchDeclined:
            return .matchDeclined(offer: try p.string("offer"), recipient: try p.string("recipient"))
        case .matchExpired:
            return .matchExpired(offer: try p.string("offer"), recipient: try p.string("recipient"))
        case .claimPlaced:
            return .claimPlaced(OfferBook.Claim(
                id: try p.string("claim"), offer: try p.string("offer"), claimant: try p.string("claimant"), portions: try p.integer("portions"),
                grams: try p.integer("grams"), priceRupiah: try p.integer("priceRupiah"), pickupCodeDigest: try p.string("pickupCodeDigest"),
                status: .placed, placedAt: time))
        case .claimCancelled:
            return .claimCancelled(claim: try p.string("claim"))
        case .escrowHeld:
            return .escrowHeld(EscrowBook.Escrow(
                id: try p.string("escrow"), claim: try p.string("claim"), buyer: try p.string("buyer"), provider: try p.string("provider"),
                heldRupiah: try p.integer("rupiah")))
        case .escrowReleased:
            return .escrowReleased(escrow: try p.string("escrow"), rupiah: try p.integer("rupiah"))
        case .escrowRefunded:
            return .escrowRefunded(escrow: try p.string("escrow"), rupiah: try p.integer("rupiah"), rule: try p.string("rule"))
        case .pickupConfirmed:
            // Entries before FORMAT §9 called the declared score `freshnessScore`.
            let declared = try p.optionalInteger("declaredFreshnessScore")
            let legacy = try p.optionalInteger("freshnessScore")
            return .pickedUp(Pickup(
                claim: try p.string("claim"), grams: try p.integer("grams"), portions: try p.integer("portions"),
                returnedGrams: try p.integer("returnedGrams"), returnedPortions: try p.integer("returnedPortions"),
                afterExpiry: try p.bool("afterExpiry"), at: time, declaredFreshnessScore: declared ?? legacy))
        case .deliveryConfirmed:
            return .deliveryConfirmed(claim: try p.string("claim"), portionsServed: try p.integer("portionsServed"))
        case .rescueCompleted:
            return .rescueCompleted(Completion(
                claim: try p.string("claim"), offer: try p.string("offer"), provider: try p.string("provider"), claimant: try p.string("claimant"),
                category: try p.string("category"), gramsRescued: try p.integer("gramsRescued"), portionsServed: try p.integer("portionsServed"),
                meals: try p.integer("meals"), lifecycleGramsCO2e: try p.integer("lifecycleGramsCO2e"),
                downstreamGramsCO2e: try p.integer("downstreamGramsCO2e"), at: time))
        case .disputeOpened:
            guard let reason = DisputeBook.Reason(rawValue: try p.string("reason")) else { throw p.error("reason", "is not a dispute reason") }
            return .disputeOpened(DisputeBook.Dispute(
                id: try p.string("dispute"), claim: try p.string("claim"), claimant: try p.string("claimant"), reason: reason,
                evidence: try p.strings("evidence"), openedAt: time, decideBy: try p.integer("decideBy"),
                heldRupiah: try p.integer("heldRupiah"), resolution: nil))
        case .disputeResolved:
            let refund = try p.integer("refundRupiah")
            let outcome: DisputeBook.Outcome
            switch try p.string("outcome") {
            case "fullRefund": outcome = .fullRefund
            case "partialRefund": outcome = .partialRefund(rupiah: refund)
            case "noRefund": outcome = .noRefund
            case "noRefundRelist": outcome = .noRefundRelist
            default: throw p.error("outcome", "is not a dispute outcome")
            }
            return .disputeResolved(dispute: try p.string("dispute"), DisputeBook.Resolution(outcome: outcome, refundRupiah: refund, rule: try p.string("rule")))
        case .carbonMinted:
            guard let basis = CarbonPolicy.Basis(rawValue: try p.string("basis")) else { throw p.error("basis", "is not lifecycle or downstream") }
            return .carbonMinted(Minted(
                company: try p.string("company"), vintage: Int(try p.integer("vintage")), range: try p.optionalRange("range"),
                buffer: try p.optionalRange("buffer"), rescue: try p.seq("rescue"), basedOn: try p.seqs("basedOn"),
                gramsCO2e: try p.integer("gramsCO2e"), carriedGrams: try p.integer("carriedGrams"), basis: basis))
        case .carbonTransferred:
            return .carbonTransferred(from: try p.string("from"), to: try p.string("to"), range: try p.range("range"))
        case .carbonRetired:
            return .carbonRetired(owner: try p.string("owner"), range: try p.range("range"), beneficiary: try p.string("beneficiary"), reason: try p.string("reason"))
        case .carbonCancelled:
            return .carbonCancelled(owner: try p.string("owner"), range: try p.range("range"), reason: try p.string("reason"))
        case .policyActivated:
            guard let files = payload.object("files") else { throw p.error("files", "must be an object of file hashes") }
            var hashes: [String: String] = [:]
            for name in files.keys {
                guard let hash = files.string(name) else { throw p.error("files", "must map file names to hashes") }
                hashes[name] = hash
            }
            return .policyActivated(policy: try p.string("policy"), files: hashes)
        case .auctionStarted:
            return .auctionStarted(AuctionBook.Auction(
                id: try p.string("auction"), offer: try p.string("offer"), provider: try p.string("provider"), curveName: try p.string("curve"),
                curve: try curve(p), startedAt: time, endsAt: try p.integer("endsAt"), endRule: try endRule(p, "endRule"),
                portions: try p.integer("portions"), grams: try p.integer("grams"), offerPriceRupiah: try p.integer("offerPriceRupiah")))
        case .auctionSold:
            return .auctionSold(AuctionBook.Sale(
                auction: try p.string("auction"), offer: try p.string("offer"), claim: try p.string("claim"), buyer: try p.string("buyer"),
                portions: try p.integer("portions"), grams: try p.integer("grams"), lotPriceRupiah: try p.integer("lotPriceRupiah"),
                priceRupiah: try p.integer("priceRupiah"), elapsedMicroseconds: try p.integer("elapsedMicroseconds"), rule: try p.string("rule")))
        case .auctionConverted:
            return .auctionConverted(
                auction: try p.string("auction"), offer: try p.string("offer"), portions: try p.integer("portions"), grams: try p.integer("grams"),
                rule: try endRule(p, "rule"))
        case .auctionCancelled:
            return .auctionCancelled(auction: try p.string("auction"), offer: try p.string("offer"), portions: try p.integer("portions"))
        case .groupFormed:
            return .groupFormed(GroupBook.Group(
                id: try p.string("group"), coordinator: try p.string("coordinator"), area: try p.string("area"), offer: try p.optionalString("offer"),
                category: try p.optionalString("category"), deadline: try p.integer("deadline"), minPortions: try p.integer("minPortions")))
        case .groupJoined:
            return .groupJoined(group: try p.string("group"), GroupBook.Member(id: try p.string("member"), portions: try p.integer("portions")))
        case .groupLeft:
            guard let reason = GroupBook.LeaveReason(rawValue: try p.string("reason")) else { throw p.error("reason", "is left or noShow") }
            return .groupLeft(group: try p.string("group"), member: try p.string("member"), portions: try p.integer("portions"), reason: reason)
        case .groupClaimed:
            return .groupClaimed(GroupBook.ClaimPlan(
                group: try p.string("group"), claim: try p.string("claim"), offer: try p.string("offer"), portions: try p.integer("portions"),
                priceRupiah: try p.integer("priceRupiah"), shares: try shares(p)))
        case .groupExpired:
            return .groupExpired(group: try p.string("group"), rule: try p.string("rule"))
        case .groupClosed:
            return .groupClosed(group: try p.string("group"))
        case .deviceRegistered:
            return .deviceRegistered(DeviceBook.Device(id: try p.string("device"), holder: try p.string("holder"), publicKey: try p.string("publicKey")))
        case .deviceRevoked:
            guard let reason = DeviceBook.RevocationReason(rawValue: try p.string("reason")) else { throw p.error("reason", "is lost, compromised or retired") }
            return .deviceRevoked(device: try p.string("device"), reason: reason)
        case .scanAttested:
            guard let stage = DeviceBook.Stage(rawValue: try p.string("stage")) else { throw p.error("stage", "is offer, pickup or delivery") }
            let subject: DeviceBook.Subject
            switch (try p.optionalString("offer"), try p.optionalString("claim")) {
            case (let offer?, nil): subject = .offer(offer)
            case (nil, let claim?): subject = .claim(claim)
            default: throw p.error("offer", "exactly one of offer and claim")
            }
            return .scanAttested(DeviceBook.Scan(
                id: try p.string("scan"), device: try p.string("device"), subject: subject, stage: stage, score: try p.integer("score"),
                model: try p.string("model"), modelVersion: try p.string("modelVersion"), imageSha256: try p.string("imageSha256"),
                scannedAt: try p.integer("scannedAt"), signature: try p.string("signature")))
        case .courierOffered:
            return .courierOffered(claim: try p.string("claim"), courier: try p.string("courier"), grams: try p.integer("grams"), expiresAt: try p.integer("expiresAt"))
        case .courierDeclined:
            guard let reason = LogisticsBook.DeclineReason(rawValue: try p.string("reason")) else { throw p.error("reason", "is declined or timedOut") }
            return .courierDeclined(claim: try p.string("claim"), courier: try p.string("courier"), reason: reason)
        case .courierAssigned:
            return .courierAssigned(
                claim: try p.string("claim"), courier: try p.string("courier"), grams: try p.integer("grams"), bookingSha256: try p.optionalString("bookingSha256"))
        case .courierPickup:
            return .courierPickedUp(claim: try p.string("claim"), courier: try p.string("courier"), grams: try p.integer("grams"))
        case .courierDelivered:
            guard let cold = p.payload.bool("coldChain") else { throw p.error("coldChain", "must be a boolean") }
            return .courierDelivered(LogisticsBook.Delivery(
                claim: try p.string("claim"), courier: try p.string("courier"), grams: try p.integer("grams"), distanceMetres: try p.integer("distanceMetres"),
                coldChain: cold, minutesBeforeExpiry: try p.integer("minutesBeforeExpiry")))
        case .pointsAwarded:
            let award = LogisticsBook.Award(
                courier: try p.string("courier"), claim: try p.string("claim"), kgPoints: try p.integer("kgPoints"), kmPoints: try p.integer("kmPoints"),
                coldChainPoints: try p.integer("coldChainPoints"), nearExpiryPoints: try p.integer("nearExpiryPoints"))
            guard award.points == (try p.integer("points")) else { throw p.error("points", "must be the sum of its parts") }
            return .pointsAwarded(award)
        case .posConnected:
            guard let vendor = PosBook.Vendor(rawValue: try p.string("vendor")) else { throw p.error("vendor", "is canonical, moka or majoo") }
            return .posConnected(PosBook.Connection(id: try p.string("connection"), site: try p.string("site"), vendor: vendor, mapping: try p.string("mapping")))
        case .posSynced:
            return .posSynced(PosBook.Synced(
                connection: try p.string("connection"), vendorEvent: try p.string("vendorEvent"), bodySha256: try p.string("bodySha256"), lines: try posLines(p)))
        case .piiAccessed, .subjectErased, .keyRotated:
            return nil
        }
    }

    /// A serial range as entries (and the API) write it.
    public static func rangeValue(_ range: SerialRange) -> JSONValue {
        ["vintage": .integer(Int64(range.vintage)), "first": .integer(range.first), "last": .integer(range.last), "serials": .string(range.description)]
    }
}

/// A domain entry whose payload breaks the contract.
public struct CodecError: Error, CustomStringConvertible, Equatable {
    public let seq: UInt64
    public let kind: String
    public let field: String
    public let reason: String

    public var description: String { "seq \(seq) (\(kind)): \(field): \(reason)" }
}

/// Typed, located reads of one entry's payload.
struct PayloadReader {
    let seq: UInt64
    let kind: String
    let payload: JSONObjectView

    func error(_ field: String, _ reason: String) -> CodecError { CodecError(seq: seq, kind: kind, field: field, reason: reason) }

    func string(_ field: String) throws(CodecError) -> String {
        guard let value = payload.string(field) else { throw error(field, "must be a string") }
        return value
    }

    func optionalString(_ field: String) throws(CodecError) -> String? {
        guard payload.contains(field) else { return nil }
        return try string(field)
    }

    func integer(_ field: String) throws(CodecError) -> Int64 {
        guard let value = payload.integer(field) else { throw error(field, "must be an integer") }
        return value
    }

    func optionalInteger(_ field: String) throws(CodecError) -> Int64? {
        guard payload.contains(field) else { return nil }
        return try integer(field)
    }

    func bool(_ field: String) throws(CodecError) -> Bool {
        guard let value = payload.bool(field) else { throw error(field, "must be true or false") }
        return value
    }

    func seq(_ field: String) throws(CodecError) -> UInt64 {
        let value = try integer(field)
        guard value >= 0 else { throw error(field, "must be a seq (not negative)") }
        return UInt64(value)
    }

    func strings(_ field: String) throws(CodecError) -> [String] {
        guard let values = try optionalStrings(field) else { throw error(field, "must be an array of strings") }
        return values
    }

    func optionalStrings(_ field: String) throws(CodecError) -> [String]? {
        guard payload.contains(field) else { return nil }
        guard let elements = payload.arrayElements(field) else { throw error(field, "must be an array of strings") }
        var strings = [String]()
        strings.reserveCapacity(elements.count)
        for element in elements {
            guard let text = JSONObjectView.string(payload.bytes, element) else { throw error(field, "must be an array of strings") }
            strings.append(text)
        }
        return strings
    }

    func seqs(_ field: String) throws(CodecError) -> [UInt64] {
        guard let elements = payload.arrayElements(field) else { throw error(field, "must be an array of seqs") }
        var seqs = [UInt64]()
        seqs.reserveCapacity(elements.count)
        for element in elements {
            guard let value = JSONObjectView.integer(payload.bytes, element), value >= 0 else { throw error(field, "must be an array of seqs") }
            seqs.append(UInt64(value))
        }
        return seqs
    }

    func range(_ field: String) throws(CodecError) -> SerialRange {
        guard let range = try optionalRange(field) else { throw error(field, "must be a serial range") }
        return range
    }

    func optionalRange(_ field: String) throws(CodecError) -> SerialRange? {
        guard payload.contains(field) else { return nil }
        guard let value = payload.object(field), let vintage = value.integer("vintage"), let first = value.integer("first"),
            let last = value.integer("last"), let range = SerialRange(vintage: Int(vintage), first: first, last: last)
        else { throw error(field, "must be a serial range {vintage, first, last} with 1 ≤ first ≤ last") }
        return range
    }
}
