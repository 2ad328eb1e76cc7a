import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import Logging
import Rescue
import Witness

/// The HTTP service over the command loop. Every route names the permission it needs
/// (`policies/access.yaml` grants permissions to roles) or is explicitly public. Requests without
/// a valid token for a protected route get 401; a role without the permission gets 403 (deny by
/// default). The acting identity is the token's subject, never the body.
public struct Service: Sendable {
    public let loop: CommandLoop
    public let authority: TokenAuthority
    public let settings: ServiceSettings
    public let vault: PIIVault
    public let masker: Masker
    public let metrics: ServiceMetrics
    /// The Postgres mirror the service keeps, for reports computed by SQL (`?source=mirror`).
    public let mirrorURL: String?
    /// The witnesses the log submits its checkpoints to (nil: none configured).
    public let witnesses: WitnessClient?
    /// Dispatches claims to couriers, a long one first to the logistics provider (if any).
    public let dispatcher: CourierDispatcher
    /// The facts the reports read, folded from the ledger (see `warmReports`).
    public let reportBook = ReportBook()
    /// The carbon movements by serial range, for serial histories (API and console).
    let carbonIndex = CarbonIndex()
    /// Entries per day and kind, for the console's ledger health page.
    let activity = LedgerActivity()
    let limiter: RateLimiter
    let inFlight = AdmissionMiddleware.InFlight()
    let logger: Logger

    /// `maskingSecret` derives the per-role pseudonym keys; like the vault's master key it is
    /// kept outside the ledger directory.
    public init(
        loop: CommandLoop, authority: TokenAuthority, settings: ServiceSettings, vault: PIIVault, maskingSecret: [UInt8],
        metrics: ServiceMetrics = ServiceMetrics(), limiter: RateLimiter = RateLimiter(), logger: Logger = Logger(label: "pahlawan.http"),
        mirrorURL: String? = nil, witnesses: WitnessClient? = nil, logisticsProvider: (any LogisticsProvider)? = nil
    ) {
        dispatcher = CourierDispatcher(loop: loop, provider: logisticsProvider)
        self.mirrorURL = mirrorURL
        self.witnesses = witnesses
        self.loop = loop
        self.authority = authority
        self.settings = settings
        self.vault = vault
        masker = Masker(policy: settings.masking, secret: maskingSecret)
        self.metrics = metrics
        self.limiter = limiter
        self.logger = logger
    }

    /// The router with every route and the operations middleware (trace ids, metrics, limits).
    public func router() -> Router<ServiceContext> { routed().router }

    /// Every API route the router serves, recorded as `router()` registers them.
    public var routes: [Route] { routed().table.routes }

    /// Every console page (audit/CONSOLE.md), with the permission it needs (nil: public).
    public var consoleRoutes: [Route] {
        let table = RouteTable()
        _ = routed(consoleTable: table)
        return table.routes
    }

    private func routed(consoleTable: RouteTable = RouteTable()) -> (router: Router<ServiceContext>, table: RouteTable) {
        let router = Router(context: ServiceContext.self)
        let table = RouteTable()
        let limits = settings.limits
        router.add(middleware: TraceMiddleware(logger: logger))
        router.add(middleware: UnroutedMiddleware(table: table))
        router.add(middleware: RequestMetricsMiddleware(registry: metrics.registry))
        router.add(
            middleware: AdmissionMiddleware(
                concurrentMax: Int(limits.concurrentRequestsMax), timeoutSeconds: Int(limits.requestTimeoutSeconds), bodyBytesMax: Int(limits.bodyBytesMax),
                inFlight: inFlight, saturation: metrics.saturation))
        let routes = RouteBuilder(router: router, service: self, table: table)
        addOperationsRoutes(routes)
        addLogRoutes(routes)
        addAuditRoutes(routes)
        addWriteRoutes(routes)
        addAuctionRoutes(routes)
        addGroupRoutes(routes)
        addEvidenceRoutes(routes)
        addPosRoutes(routes)
        addCourierRoutes(routes)
        addSubjectRoutes(routes)
        addReportRoutes(routes)
        let pages = ConsoleBuilder(router: router, service: self, table: consoleTable)
        addConsoleLedgerPages(pages)
        addConsoleSignInPages(pages)
        addConsoleReportPages(pages)
        addConsoleRecordPages(pages)
        addConsoleAssets(pages)
        return (router, table)
    }
}

/// Registers each route with who may call it (`RouteAccess`), records it in the route table,
/// and puts the matching middleware in front of its handler: a route cannot forget its check,
/// and the table cannot miss a route.
struct RouteBuilder {
    let router: Router<ServiceContext>
    let service: Service
    let table: RouteTable

    typealias Handler = @Sendable (Request, ServiceContext) async throws -> Response

    func on(_ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess, _ handler: @escaping Handler) {
        table.record(Route(method: method, path: path, permission: access.permission))
        let limits = service.settings.limits
        let group = router.group()
        switch access {
        case .public:
            group.add(middleware: AddressRateLimitMiddleware(limiter: service.limiter, limits: limits))
        case .needs(let permission):
            group.add(middleware: AuthenticationMiddleware(authority: service.authority, limiter: service.limiter, limits: limits))
            group.add(middleware: PermissionMiddleware(permission: permission, access: service.settings.access))
        }
        group.on(RouterPath(path), method: method, use: handler)
    }
}

extension Service {
    /// Folds the proof caches and the report facts up to the latest checkpoint in the
    /// background, so the first entry reads and report requests do not pay for reading the
    /// whole ledger (which could outlast the request timeout on a large ledger).
    public func warmReports() {
        let book = reportBook
        let activity = activity
        let ledger = loop.ledger
        let logger = logger
        DispatchQueue.global().async {
            do {
                try ledger.warmProofs()
                _ = try book.reports(ledger)
                _ = try activity.days(ledger, upTo: ledger.latestCheckpoint?.checkpoint.size ?? 0, last: 1)
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

/// Requests the router did not match get a problem like every other error: 405
/// `methodNotAllowed` with `Allow` when the path takes other methods, else 404 `routeNotFound`.
/// Middleware runs after routing, so an unmatched request is one with no endpoint path.
struct UnroutedMiddleware: RouterMiddleware {
    let table: RouteTable

    func handle(_ request: Request, context: ServiceContext, next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        guard context.endpointPath == nil else { return try await next(request, context) }
        let path = request.uri.path
        let allowed = table.methods(at: path)
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
