import Compliance
import Core
import Hummingbird
import Ledger
import Rescue

/// Pahlawan-Express over HTTP (FORMAT §7.16): a claimant asks for a courier; couriers answer
/// offers, pick up with the claim's code, deliver, and earn Eco-Hero points.
extension Service {
    func addCourierRoutes(_ routes: RouteBuilder) {
        let loop = loop
        let dispatcher = dispatcher
        let access = settings.access
        routes.on(.post, "/v1/claims/{claim}/courier", .needs(.couriersRequest)) { request, context in
            _ = try RequestBodies.decode(try await RequestBodies.bytes(request, context), as: EmptyBody.self)
            let claim = try PathParameters.id(context, "claim")
            let actor = try context.requirePrincipal().subject
            let entries: [SignedEntry]
            do throws(CommandError) {
                entries = try await dispatcher.request(claim: claim, actor: actor)
            } catch {
                throw Problem.command(error)
            }
            return Response.json(.created, Self.courierAnswer(entries))
        }
        for (path, accept) in [("accept", true), ("decline", false)] {
            routes.write(.post, "/v1/couriers/offers/{claim}/\(path)", .needs(.couriersWork), status: accept ? .created : .ok) { bytes, context in
                _ = try RequestBodies.decode(bytes, as: EmptyBody.self)
                return .respondToCourierOffer(claim: try PathParameters.id(context, "claim"), accept: accept)
            } answer: { Self.courierAnswer($0) }
        }
        routes.write(.post, "/v1/couriers/legs/{claim}/pickup", .needs(.couriersWork), status: .created) { bytes, context in
            let body = try RequestBodies.decode(bytes, as: CourierPickupBody.self)
            guard (1...InputDomain.pickupCodeBytesMax).contains(body.pickupCode.utf8.count) else {
                throw Problem(.badRequest, "fieldOutOfRange", "A field is outside its range", detail: "pickupCode: 1–\(InputDomain.pickupCodeBytesMax) bytes")
            }
            let claim = try PathParameters.id(context, "claim")
            return .courierPickup(claim: claim, pickupCodeDigest: loop.pickupCodeDigest(claim: claim, code: body.pickupCode))
        } answer: { Self.courierAnswer($0) }
        routes.write(.post, "/v1/couriers/legs/{claim}/delivered", .needs(.couriersWork), status: .created) { bytes, context in
            _ = try RequestBodies.decode(bytes, as: EmptyBody.self)
            return .courierDeliver(claim: try PathParameters.id(context, "claim"))
        } answer: { Self.courierAnswer($0) }
        routes.on(.get, "/v1/couriers/{courier}", .needs(.couriersRead)) { _, context in
            Response.json(.ok, try Self.courierRecord(loop, access, try context.requirePrincipal(), try PathParameters.id(context, "courier")))
        }
    }

    /// `GET /v1/couriers/{id}`'s answer (the console's courier page shows the same): a courier
    /// sees its own record; operators and auditors anyone's.
    static func courierRecord(_ loop: CommandLoop, _ access: AccessPolicy, _ principal: Principal, _ id: String) throws(Problem) -> [String: JSONValue] {
        guard principal.subject == id || principal.role != .courier || access.allows(principal.role, .participantsRegister) else {
            throw Problem(.forbidden, "notYourRecord", "A courier reads only its own record", detail: id)
        }
        guard let courier = loop.read({ $0.logistics.couriers[id] }) else {
            throw Problem(.notFound, "courierNotFound", "No such courier", detail: "no courier has the id \(id)")
        }
        return [
            "courier": .string(id), "points": .integer(courier.points), "vehicleGrams": .integer(courier.vehicleGrams), "coldChain": .bool(courier.coldChain),
            "carryingGrams": .integer(courier.carryingGrams), "legs": .array(courier.legs.sorted().map(JSONValue.string)),
        ]
    }

    /// The entries' courier facts: the offer, assignment or delivery, and any points.
    static func courierAnswer(_ entries: [SignedEntry]) -> [String: JSONValue] {
        var answer: [String: JSONValue] = [:]
        for entry in entries {
            switch entry.body.kind {
            case EntryKind.courierOffered.rawValue: answer["offeredTo"] = entry.body.payload["courier"]; answer["offeredGrams"] = entry.body.payload["grams"]
            case EntryKind.courierAssigned.rawValue: answer["assignedTo"] = entry.body.payload["courier"]; answer["assignedGrams"] = entry.body.payload["grams"]
            case EntryKind.courierPickup.rawValue: answer["pickedUpGrams"] = entry.body.payload["grams"]
            case EntryKind.courierDelivered.rawValue: answer["distanceMetres"] = entry.body.payload["distanceMetres"]
            case EntryKind.pointsAwarded.rawValue: answer["points"] = entry.body.payload["points"]
            default: break
            }
        }
        answer["entries"] = .array(entries.map { .object(["seq": .integer(Int64($0.seq)), "kind": .string($0.body.kind)]) })
        return answer
    }
}

struct CourierPickupBody: StrictBody {
    static let fields: Set<String> = ["pickupCode"]
    var pickupCode: String
}
