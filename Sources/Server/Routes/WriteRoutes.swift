import Core
import Foundation
import Hummingbird
import Ledger
import Prometheus
import Rescue

/// The write API: each route turns its body into one engine command for the token's subject;
/// the answer is built from the command's durable entries, so a retry under the same
/// `Idempotency-Key` gets the same answer, also after a restart.
extension Service {
    func addWriteRoutes(_ routes: RouteBuilder) {
        let loop = loop
        routes.write(.post, "/v1/participants", .needs(.participantsRegister), status: .created) { bytes, _ in
            .register(try RequestBodies.decode(bytes, as: ParticipantBody.self).participant())
        } answer: { entries in
            compact(["participant": entries.first?.body.payload["participant"]])
        }
        routes.write(.post, "/v1/surplus", .needs(.surplusPost), status: .created) { bytes, context in
            let body = try RequestBodies.decode(bytes, as: SurplusBody.self)
            try body.check()
            return .post(
                OfferPost(
                    id: try Self.chosenID(body.id, "off"), provider: try context.requirePrincipal().subject, category: body.category, grams: body.grams, portions: body.portions,
                    latitude: body.latitude, longitude: body.longitude, temperature: try body.temperatureValue(), expiresAt: body.expiresAt,
                    priceRupiah: body.priceRupiah, now: 0, costRupiah: body.costRupiah, scan: try body.scan?.scan()))
        } answer: { entries in
            compact([
                "offer": Self.member("offer", of: .surplusPosted, in: entries), "offeredTo": Self.member("recipient", of: .matchOffered, in: entries),
                "scan": Self.member("scan", of: .scanAttested, in: entries),
            ])
        }
        routes.write(.post, "/v1/matches/{offer}/accept", .needs(.matchesRespond), status: .created, timedAsClaim: true) { bytes, context in
            _ = try RequestBodies.decode(bytes, as: EmptyBody.self)
            let offerID = try PathParameters.id(context, "offer")
            // Accepting is claiming what remains at the version seen now; a claim racing it
            // makes this one stale (409), and the caller may accept again.
            guard let offer = loop.read({ $0.offers.offers[offerID] }) else { throw Problem.rejected(.offer(.offerNotFound)) }
            return Self.claim(loop, id: Self.newID("clm"), offer: offerID, seenVersion: offer.version, portions: offer.remainingPortions)
        } answer: { entries in
            Self.claimAnswer(loop, entries)
        }
        routes.write(.post, "/v1/matches/{offer}/decline", .needs(.matchesRespond), status: .ok) { bytes, context in
            _ = try RequestBodies.decode(bytes, as: EmptyBody.self)
            return .declineMatch(offer: try PathParameters.id(context, "offer"))
        } answer: { entries in
            compact(["offer": entries.first?.body.payload["offer"], "escalatedTo": Self.member("recipient", of: .matchOffered, in: entries)])
        }
        routes.write(.post, "/v1/claims", .needs(.claimsPlace), status: .created, timedAsClaim: true) { bytes, _ in
            let body = try RequestBodies.decode(bytes, as: ClaimBody.self)
            try body.check()
            return Self.claim(loop, id: try Self.chosenID(body.id, "clm"), offer: body.offer, seenVersion: body.seenVersion, portions: body.portions)
        } answer: { entries in
            Self.claimAnswer(loop, entries)
        }
        routes.write(.post, "/v1/claims/{claim}/cancel", .needs(.claimsCancel), status: .ok) { bytes, context in
            _ = try RequestBodies.decode(bytes, as: EmptyBody.self)
            return .cancelClaim(claim: try PathParameters.id(context, "claim"))
        } answer: { entries in
            compact(["claim": entries.first?.body.payload["claim"]])
        }
        routes.write(.post, "/v1/claims/{claim}/pickup", .needs(.claimsPickup), status: .ok) { bytes, context in
            let claim = try PathParameters.id(context, "claim")
            let body = try RequestBodies.decode(bytes, as: PickupBody.self)
            try body.check()
            return .confirmPickup(
                claim: claim, pickupCodeDigest: loop.pickupCodeDigest(claim: claim, code: body.pickupCode), grams: body.grams,
                declaredFreshnessScore: body.declaredFreshnessScore)
        } answer: { entries in
            compact(["claim": entries.first?.body.payload["claim"]])
        }
        routes.write(.post, "/v1/claims/{claim}/delivery", .needs(.claimsDeliver), status: .ok) { bytes, context in
            let claim = try PathParameters.id(context, "claim")
            let body = try RequestBodies.decode(bytes, as: DeliveryBody.self)
            try body.check()
            return .confirmDelivery(claim: claim, portionsServed: body.portionsServed)
        } answer: { entries in
            compact(["claim": entries.first?.body.payload["claim"], "gramsRescued": Self.member("gramsRescued", of: .rescueCompleted, in: entries)])
        }
        routes.write(.post, "/v1/disputes", .needs(.disputesOpen), status: .created) { bytes, _ in
            let body = try RequestBodies.decode(bytes, as: DisputeBody.self)
            guard let reason = DisputeBook.Reason(rawValue: body.reason) else {
                throw Problem(.badRequest, "unknownReason", "Not a dispute reason", detail: DisputeBook.Reason.allCases.map(\.rawValue).joined(separator: ", "))
            }
            try body.check()
            return .openDispute(id: try Self.chosenID(body.id, "dsp"), claim: body.claim, reason: reason, evidence: body.evidence.map(loop.evidenceDigest))
        } answer: { entries in
            Self.disputeAnswer(entries)
        }
        routes.write(.post, "/v1/disputes/{dispute}/decision", .needs(.disputesDecide), status: .ok) { bytes, context in
            let dispute = try PathParameters.id(context, "dispute")
            return .decideDispute(id: dispute, outcome: try RequestBodies.decode(bytes, as: DecisionBody.self).outcomeValue())
        } answer: { entries in
            Self.disputeAnswer(entries)
        }
        routes.write(.post, "/v1/carbon/transfers", .needs(.carbonTransfer), status: .created) { bytes, _ in
            let body = try RequestBodies.decode(bytes, as: TransferBody.self)
            try body.check()
            return .transferCarbon(to: body.to, range: try body.range.value())
        } answer: { entries in
            compact(["range": entries.first?.body.payload["range"], "to": entries.first?.body.payload["to"]])
        }
        let vault = vault
        routes.write(.post, "/v1/carbon/retirements", .needs(.carbonRetire), status: .created) { bytes, _ in
            let body = try RequestBodies.decode(bytes, as: RetirementBody.self)
            try body.check()
            // A person is named by the vault's subject id, and only one the vault holds.
            if loop.read({ $0.participants.participants[body.beneficiary] }) == nil, !vault.knows(subject: body.beneficiary) {
                throw Problem(
                    .unprocessableContent, "beneficiaryIsNotKnown", "The beneficiary must be a participant or a vault subject",
                    detail: "register the organisation, or store the person in the vault (POST /v1/subjects) and name the subject id it answers")
            }
            return .retireCarbon(range: try body.range.value(), beneficiary: body.beneficiary, reason: body.reason)
        } answer: { entries in
            compact(["range": entries.first?.body.payload["range"], "retired": .bool(true)])
        }
        routes.write(.post, "/v1/carbon/cancellations", .needs(.carbonCancel), status: .created) { bytes, _ in
            let body = try RequestBodies.decode(bytes, as: CancellationBody.self)
            try body.check()
            return .cancelCarbon(range: try body.range.value(), reason: body.reason)
        } answer: { entries in
            compact(["range": entries.first?.body.payload["range"], "cancelled": .bool(true)])
        }
    }

    /// The caller's id when it gave a pseudonymous one, else a new one.
    static func chosenID(_ given: String?, _ prefix: String) throws -> String {
        guard let given else { return newID(prefix) }
        try Field.id(given, "id")
        return given
    }

    /// A new server-chosen id: prefix and 16 random letters a–p (64 bits; letters, so the id
    /// meets the digit limit of `InputDomain.isID` however the bytes fall).
    static func newID(_ prefix: String) -> String {
        let letters = Sodium.randomBytes(8).flatMap { [UInt8(ascii: "a") + $0 >> 4, UInt8(ascii: "a") + $0 & 0x0F] }
        return prefix + "-" + String(decoding: letters, as: UTF8.self)
    }

    /// A payload member of the first entry of `kind`.
    static func member(_ name: String, of kind: EntryKind, in entries: [SignedEntry]) -> JSONValue? {
        entries.first(where: { $0.body.kind == kind.rawValue })?.body.payload[name]
    }

    /// A claim command: its pickup code is derived from its id, and only the code's digest
    /// enters the command (and the ledger).
    static func claim(_ loop: CommandLoop, id: String, offer: String, seenVersion: Int64, portions: Int64) -> RescueCommand {
        .claim(id: id, offer: offer, seenVersion: seenVersion, portions: portions, pickupCodeDigest: loop.pickupCodeDigest(claim: id, code: loop.pickupCode(claim: id)))
    }

    /// A claim's answer: its id and pickup code (derived from the id, so a retry gets the same
    /// code), and the escrow it holds when paid.
    static func claimAnswer(_ loop: CommandLoop, _ entries: [SignedEntry]) -> [String: JSONValue] {
        guard case .string(let claim)? = member("claim", of: .claimPlaced, in: entries) else { return [:] }
        var answer: [String: JSONValue] = ["claim": .string(claim), "pickupCode": .string(loop.pickupCode(claim: claim))]
        if case .integer(let rupiah)? = member("rupiah", of: .escrowHeld, in: entries) { answer["escrowRupiah"] = .integer(rupiah) }
        return answer
    }

    static func disputeAnswer(_ entries: [SignedEntry]) -> [String: JSONValue] {
        var answer = compact(["dispute": entries.first?.body.payload["dispute"], "evidence": entries.first?.body.payload["evidence"]])
        if let resolved = entries.first(where: { $0.body.kind == EntryKind.disputeResolved.rawValue }) {
            answer["outcome"] = resolved.body.payload["outcome"]
            answer["refundRupiah"] = resolved.body.payload["refundRupiah"]
        }
        return answer
    }
}

extension RouteBuilder {
    /// A write route. `command` reads the body (strictly) into one command for the caller;
    /// `answer` builds the response's members from the command's durable entries. The response
    /// also lists the entries (`seq`, `kind`). With an `Idempotency-Key` header a retry (same
    /// caller, key, method, path and body) returns the original answer and writes nothing; the
    /// same key with a different request is refused. `timedAsClaim` puts the route's latency in
    /// the claim-latency metric (what `bench http` and the claim SLO watch).
    func write(
        _ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess, status: HTTPResponse.Status,
        timedAsClaim: Bool = false,
        command: @escaping @Sendable (_ body: [UInt8], ServiceContext) throws -> RescueCommand,
        answer: @escaping @Sendable ([SignedEntry]) -> [String: JSONValue]
    ) {
        let loop = service.loop
        let metrics = service.metrics
        on(method, path, access) { request, context in
            let principal = try context.requirePrincipal()
            let bytes = try await RequestBodies.bytes(request, context)
            var idempotency: Idempotency?
            if let key = request.headers[.idempotencyKey] {
                guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
                    throw Problem(.badRequest, "badIdempotencyKey", "The Idempotency-Key is not usable", detail: "1 to 255 visible ASCII characters")
                }
                idempotency = Idempotency(clientKey: key, request: Array("\(method.rawValue) \(request.uri.path)\n".utf8) + bytes)
            }
            let issued = try command(bytes, context)
            let entries: [SignedEntry]
            do throws(CommandError) {
                let queued = ContinuousClock.now
                entries = try await loop.execute(issued, actor: principal.subject, idempotency: idempotency)
                metrics.appendLatency.record(ContinuousClock.now - queued)
            } catch {
                throw Problem.command(error)
            }
            if timedAsClaim { metrics.claimLatency.record(.nanoseconds(DispatchTime.now().uptimeNanoseconds - context.arrivedAt)) }
            if case .integer(let grams)? = Service.member("gramsRescued", of: .rescueCompleted, in: entries), grams > 0 {
                metrics.foodWastePrevented.increment(by: Double(grams) / 1_000_000)
            }
            var members = answer(entries)
            members["entries"] = .array(entries.map { .object(["seq": .integer(Int64($0.seq)), "kind": .string($0.body.kind)]) })
            return Response.json(status, members)
        }
    }
}

/// The members that are present.
func compact(_ members: [String: JSONValue?]) -> [String: JSONValue] { members.compactMapValues { $0 } }
