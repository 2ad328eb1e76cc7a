import Core
import Hummingbird
import Ledger
import Rescue

/// RT/RW group buys over HTTP (FORMAT §7.13): a coordinator forms a group and claims for it,
/// neighbours join and leave, and anyone allowed reads the group and its shares.
extension Service {
    func addGroupRoutes(_ routes: RouteBuilder) {
        let loop = loop
        routes.write(.post, "/v1/groups", .needs(.groupsCoordinate), status: .created) { bytes, _ in
            let body = try RequestBodies.decode(bytes, as: GroupBody.self)
            try body.check()
            return .formGroup(GroupBook.Form(
                id: try Self.chosenID(body.id, "grp"), area: body.area, offer: body.offer, category: body.category, deadline: body.deadline,
                minPortions: body.minPortions))
        } answer: { entries in
            compact(["group": entries.first?.body.payload["group"], "deadline": entries.first?.body.payload["deadline"]])
        }
        routes.on(.get, "/v1/groups/{group}", .needs(.groupsRead)) { _, context in
            Response.json(.ok, try Self.groupRecord(loop, try PathParameters.id(context, "group")))
        }
        routes.write(.post, "/v1/groups/{group}/members", .needs(.groupsJoin), status: .created) { bytes, context in
            let group = try PathParameters.id(context, "group")
            let body = try RequestBodies.decode(bytes, as: GroupJoinBody.self)
            try body.check()
            return .joinGroup(group: group, portions: body.portions)
        } answer: { entries in
            compact(["group": entries.first?.body.payload["group"], "member": entries.first?.body.payload["member"], "portions": entries.first?.body.payload["portions"]])
        }
        routes.write(.post, "/v1/groups/{group}/leave", .needs(.groupsJoin), status: .ok) { bytes, context in
            _ = try RequestBodies.decode(bytes, as: EmptyBody.self)
            return .leaveGroup(group: try PathParameters.id(context, "group"))
        } answer: { entries in
            compact(["group": entries.first?.body.payload["group"], "member": entries.first?.body.payload["member"]])
        }
        routes.write(.post, "/v1/groups/{group}/claim", .needs(.groupsCoordinate), status: .created, timedAsClaim: true) { bytes, context in
            let group = try PathParameters.id(context, "group")
            let body = try RequestBodies.decode(bytes, as: GroupClaimBody.self)
            try body.check()
            let claim = try Self.chosenID(body.id, "clm")
            return .claimGroup(group: group, claim: claim, offer: body.offer, pickupCodeDigest: loop.pickupCodeDigest(claim: claim, code: loop.pickupCode(claim: claim)))
        } answer: { entries in
            var answer = Self.claimAnswer(loop, entries)
            answer["escrowRupiah"] = nil
            if let plan = entries.first?.body.payload {
                answer["group"] = plan["group"]
                answer["priceRupiah"] = plan["priceRupiah"]
                answer["shares"] = plan["shares"]
            }
            return answer
        }
        routes.write(.post, "/v1/groups/{group}/no-shows", .needs(.groupsCoordinate), status: .created) { bytes, context in
            let group = try PathParameters.id(context, "group")
            let body = try RequestBodies.decode(bytes, as: GroupNoShowBody.self)
            try body.check()
            return .groupNoShow(group: group, member: body.member)
        } answer: { entries in
            compact(["group": entries.first?.body.payload["group"], "member": entries.first?.body.payload["member"], "reason": entries.first?.body.payload["reason"]])
        }
    }

    /// `GET /v1/groups/{id}`'s answer (the console's group page shows the same).
    static func groupRecord(_ loop: CommandLoop, _ id: String) throws(Problem) -> [String: JSONValue] {
        guard let group = loop.read({ $0.groups.groups[id] }) else {
            throw Problem(.notFound, "groupNotFound", "No such group", detail: "no group has the id \(id)")
        }
        var answer = EntryCodec.payload(of: .groupFormed(group))
        answer["status"] = .string(group.status.rawValue)
        answer["portions"] = .integer(group.portions)
        answer["members"] = .array(group.members.map { .object(["member": .string($0.id), "portions": .integer($0.portions)]) })
        answer["claim"] = group.claim.map(JSONValue.string)
        answer["noShows"] = .array(group.noShows.sorted().map(JSONValue.string))
        return answer
    }
}
