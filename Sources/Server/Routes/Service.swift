import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import Rescue

/// The HTTP service over the command loop. Every route names the permission it needs
/// (`policies/access.yaml` grants permissions to roles) or is explicitly public. Requests without
/// a valid token for a protected route get 401; a role without the permission gets 403 (deny by
/// default). The acting identity is the token's subject, never the body.
public struct Service: Sendable {
    /// Every permission a route needs; `access.yaml` may grant only these.
    public static let permissions: Set<String> = [
        "participants.register", "surplus.post", "claims.place", "claims.pickup", "claims.deliver", "entries.read",
    ]

    public let loop: CommandLoop
    public let authority: TokenAuthority
    public let access: AccessPolicy

    public init(loop: CommandLoop, authority: TokenAuthority, access: AccessPolicy) {
        self.loop = loop
        self.authority = authority
        self.access = access
    }

    /// Loads `access.yaml` from the policy directory, checked against this service's permissions.
    public static func loadAccess(policies directory: String) throws -> AccessPolicy {
        try AccessPolicy.load(path: directory + "/access.yaml", roles: Role.allCases.map(\.rawValue), known: permissions)
    }

    /// Every route: method, path and the permission it needs (nil: public).
    public static let routes: [(method: HTTPRequest.Method, path: String, permission: String?)] = [
        (.get, "/health/live", nil), (.get, "/health/ready", nil), (.get, "/checkpoint", nil), (.get, "/tile/**", nil),
        (.get, "/v1/proofs/consistency", "entries.read"),
        (.get, "/v1/entries/{seq}", "entries.read"), (.post, "/v1/participants", "participants.register"),
        (.post, "/v1/surplus", "surplus.post"), (.post, "/v1/claims", "claims.place"),
        (.post, "/v1/claims/{claim}/pickup", "claims.pickup"), (.post, "/v1/claims/{claim}/delivery", "claims.deliver"),
    ]

    /// The routes; `routes` lists them (method, path) for the OpenAPI comparison.
    public func router() -> Router<ServiceContext> {
        let router = Router(context: ServiceContext.self)
        let loop = loop
        let authority = authority
        let access = access
        func route(
            _ method: HTTPRequest.Method, _ path: String,
            _ handler: @escaping @Sendable (Request, ServiceContext, Principal?) async throws -> Response
        ) {
            // The permission comes from the one table of routes, so a route cannot forget it.
            guard let entry = Self.routes.first(where: { $0.method == method && $0.path == path }) else {
                preconditionFailure("\(method) \(path) is not in Service.routes")
            }
            let permission = entry.permission
            router.on(RouterPath(path), method: method) { (request: Request, context: ServiceContext) async throws -> Response in
                var principal: Principal?
                if let permission {
                    guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
                        throw Problem(.unauthorized, "missingToken", "A bearer token is required", detail: "send Authorization: Bearer <token>")
                    }
                    do throws(AuthError) {
                        principal = try await authority.principal(fromBearer: String(header.dropFirst("Bearer ".count)))
                    } catch {
                        throw Problem(.unauthorized, "invalidToken", "The bearer token is not valid", detail: error.reason)
                    }
                    guard access.allows(role: principal!.role.rawValue, permission) else {
                        throw Problem(.forbidden, "roleNotPermitted", "This role may not call this route", detail: "\(principal!.role.rawValue) lacks \(permission)")
                    }
                }
                return try await handler(request, context, principal)
            }
        }

        route(.get, "/health/live") { _, _, _ in Self.json(.ok, ["status": "live"]) }
        route(.get, "/health/ready") { _, _, _ in Self.json(.ok, ["status": "ready", "entries": .integer(Int64(loop.ledger.size))]) }
        route(.get, "/checkpoint") { _, _, _ in
            guard let checkpoint = loop.ledger.latestCheckpoint else { throw Problem(.notFound, "noCheckpoint", "No checkpoint yet", detail: "") }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: checkpoint.note)))
        }
        // C2SP tlog-tiles static reads, public like the checkpoint: hash tiles and entry bundles
        // (each entry: its length as a big-endian uint16, then its exact body).
        route(.get, "/tile/**") { request, _, _ in
            let rest = String(request.uri.path.dropFirst("/tile/".count))
            guard let tile = TilePath.parse(rest) else { throw Problem.badRequest("not a C2SP tile path: \(rest)") }
            do {
                if let level = tile.level {
                    guard let hashes = try loop.ledger.tile(level: level, index: tile.index, width: tile.width) else {
                        throw Problem(.notFound, "tileNotFound", "No such tile", detail: rest)
                    }
                    var bytes = [UInt8]()
                    for hash in hashes { hash.withUnsafeBytes { bytes += $0 } }
                    return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
                }
                let first = tile.index * UInt64(TilePath.width)
                let end = first + UInt64(tile.width)
                guard end <= loop.ledger.size else {
                    throw Problem(.notFound, "tileNotFound", "No such entry bundle", detail: rest)
                }
                var bytes = [UInt8]()
                try loop.ledger.forEachBodySlice(from: first, to: end) { slice in
                    for (_, body) in slice {
                        bytes.append(UInt8(body.count >> 8))
                        bytes.append(UInt8(body.count & 0xFF))
                        bytes += body
                    }
                }
                return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            } catch let error as LedgerError {
                throw Problem.ledger(error)
            }
        }
        route(.get, "/v1/proofs/consistency") { request, _, _ in
            guard let from = request.uri.queryParameters.get("from", as: UInt64.self), let to = request.uri.queryParameters.get("to", as: UInt64.self),
                from <= to, to <= loop.ledger.size
            else { throw Problem.badRequest("from and to must be tree sizes with from ≤ to ≤ \(loop.ledger.size)") }
            do {
                let proof = try loop.ledger.consistencyProof(from: from, to: to)
                return Self.json(.ok, [
                    "from": .integer(Int64(from)), "to": .integer(Int64(to)), "fromRoot": .string(try loop.ledger.root(size: from).hex),
                    "toRoot": .string(try loop.ledger.root(size: to).hex), "proof": .array(proof.map { .string($0.hex) }),
                ])
            } catch let error as LedgerError {
                throw Problem.ledger(error)
            }
        }
        route(.get, "/v1/entries/{seq}") { _, context, _ in
            guard let seq = context.parameters.get("seq", as: UInt64.self) else { throw Problem.badRequest("seq must be a non-negative integer") }
            guard let checkpoint = loop.ledger.latestCheckpoint?.checkpoint, seq < checkpoint.size else {
                throw Problem(.notFound, "entryNotFound", "No such entry in the latest checkpoint", detail: "seq \(seq)")
            }
            do {
                let entry = try loop.ledger.entry(seq)
                let proof = try loop.ledger.inclusionProof(seq: seq, size: checkpoint.size)
                return Self.json(.ok, [
                    "seq": .integer(Int64(seq)), "body": .string(String(decoding: entry.bodyBytes, as: UTF8.self)),
                    "leafHash": .string(entry.leafHash.hex), "signature": .string(Base64.encode(entry.signature)),
                    "checkpoint": ["size": .integer(Int64(checkpoint.size)), "root": .string(checkpoint.root.hex)],
                    "inclusionProof": .array(proof.map { .string($0.hex) }),
                ])
            } catch let error as LedgerError {
                throw Problem.ledger(error)
            }
        }
        route(.post, "/v1/participants") { request, context, principal in
            let body = try await Self.body(request, context, ParticipantBody.self)
            let participant = try body.participant()
            try await Self.run(loop, .register(participant), actor: principal!.subject)
            return Self.json(.created, ["participant": .string(participant.id)])
        }
        route(.post, "/v1/surplus") { request, context, principal in
            let body = try await Self.body(request, context, SurplusBody.self)
            let id = body.id ?? "off-" + Hex.encode(Sodium.randomBytes(8))
            let post = OfferPost(
                id: id, provider: principal!.subject, category: body.category, grams: body.grams, portions: body.portions,
                latitude: body.latitude, longitude: body.longitude, temperature: try body.temperatureValue(), expiresAt: body.expiresAt,
                priceRupiah: body.priceRupiah, now: 0)
            let entries = try await Self.run(loop, .post(post), actor: principal!.subject)
            return Self.json(.created, ["offer": .string(id), "seqs": .array(entries.map { .integer(Int64($0.seq)) })])
        }
        route(.post, "/v1/claims") { request, context, principal in
            let body = try await Self.body(request, context, ClaimBody.self)
            let id = "clm-" + Hex.encode(Sodium.randomBytes(8))
            let code = CommandLoop.newPickupCode()
            let entries = try await Self.run(
                loop, .claim(id: id, offer: body.offer, seenVersion: body.seenVersion, portions: body.portions,
                    pickupCodeDigest: loop.pickupCodeDigest(claim: id, code: code)), actor: principal!.subject)
            return Self.json(.created, ["claim": .string(id), "pickupCode": .string(code), "seqs": .array(entries.map { .integer(Int64($0.seq)) })])
        }
        route(.post, "/v1/claims/{claim}/pickup") { request, context, principal in
            let claim = try Self.claimParameter(context)
            let body = try await Self.body(request, context, PickupBody.self)
            let entries = try await Self.run(
                loop, .confirmPickup(claim: claim, pickupCodeDigest: loop.pickupCodeDigest(claim: claim, code: body.pickupCode), grams: body.grams,
                    freshnessScore: body.freshnessScore), actor: principal!.subject)
            return Self.json(.ok, ["claim": .string(claim), "seqs": .array(entries.map { .integer(Int64($0.seq)) })])
        }
        route(.post, "/v1/claims/{claim}/delivery") { request, context, principal in
            let claim = try Self.claimParameter(context)
            let body = try await Self.body(request, context, DeliveryBody.self)
            let entries = try await Self.run(loop, .confirmDelivery(claim: claim, portionsServed: body.portionsServed), actor: principal!.subject)
            return Self.json(.ok, ["claim": .string(claim), "seqs": .array(entries.map { .integer(Int64($0.seq)) })])
        }
        return router
    }

    // MARK: Helpers

    @discardableResult
    static func run(_ loop: CommandLoop, _ command: RescueCommand, actor: String) async throws -> [SignedEntry] {
        do {
            return try await loop.execute(command, actor: actor)
        } catch {
            switch error {
            case .rejected(let rejection): throw Problem.rejected(rejection)
            case .ledger(let failure), .loopStopped(let failure): throw Problem.ledger(failure)
            }
        }
    }

    static func claimParameter(_ context: ServiceContext) throws -> String {
        guard let claim = context.parameters.get("claim"), ParticipantRegistry.isPseudonymous(claim) else {
            throw Problem.badRequest("the claim id in the path is not an id")
        }
        return claim
    }

    /// Decodes a JSON body strictly: unknown fields and wrong types are refused with 400.
    static func body<Body: StrictBody>(_ request: Request, _ context: ServiceContext, _ type: Body.Type) async throws -> Body {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw Problem(.contentTooLarge, "bodyTooLarge", "The request body is too large", detail: "at most \(context.maxUploadSize) bytes")
        }
        let bytes = Array(buffer.readableBytesView)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw Problem.badRequest("the body must be a JSON object")
        }
        let unknown = Set(object.keys).subtracting(Body.fields)
        guard unknown.isEmpty else { throw Problem(.badRequest, "unknownField", "The body has fields this route does not take", detail: unknown.sorted().joined(separator: ", ")) }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            throw Problem(.badRequest, "missingField", "A required field is missing", detail: key.stringValue)
        } catch let DecodingError.typeMismatch(_, context) {
            throw Problem(.badRequest, "wrongType", "A field has the wrong type", detail: context.codingPath.map(\.stringValue).joined(separator: "."))
        } catch {
            throw Problem.badRequest("the body does not match this route")
        }
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: JSONValue]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(.object(object)))))
    }
}
