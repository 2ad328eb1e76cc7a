import Compliance
import Core
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import NIOCore

/// Who may open a console page: as for the API, a page names the permission its API route needs
/// (`policies/access.yaml`), or is public.
enum ConsoleAccess: Sendable {
    case `public`
    case needs(Permission)
}

/// One console request as a page handler sees it: the caller (from the session cookie), the
/// language, the form token, and the service.
struct ConsoleCall: Sendable {
    let request: Request
    let context: ServiceContext
    let service: Service
    let principal: Principal?
    let language: ConsoleLanguage
    /// The double-submit form token (`pt_csrf` cookie), new when the browser had none.
    let csrf: String
    let csrfIsNew: Bool

    var strings: [String: String] { ConsolePages.shared.strings[language]! }

    func text(_ key: String) -> String { strings[key] ?? key }

    /// The text with its `%@` filled in.
    func text(_ key: String, _ argument: String) -> String { text(key).replacingOccurrences(of: "%@", with: argument) }

    /// The query without `lang` (which every page takes), refusing names the page does not take.
    func query(known: Set<String>) throws -> [String: String] {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where key != "lang" {
            guard known.contains(String(key)) else {
                throw Problem(
                    .badRequest, "unknownParameter", "The query has a parameter this page does not take",
                    detail: "\(key.prefix(100)); known: \(known.isEmpty ? "none" : known.sorted().joined(separator: ", "))")
            }
            let text = String(value)
            if !text.isEmpty { query[String(key)] = text }
        }
        return query
    }

    func allows(_ permission: Permission) -> Bool {
        principal.map { service.settings.access.allows($0.role, permission) } ?? false
    }
}

/// What a page handler answers: a page to render, or a response it built (a download, a redirect).
enum ConsoleAnswer {
    case page(String, [String: Any], status: HTTPResponse.Status = .ok)
    case response(Response)
}

/// Registers console pages beside the API on the same router, each behind the console's own
/// wrapper (`ConsoleGate`): session, language, permission, security headers, and errors as pages.
/// Console routes are recorded apart from the API's (`Service.consoleRoutes`): they are HTML,
/// not part of audit/openapi.yaml.
struct ConsoleBuilder {
    let router: Router<ServiceContext>
    let service: Service
    let table: RouteTable

    typealias Handler = @Sendable (ConsoleCall) async throws -> ConsoleAnswer

    func on(_ method: HTTPRequest.Method, _ path: String, _ access: ConsoleAccess, _ handler: @escaping Handler) {
        let permission: Permission? = if case .needs(let needed) = access { needed } else { nil }
        table.record(Route(method: method, path: path, permission: permission))
        let service = service
        router.on(RouterPath(path), method: method) { request, context in
            await ConsoleGate.handle(request, context, service: service, permission: permission, handler)
        }
        if method == .get {
            // HEAD: the same answer and headers without the body (link checkers, curl -I).
            router.on(RouterPath(path), method: .head) { request, context in
                var response = await ConsoleGate.handle(request, context, service: service, permission: permission, handler)
                response.body = .init()
                return response
            }
        }
    }
}

/// The console's per-request rules, in one place so no page can skip one.
enum ConsoleGate {
    static let sessionCookie = "pt_session"
    static let languageCookie = "pt_lang"
    static let csrfCookie = "pt_csrf"
    /// What every console response may load and do: only our own scripts, styles and images; no
    /// framing; forms post only to us.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    static func handle(
        _ request: Request, _ context: ServiceContext, service: Service, permission: Permission?, _ handler: ConsoleBuilder.Handler
    ) async -> Response {
        let cookies = request.cookies
        let chosen = request.uri.queryParameters.get("lang")
        let language = ConsoleLanguage(choice: chosen ?? cookies[languageCookie]?.value)
        let existingCSRF = cookies[csrfCookie]?.value.filter { $0.isHexDigit }
        let csrf = existingCSRF.flatMap { $0.count == 32 ? $0 : nil } ?? Hex.encode(Sodium.randomBytes(16))
        var principal: Principal?
        var clearSession = false
        if let token = cookies[sessionCookie]?.value, !token.isEmpty {
            do throws(AuthError) {
                principal = try await service.authority.principal(fromBearer: token)
            } catch {
                clearSession = true
            }
        }
        let call = ConsoleCall(
            request: request, context: context, service: service, principal: principal, language: language, csrf: csrf, csrfIsNew: existingCSRF != csrf)
        var response: Response
        do {
            let limits = service.settings.limits
            let address = context.remoteAddress?.ipAddress ?? "local"
            let wait: Int? =
                if let principal {
                    service.limiter.take("principal \(principal.role.rawValue) \(principal.subject)", perMinute: limits.perMinute(role: principal.role.rawValue))
                } else {
                    service.limiter.take("address " + address, perMinute: limits.perAddressPerMinute)
                }
            if let wait { throw Problem.tooManyRequests(wait) }
            if let permission {
                guard let principal else {
                    throw Problem(.unauthorized, "signInRequired", call.text("error.signInRequired"), detail: call.text("error.signInRequiredDetail"))
                }
                guard service.settings.access.allows(principal.role, permission) else {
                    throw Problem(.forbidden, "roleNotPermitted", call.text("error.roleNotPermitted"), detail: "\(principal.role.rawValue) lacks \(permission.rawValue)")
                }
            }
            switch try await handler(call) {
            case .page(let template, let values, let status):
                response = page(call, template, values, status: status)
            case .response(let built):
                response = built
            }
        } catch let problem as Problem {
            response = errorPage(call, problem)
        } catch {
            response = errorPage(call, Problem(.internalServerError, "internalError", call.text("error.internal"), detail: ""))
        }
        response.headers[.contentSecurityPolicy] = contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.consoleReferrerPolicy] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if chosen != nil, ConsoleLanguage(rawValue: chosen ?? "") != nil {
            response.setCookie(Cookie(name: languageCookie, value: language.rawValue, maxAge: 365 * 86_400, path: "/console", httpOnly: true, sameSite: .lax))
        }
        // Only pages carry a form; an asset (cacheable) must not hand one token to everyone.
        if call.csrfIsNew, response.headers[.contentType]?.hasPrefix("text/html") == true {
            response.setCookie(Cookie(name: csrfCookie, value: csrf, path: "/console", secure: secureCookies(request, context), httpOnly: true, sameSite: .strict))
        }
        if clearSession { response.setCookie(expired(sessionCookie, request, context)) }
        return response
    }

    /// `Secure` everywhere but on plain HTTP to this machine's loopback (development): a browser
    /// drops a Secure cookie set over http://127.0.0.1 on some versions.
    static func secureCookies(_ request: Request, _ context: ServiceContext) -> Bool {
        !(isLoopback(context) && request.uri.scheme?.rawValue != "https")
    }

    static func isLoopback(_ context: ServiceContext) -> Bool {
        guard let address = context.remoteAddress?.ipAddress else { return false }
        return address == "::1" || address.hasPrefix("127.") || address == "::ffff:127.0.0.1"
    }

    /// A request a person on this machine made directly: from loopback, to a loopback host name
    /// (not a rebound DNS name), and not relayed by a proxy (which would make every visitor
    /// look local).
    static func isDirectLocalRequest(_ request: Request, _ context: ServiceContext) -> Bool {
        guard isLoopback(context) else { return false }
        for header in ["Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via"] where request.headers[HTTPField.Name(header)!] != nil {
            return false
        }
        // HTTP/1's Host header arrives as the request's authority.
        guard let host = request.head.authority else { return false }
        let name: Substring
        if host.hasPrefix("[") {
            name = host.prefix { $0 != "]" }.dropFirst()
        } else {
            name = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        return name == "localhost" || name == "::1" || (name.hasPrefix("127.") && name.allSatisfy { $0.isNumber || $0 == "." })
    }

    static func expired(_ name: String, _ request: Request, _ context: ServiceContext) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/console", secure: secureCookies(request, context), httpOnly: true, sameSite: .strict)
    }

    /// The page with the layout's common values: strings, language switch, the caller, navigation
    /// by permission, and the latest checkpoint for the footer.
    static func page(_ call: ConsoleCall, _ template: String, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var all = values
        all["t"] = ConsolePages.shared.trees[call.language]!
        all["lang"] = call.language.rawValue
        all["langOther"] = call.language.other.rawValue
        all["langOtherName"] = call.text("lang.\(call.language.other.rawValue)")
        all["langSwitch"] = switchURL(call.request, to: call.language.other)
        all["csrf"] = call.csrf
        all["path"] = call.request.uri.path
        if let principal = call.principal {
            all["user"] = ["role": principal.role.rawValue, "subject": principal.subject]
        }
        all["nav"] = [
            "entries": call.allows(.entriesRead), "reports": call.allows(.reportsRead),
        ]
        if let checkpoint = call.service.loop.ledger.latestCheckpoint?.checkpoint {
            all["footer"] = ["size": ConsoleFormat.integer(Int64(clamping: checkpoint.size), call.language), "sizeExact": String(checkpoint.size), "root": checkpoint.root.hex]
        }
        let html = ConsolePages.shared.render(template, all)
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The same page in the other language: the path and query with `lang` replaced.
    static func switchURL(_ request: Request, to language: ConsoleLanguage) -> String {
        var items = request.uri.queryParameters.filter { $0.key != "lang" }.map { (String($0.key), String($0.value)) }
        items.append(("lang", language.rawValue))
        return request.uri.path + "?" + items.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    /// A problem as a page, with the same status and `type` the API would give; a client that
    /// asks for JSON gets the problem+json itself.
    static func errorPage(_ call: ConsoleCall, _ problem: Problem) -> Response {
        if let accept = call.request.headers[.accept], accept.contains("json"), !accept.contains("text/html"),
            let response = try? problem.response(from: call.request, context: call.context)
        {
            return response
        }
        var response = page(
            call, "error",
            [
                "status": Int(problem.status.code), "type": Problem.typeBase + problem.name, "name": problem.name,
                // The API's titles are English; the console's tables name the common ones in both
                // languages (the detail stays as the API gives it: exact values, for support).
                "title": call.strings["problem.\(problem.name)"] ?? problem.title,
                "detail": problem.detail, "signIn": problem.status == .unauthorized,
                "next": call.request.uri.path,
            ], status: problem.status)
        if let retry = problem.retryAfterSeconds { response.headers[.retryAfter] = String(retry) }
        return response
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let consoleReferrerPolicy = Self("Referrer-Policy")!
}
