import Foundation
import Hummingbird
import Ledger
import NIOCore
import Rescue

/// Signing in to the console (audit/CONSOLE.md, "Signing in"): a bearer token from the identity
/// provider, or, on this machine only and while no identity provider is trusted, a development
/// sign-in like `pahlawan token`. The token is kept in an HttpOnly, SameSite=Strict cookie and
/// verified on every request like the API's bearer token.
extension Service {
    /// A sign-in or sign-out form body is a few fields; anything larger is refused unread.
    static let consoleFormBytesMax = 16 * 1024

    func addConsoleSignInPages(_ pages: ConsoleBuilder) {
        let service = self
        pages.on(.get, "/console/sign-in", .public) { call in
            let query = try call.query(known: ["next"])
            return .page("sign-in", Self.signInValues(call, service, next: Self.safeNext(query["next"])))
        }
        pages.on(.post, "/console/sign-in", .public) { call in
            let form = try await Self.form(call)
            let next = Self.safeNext(form["next"])
            let token: String
            if let given = form["token"], !given.isEmpty {
                token = given.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                guard Self.developmentSignInAllowed(call, service) else {
                    throw Problem(.forbidden, "developmentSignInRefused", call.text("signIn.devRefused"), detail: call.text("signIn.devRefusedDetail"))
                }
                guard let role = form["role"].flatMap(Role.init(rawValue:)) else {
                    throw Problem(.badRequest, "malformedRequest", call.text("signIn.roleMissing"), detail: Role.allCases.map(\.rawValue).joined(separator: ", "))
                }
                let subject = form["subject"] ?? ""
                guard InputDomain.isID(subject) else {
                    throw Problem(.badRequest, "malformedRequest", call.text("signIn.subjectInvalid"), detail: call.text("signIn.subjectInvalidDetail"))
                }
                token = try await service.authority.mint(subject: subject, role: role)
            }
            do throws(AuthError) {
                _ = try await service.authority.principal(fromBearer: token)
            } catch {
                throw Problem(.unauthorized, "invalidToken", call.text("signIn.tokenInvalid"), detail: error.reason)
            }
            var response = Response(status: .seeOther, headers: [.location: next])
            response.setCookie(
                Cookie(
                    name: ConsoleGate.sessionCookie, value: token, maxAge: Int(TokenAuthority.lifetimeMaxSeconds), path: "/console",
                    secure: ConsoleGate.secureCookies(call.request, call.context), httpOnly: true, sameSite: .strict))
            return .response(response)
        }
        pages.on(.post, "/console/sign-out", .public) { call in
            _ = try await Self.form(call)
            var response = Response(status: .seeOther, headers: [.location: "/console"])
            response.setCookie(ConsoleGate.expired(ConsoleGate.sessionCookie, call.request, call.context))
            return .response(response)
        }
    }

    static func developmentSignInAllowed(_ call: ConsoleCall, _ service: Service) -> Bool {
        !service.authority.trustsIdentityProvider && ConsoleGate.isDirectLocalRequest(call.request, call.context)
    }

    static func signInValues(_ call: ConsoleCall, _ service: Service, next: String) -> [String: Any] {
        [
            "title": call.text("signIn.title"), "next": next, "development": developmentSignInAllowed(call, service),
            "roles": Role.allCases.map { ["role": $0.rawValue, "name": call.text("role.\($0.rawValue)")] },
        ]
    }

    /// Only a console path may follow sign-in: `/console`, `/console/…` or `/console?…`, with no
    /// dot segments or encoded slashes and dots that a browser would resolve elsewhere.
    static func safeNext(_ next: String?) -> String {
        guard let next, next == "/console" || next.hasPrefix("/console/") || next.hasPrefix("/console?"),
            !next.contains("//"), !next.contains("\\"), !next.contains("/."), !next.lowercased().contains("%2"), !next.lowercased().contains("%5c"),
            next.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F })
        else { return "/console" }
        return next
    }

    /// The urlencoded form of a POST, after its CSRF token was checked against the cookie
    /// (double submit; the cookie is SameSite=Strict and HttpOnly, so another site can neither
    /// send it along nor read it).
    static func form(_ call: ConsoleCall) async throws -> [String: String] {
        guard call.request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            throw Problem(.unsupportedMediaType, "unsupportedMediaType", call.text("error.formType"), detail: "application/x-www-form-urlencoded")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await call.request.body.collect(upTo: consoleFormBytesMax)
        } catch is NIOTooManyBytesError {
            throw Problem.bodyTooLarge(consoleFormBytesMax)
        } catch {
            throw Problem.badRequest("the form could not be read")
        }
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String? { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decoded(parts[0]), let value = parts.count == 2 ? decoded(parts[1]) : "" else {
                throw Problem.badRequest("the form is not application/x-www-form-urlencoded")
            }
            guard fields[name] == nil else { throw Problem.badRequest("the form names \(name.prefix(40)) twice") }
            fields[name] = value
        }
        guard !call.csrfIsNew, let sent = fields["csrf"], Sodium.constantTimeEqual(Array(sent.utf8), Array(call.csrf.utf8)) else {
            throw Problem(.forbidden, "csrfTokenMismatch", call.text("error.csrf"), detail: call.text("error.csrfDetail"))
        }
        return fields
    }
}
