import Core
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Rescue
import Server
import Synchronization

/// Sends the city simulator's commands to a running service over real HTTP, each as its
/// participant would: with a token for its own id and role, an Idempotency-Key, and the write
/// route of the command. Only the passing of time (`tick`) is not an API call: the service's
/// own clock does it, here stepped through the simulated day.
final class HTTPSimulation: Sendable {
    /// What the simulated participants did over HTTP.
    struct Report {
        var requests = 0
        var kinds: [String: Int] = [:]
        var refusals: [String: Int] = [:]
    }

    private let base: String
    private let authority: TokenAuthority
    private let loop: CommandLoop
    private let session = URLSession(configuration: .ephemeral)
    private let tokens = Mutex<[String: (token: String, minted: Date)]>([:])
    private let codes = CodeBook()

    init(base: String, authority: TokenAuthority, loop: CommandLoop) {
        self.base = base
        self.authority = authority
        self.loop = loop
    }

    /// The digest function to give the simulator: it also remembers which code each digest
    /// stands for, so a pickup can send the code itself, as a courier would.
    var digest: @Sendable (String, String) -> String {
        { [loop, codes] claim, code in
            let digest = loop.pickupCodeDigest(claim: claim, code: code)
            codes.note(digest: digest, code: code)
            return digest
        }
    }

    func run(_ simulator: inout CitySimulator, clock: SimulatedClock, progress: (Int) -> Void) async throws -> Report {
        var report = Report()
        while let step = simulator.next(world: loop.read { $0 }) {
            clock.set(step.now)
            if case .tick = step.command {
                do throws(CommandError) {
                    for entry in try await loop.execute(.tick, actor: CommandLoop.systemActor) { report.kinds[entry.body.kind, default: 0] += 1 }
                } catch {
                    throw ValidationFailure("a tick failed: \(error)")
                }
                continue
            }
            guard let request = request(for: step) else { continue }
            report.requests += 1
            if report.requests % 500 == 0 { progress(report.requests) }
            let (status, answer) = try await send(request, actor: step.actor, role: role(of: step))
            if (200..<300).contains(status) {
                for entry in answer["entries"]?.arrayValue ?? [] {
                    if let kind = entry.objectValue?["kind"]?.stringValue { report.kinds[kind, default: 0] += 1 }
                }
                if let code = answer["pickupCode"]?.stringValue {
                    switch step.command {
                    case .claim(let id, _, _, _, let digest), .bid(_, let id, _, _, let digest), .claimGroup(_, let id, _, let digest):
                        codes.claimed(id, digest: digest, serverCode: code)
                    default: break
                    }
                }
            } else if (400..<500).contains(status) {
                let type = answer["type"]?.stringValue ?? "status \(status)"
                report.refusals[String(type.dropFirst(type.hasPrefix(Problem.typeBase) ? Problem.typeBase.count : 0)), default: 0] += 1
            } else {
                throw ValidationFailure("\(request.method) \(request.path) answered \(status): \(answer)")
            }
        }
        return report
    }

    // MARK: Commands to requests

    struct Request {
        let method: String
        let path: String
        let body: [String: JSONValue]
        /// A till's webhook: its exact bytes and `Pahlawan-Signature` (sent without a token).
        var raw: [UInt8]? = nil
        var webhookSignature: String? = nil
    }

    /// A scan as `POST /v1/scans` (and a post's `scan` member) takes it: the document and its signature.
    static func signedScan(_ scan: DeviceBook.Scan) -> JSONValue {
        .object(["document": .object(ScanDocument.members(of: scan)), "signature": .string(scan.signature)])
    }

    private func request(for step: CitySimulator.Step) -> Request? {
        func range(_ range: SerialRange) -> JSONValue {
            ["vintage": .integer(Int64(range.vintage)), "first": .integer(range.first), "last": .integer(range.last)]
        }
        switch step.command {
        case .register(let participant):
            var body = EntryCodec.payload(of: .registered(participant))
            body["id"] = body.removeValue(forKey: "participant")
            return Request(method: "POST", path: "/v1/participants", body: body)
        case .post(let post):
            var body: [String: JSONValue] = [
                "id": .string(post.id), "category": .string(post.category), "grams": .integer(post.grams), "portions": .integer(post.portions),
                "latitude": .integer(post.latitude), "longitude": .integer(post.longitude), "temperature": .string(post.temperature.rawValue),
                "expiresAt": .integer(post.expiresAt), "priceRupiah": .integer(post.priceRupiah),
            ]
            body["costRupiah"] = post.costRupiah.map(JSONValue.integer)
            body["scan"] = post.scan.map(Self.signedScan)
            return Request(method: "POST", path: "/v1/surplus", body: body)
        case .declineMatch(let offer):
            return Request(method: "POST", path: "/v1/matches/\(offer)/decline", body: [:])
        case .requestCourier(let claim):
            return Request(method: "POST", path: "/v1/claims/\(claim)/courier", body: [:])
        case .respondToCourierOffer(let claim, let accept):
            return Request(method: "POST", path: "/v1/couriers/offers/\(claim)/\(accept ? "accept" : "decline")", body: [:])
        case .courierPickup(let claim, let digest):
            return Request(method: "POST", path: "/v1/couriers/legs/\(claim)/pickup", body: ["pickupCode": .string(codes.code(claim: claim, digest: digest))])
        case .courierDeliver(let claim):
            return Request(method: "POST", path: "/v1/couriers/legs/\(claim)/delivered", body: [:])
        case .bookProviderCourier:
            return nil  // the service books the provider itself, behind its circuit breaker
        case .connectPos(let connection):
            return Request(method: "POST", path: "/v1/pos/connections", body: [
                "id": .string(connection.id), "site": .string(connection.site), "vendor": .string(connection.vendor.rawValue), "mapping": .string(connection.mapping),
            ])
        case .syncPos(let report):
            guard let delivery = step.till else { return nil }
            let raw = TillWebhook.body(delivery)
            var seconds = step.now / 1_000_000
            var secret = loop.posSecret(connection: report.connection)
            switch delivery.tamper {
            case .badSignature?: secret[0] ^= 1
            case .expired?: seconds -= 3_600
            case nil: break
            }
            return Request(
                method: "POST", path: "/v1/pos/\(report.connection)/events", body: [:], raw: raw,
                webhookSignature: TillWebhook.signature(secret: secret, seconds: seconds, body: raw))
        case .registerDevice(let device):
            return Request(method: "POST", path: "/v1/devices", body: [
                "id": .string(device.id), "holder": .string(device.holder), "publicKey": .string(device.publicKey),
            ])
        case .revokeDevice(let device, let reason, _):
            return Request(method: "POST", path: "/v1/devices/\(device)/revoke", body: ["reason": .string(reason.rawValue)])
        case .attestScan(let scan):
            guard case .object(let body) = Self.signedScan(scan) else { return nil }
            return Request(method: "POST", path: "/v1/scans", body: body)
        case .claim(let id, let offer, let version, let portions, _):
            return Request(method: "POST", path: "/v1/claims", body: [
                "id": .string(id), "offer": .string(offer), "seenVersion": .integer(version), "portions": .integer(portions),
            ])
        case .cancelClaim(let claim):
            return Request(method: "POST", path: "/v1/claims/\(claim)/cancel", body: [:])
        case .confirmPickup(let claim, let digest, let grams, let freshness):
            var body: [String: JSONValue] = ["pickupCode": .string(codes.code(claim: claim, digest: digest)), "grams": .integer(grams)]
            body["declaredFreshnessScore"] = freshness.map(JSONValue.integer)
            return Request(method: "POST", path: "/v1/claims/\(claim)/pickup", body: body)
        case .confirmDelivery(let claim, let served):
            return Request(method: "POST", path: "/v1/claims/\(claim)/delivery", body: ["portionsServed": .integer(served)])
        case .openDispute(let id, let claim, let reason, let evidence):
            return Request(method: "POST", path: "/v1/disputes", body: [
                "id": .string(id), "claim": .string(claim), "reason": .string(reason.rawValue), "evidence": .array(evidence.map(JSONValue.string)),
            ])
        case .decideDispute(let id, let outcome):
            var body: [String: JSONValue] = ["outcome": .string(outcome.name)]
            if case .partialRefund(let rupiah) = outcome { body["refundRupiah"] = .integer(rupiah) }
            return Request(method: "POST", path: "/v1/disputes/\(id)/decision", body: body)
        case .transferCarbon(let to, let serials):
            return Request(method: "POST", path: "/v1/carbon/transfers", body: ["to": .string(to), "range": range(serials)])
        case .retireCarbon(let serials, let beneficiary, let reason):
            return Request(method: "POST", path: "/v1/carbon/retirements", body: ["range": range(serials), "beneficiary": .string(beneficiary), "reason": .string(reason)])
        case .cancelCarbon(let serials, let reason):
            return Request(method: "POST", path: "/v1/carbon/cancellations", body: ["range": range(serials), "reason": .string(reason)])
        case .startAuction(let start):
            return Request(method: "POST", path: "/v1/auctions", body: [
                "id": .string(start.id), "offer": .string(start.offer), "curve": .string(start.curve), "startRupiah": .integer(start.startRupiah),
                "floorRupiah": .integer(start.floorRupiah), "durationMinutes": .integer(start.durationMicroseconds / 60_000_000),
            ])
        case .bid(let auction, let claim, let seen, let portions, _):
            var body: [String: JSONValue] = ["id": .string(claim), "seenPriceRupiah": .integer(seen)]
            body["portions"] = portions.map(JSONValue.integer)
            return Request(method: "POST", path: "/v1/auctions/\(auction)/bids", body: body)
        case .cancelAuction(let id):
            return Request(method: "POST", path: "/v1/auctions/\(id)/cancel", body: [:])
        case .formGroup(let form):
            var body: [String: JSONValue] = ["id": .string(form.id), "area": .string(form.area), "deadline": .integer(form.deadline), "minPortions": .integer(form.minPortions)]
            body["offer"] = form.offer.map(JSONValue.string)
            body["category"] = form.category.map(JSONValue.string)
            return Request(method: "POST", path: "/v1/groups", body: body)
        case .joinGroup(let group, let portions):
            return Request(method: "POST", path: "/v1/groups/\(group)/members", body: ["portions": .integer(portions)])
        case .leaveGroup(let group):
            return Request(method: "POST", path: "/v1/groups/\(group)/leave", body: [:])
        case .claimGroup(let group, let claim, let offer, _):
            var body: [String: JSONValue] = ["id": .string(claim)]
            body["offer"] = offer.map(JSONValue.string)
            return Request(method: "POST", path: "/v1/groups/\(group)/claim", body: body)
        case .groupNoShow(let group, let member):
            return Request(method: "POST", path: "/v1/groups/\(group)/no-shows", body: ["member": .string(member)])
        case .tick:
            return nil
        }
    }

    /// The token role a simulated actor uses for a command: the operator's, a trader's for
    /// carbon (companies and buyers both trade), otherwise what it registered as.
    private func role(of step: CitySimulator.Step) -> Role {
        if step.actor == CitySimulator.operatorActor { return .operator }
        switch step.command {
        case .transferCarbon, .retireCarbon, .cancelCarbon: return .carbonTrader
        default: break
        }
        let role = loop.read({ $0.participants.participants[step.actor]?.role })
        if role == .courier { return .courier }
        return role == .site || role == .company ? .provider : .recipient
    }

    private func send(_ request: Request, actor: String, role: Role) async throws -> (Int, [String: JSONValue]) {
        var urlRequest = URLRequest(url: URL(string: base + request.path)!)
        urlRequest.httpMethod = request.method
        urlRequest.httpBody = Data(request.raw ?? CanonicalJSON.encode(.object(request.body)))
        urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let signature = request.webhookSignature {
            urlRequest.setValue(signature, forHTTPHeaderField: TillWebhook.headerName)
        } else {
            urlRequest.setValue("Bearer " + (try await token(actor, role)), forHTTPHeaderField: "Authorization")
            urlRequest.setValue(UUID().uuidString, forHTTPHeaderField: "Idempotency-Key")
        }
        let (data, response) = try await session.data(for: urlRequest)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let answer = (try? CanonicalJSON.parse(Array(data)))?.objectValue ?? [:]
        return (status, answer)
    }

    /// A token per actor, minted again well before its 15 minutes are up.
    private func token(_ actor: String, _ role: Role) async throws -> String {
        let key = "\(role.rawValue) \(actor)"
        if let cached = tokens.withLock({ $0[key] }), Date().timeIntervalSince(cached.minted) < 600 { return cached.token }
        let token = try await authority.mint(subject: actor, role: role)
        tokens.withLock { $0[key] = (token, Date()) }
        return token
    }
}

/// The pickup codes behind the simulator's digests. The service derives a claim's code from
/// its id; the simulator made up its own, so a pickup with the simulator's right code sends
/// the service's code instead, and a deliberately wrong one is sent as it is.
final class CodeBook: Sendable {
    private struct Codes {
        var codeOfDigest: [String: String] = [:]
        var claimDigest: [String: String] = [:]
        var serverCode: [String: String] = [:]
    }

    private let codes = Mutex(Codes())

    func note(digest: String, code: String) { codes.withLock { $0.codeOfDigest[digest] = code } }

    func claimed(_ claim: String, digest: String, serverCode code: String) {
        codes.withLock {
            $0.claimDigest[claim] = digest
            $0.serverCode[claim] = code
        }
    }

    func code(claim: String, digest: String) -> String {
        codes.withLock { codes in
            if codes.claimDigest[claim] == digest, let code = codes.serverCode[claim] { return code }
            return codes.codeOfDigest[digest] ?? "UNKNOWN"
        }
    }
}

/// A failure of the demo itself (not a refusal by the service).
struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
