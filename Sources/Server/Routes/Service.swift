import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import Logging
import Rescue

/// The HTTP service over the command loop. Every route names the permission it needs
/// (`policies/access.yaml` grants permissions to roles) or is explicitly public. Requests without
/// a valid token for a protected route get 401; a role without the permission gets 403 (deny by
/// default). The acting identity is the token's subject, never the body.
public struct Service: Sendable {
    /// Every permission a route needs; `access.yaml` may grant only these.
    public static let permissions: Set<String> = Set(routes.compactMap(\.permission)).union(["subjects.manage", "pii.unmasked"])

    public let loop: CommandLoop
    public let authority: TokenAuthority
    public let settings: ServiceSettings
    public let vault: PIIVault
    public let masker: Masker
    public let metrics: ServiceMetrics
    /// The Postgres mirror the service keeps, for reports computed by SQL (`?source=mirror`).
    public let mirrorURL: String?
    /// The facts the reports read, folded from the ledger (see `warmReports`).
    public let reportBook = ReportBook()
    let limiter: RateLimiter
    let inFlight = AdmissionMiddleware.InFlight()
    let logger: Logger

    /// `maskingSecret` derives the per-role pseudonym keys; like the vault's master key it is
    /// kept outside the ledger directory.
    public init(
        loop: CommandLoop, authority: TokenAuthority, settings: ServiceSettings, vault: PIIVault, maskingSecret: [UInt8],
        metrics: ServiceMetrics = ServiceMetrics(), limiter: RateLimiter = RateLimiter(), logger: Logger = Logger(label: "pahlawan.http"),
        mirrorURL: String? = nil
    ) {
        self.mirrorURL = mirrorURL
        self.loop = loop
        self.authority = authority
        self.settings = settings
        self.vault = vault
        masker = Masker(policy: settings.masking, secret: maskingSecret)
        self.metrics = metrics
        self.limiter = limiter
        self.logger = logger
    }

    /// Every route: method, path and the permission it needs (nil: public).
    public static let routes: [(method: HTTPRequest.Method, path: String, permission: String?)] = [
        (.get, "/health/live", nil), (.get, "/health/ready", nil), (.get, "/metrics", nil), (.get, "/checkpoint", nil), (.get, "/tile/**", nil),
        (.get, "/v1/proofs/consistency", "entries.read"), (.get, "/v1/entries", "entries.read"), (.get, "/v1/entries/{seq}", "entries.read"),
        (.get, "/v1/carbon/serials/{vintage}/{serial}", "carbon.read"), (.get, "/v1/companies/{company}/summary", "companies.read"),
        (.post, "/v1/participants", "participants.register"),
        (.post, "/v1/surplus", "surplus.post"),
        (.post, "/v1/matches/{offer}/accept", "matches.respond"), (.post, "/v1/matches/{offer}/decline", "matches.respond"),
        (.post, "/v1/claims", "claims.place"), (.post, "/v1/claims/{claim}/cancel", "claims.cancel"),
        (.post, "/v1/claims/{claim}/pickup", "claims.pickup"), (.post, "/v1/claims/{claim}/delivery", "claims.deliver"),
        (.post, "/v1/disputes", "disputes.open"), (.post, "/v1/disputes/{dispute}/decision", "disputes.decide"),
        (.post, "/v1/carbon/transfers", "carbon.transfer"), (.post, "/v1/carbon/retirements", "carbon.retire"),
        (.post, "/v1/carbon/cancellations", "carbon.cancel"),
        (.post, "/v1/subjects", "subjects.manage"), (.get, "/v1/subjects/{subject}", "subjects.read"),
        (.get, "/v1/subjects/{subject}/export", "subjects.self"), (.delete, "/v1/subjects/{subject}", "subjects.self"),
        (.get, "/v1/reports/csr/{company}", "reports.read"), (.get, "/v1/reports/tax/{company}", "reports.read"),
        (.get, "/v1/reports/carbon/{company}", "reports.read"), (.get, "/v1/reports/certificate/{company}", "reports.read"),
        (.get, "/v1/reports/retirements", nil),
    ]

    /// The router with every route and the operations middleware (trace ids, metrics, limits).
    public func router() -> Router<ServiceContext> {
        let router = Router(context: ServiceContext.self)
        let limits = settings.limits
        router.add(middleware: TraceMiddleware(logger: logger))
        router.add(middleware: UnroutedMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(
            middleware: AdmissionMiddleware(
                concurrentMax: Int(limits.concurrentRequestsMax), timeoutSeconds: Int(limits.requestTimeoutSeconds), bodyBytesMax: Int(limits.bodyBytesMax),
                inFlight: inFlight, saturation: metrics.saturation))
        let routes = RouteBuilder(router: router, service: self)
        addOperationsRoutes(routes)
        addAuditRoutes(routes)
        addWriteRoutes(routes)
        addSubjectRoutes(routes)
        addReportRoutes(routes)
        return router
    }
}

/// Registers handlers under the permission `Service.routes` gives their method and path, so a
/// route cannot forget its check.
struct RouteBuilder {
    let router: Router<ServiceContext>
    let service: Service

    typealias Handler = @Sendable (Request, ServiceContext, Principal?) async throws -> Response

    func on(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        guard let entry = Service.routes.first(where: { $0.method == method && $0.path == path }) else {
            preconditionFailure("\(method) \(path) is not in Service.routes")
        }
        let permission = entry.permission
        let authority = service.authority
        let access = service.settings.access
        let limits = service.settings.limits
        let limiter = service.limiter
        router.on(RouterPath(path), method: method) { (request: Request, context: ServiceContext) async throws -> Response in
            guard let permission else {
                // Public routes: limited per TCP peer address (never a forwarded-for header).
                let address = context.remoteAddress?.ipAddress ?? "local"
                if let wait = limiter.take("address " + address, perMinute: limits.perAddressPerMinute) { throw Problem.tooManyRequests(wait) }
                return try await handler(request, context, nil)
            }
            let principal = try await Self.principal(request, authority)
            if let wait = limiter.take("principal \(principal.role.rawValue) \(principal.subject)", perMinute: limits.perMinute(role: principal.role.rawValue)) {
                throw Problem.tooManyRequests(wait)
            }
            guard access.allows(role: principal.role.rawValue, permission) else {
                throw Problem(.forbidden, "roleNotPermitted", "This role may not call this route", detail: "\(principal.role.rawValue) lacks \(permission)")
            }
            return try await handler(request, context, principal)
        }
    }

    /// `application/json` with at most the parameter `charset=utf-8` (RFC 8259 §11: JSON is UTF-8).
    static func isJSON(_ contentType: String) -> Bool {
        let parts = contentType.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.first == "application/json" else { return false }
        return parts.dropFirst().allSatisfy { $0 == "charset=utf-8" || $0 == "charset=\"utf-8\"" }
    }

    /// The verified caller of a protected route, or 401.
    static func principal(_ request: Request, _ authority: TokenAuthority) async throws -> Principal {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw Problem(.unauthorized, "missingToken", "A bearer token is required", detail: "send Authorization: Bearer <token>")
        }
        do throws(AuthError) {
            return try await authority.principal(fromBearer: String(header.dropFirst("Bearer ".count)))
        } catch {
            throw Problem(.unauthorized, "invalidToken", "The bearer token is not valid", detail: error.reason)
        }
    }
}

extension Service {
    /// Folds the report facts up to the latest checkpoint in the background, so the first
    /// report request does not pay for reading the whole ledger (which could outlast the
    /// request timeout on a large ledger).
    public func warmReports() {
        let book = reportBook
        let ledger = loop.ledger
        let logger = logger
        DispatchQueue.global().async {
            do {
                _ = try book.reports(ledger)
            } catch {
                logger.warning("warming the report facts failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Lets time pass once a second (match time-outs, dispute deadlines, escrow releases, carbon
    /// counts); cancel the task to stop.
    public func startTicker() -> Task<Void, Never> {
        let loop = loop
        let logger = logger
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                do throws(CommandError) {
                    try await loop.execute(.tick, actor: CommandLoop.systemActor)
                } catch {
                    logger.error("tick failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

extension Service {
    /// The methods `Service.routes` takes at `path` (a request path), for 405's `Allow`.
    static func methods(at path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        var methods: [HTTPRequest.Method] = []
        for route in routes where matches(route.path.split(separator: "/"), segments) && !methods.contains(route.method) {
            methods.append(route.method)
        }
        return methods
    }

    /// `{name}` matches one segment, a final `**` one or more.
    private static func matches(_ pattern: [Substring], _ segments: [Substring]) -> Bool {
        if pattern.last == "**" { return segments.count >= pattern.count && zip(pattern.dropLast(), segments).allSatisfy(segmentMatches) }
        return pattern.count == segments.count && zip(pattern, segments).allSatisfy(segmentMatches)
    }

    private static func segmentMatches(_ pattern: Substring, _ segment: Substring) -> Bool {
        (pattern.hasPrefix("{") && pattern.hasSuffix("}")) || pattern == segment
    }
}

/// Requests the router did not match get a problem like every other error: 405
/// `methodNotAllowed` with `Allow` when the path takes other methods, else 404 `routeNotFound`.
/// Middleware runs after routing, so an unmatched request is one with no endpoint path.
struct UnroutedMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: ServiceContext, next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        guard context.endpointPath == nil else { return try await next(request, context) }
        let path = request.uri.path
        let allowed = Service.methods(at: path)
        guard allowed.isEmpty else {
            var problem = Problem(
                .methodNotAllowed, "methodNotAllowed", "This route does not take this method",
                detail: "\(request.method.rawValue) \(path.prefix(200)); allowed: \(allowed.map(\.rawValue).joined(separator: ", "))")
            problem.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            throw problem
        }
        throw Problem(.notFound, "routeNotFound", "No such route", detail: "\(request.method.rawValue) \(path.prefix(200)); the API is audit/openapi.yaml")
    }
}
