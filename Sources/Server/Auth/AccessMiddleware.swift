import Compliance
import Hummingbird

/// Who may call a route. Registering a route takes one, so a route cannot forget its check.
enum RouteAccess: Sendable {
    /// Anyone, without a token (rate-limited per TCP peer address).
    case `public`
    /// A caller whose token's role has the permission in `access.yaml`.
    case needs(Permission)

    var permission: Permission? {
        switch self {
        case .public: nil
        case .needs(let permission): permission
        }
    }
}

/// Sets `context.principal` from the bearer token, or answers 401; then applies the caller's
/// rate limit (per token subject, so one caller cannot spend another's).
struct AuthenticationMiddleware: RouterMiddleware {
    let authority: TokenAuthority
    let limiter: RateLimiter
    let limits: LimitsPolicy

    func handle(_ request: Request, context: ServiceContext, next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { throw Problem.missingToken }
        let principal: Principal
        do throws(AuthError) {
            principal = try await authority.principal(fromBearer: String(header.dropFirst("Bearer ".count)))
        } catch {
            throw Problem(.unauthorized, "invalidToken", "The bearer token is not valid", detail: error.reason)
        }
        if let wait = limiter.take("principal \(principal.role.rawValue) \(principal.subject)", perMinute: limits.perMinute(role: principal.role.rawValue)) {
            throw Problem.tooManyRequests(wait)
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

/// Refuses a caller whose role lacks the route's permission (deny by default), after
/// `AuthenticationMiddleware`.
struct PermissionMiddleware: RouterMiddleware {
    let permission: Permission
    let access: AccessPolicy

    func handle(_ request: Request, context: ServiceContext, next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard access.allows(principal.role, permission) else {
            throw Problem(.forbidden, "roleNotPermitted", "This role may not call this route", detail: "\(principal.role.rawValue) lacks \(permission.rawValue)")
        }
        return try await next(request, context)
    }
}

/// The rate limit of public routes: per TCP peer address, never a forwarded-for header (which
/// any caller can write).
struct AddressRateLimitMiddleware: RouterMiddleware {
    let limiter: RateLimiter
    let limits: LimitsPolicy

    func handle(_ request: Request, context: ServiceContext, next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        let address = context.remoteAddress?.ipAddress ?? "local"
        if let wait = limiter.take("address " + address, perMinute: limits.perAddressPerMinute) { throw Problem.tooManyRequests(wait) }
        return try await next(request, context)
    }
}
