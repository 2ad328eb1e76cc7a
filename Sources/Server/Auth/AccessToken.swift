import Foundation
import Synchronization
import Rescue
import JWTKit
import Ledger

/// The roles of DESIGN.md §6.
public enum Role: String, Codable, Sendable, CaseIterable {
    case `operator`, provider, recipient, courier, auditor, taxAuthority = "tax_authority", carbonTrader = "carbon_trader", admin
}

/// The claims every access token must carry (`iss`, `aud`, `exp`, `iat`, `sub`, `role`).
struct AccessClaims: JWTPayload {
    var iss: IssuerClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var sub: SubjectClaim
    var role: String
    /// Optional (RFC 7519 §4.1.5); when present it must not be in the future.
    var nbf: NotBeforeClaim?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Who is calling: from a verified token, never from a request body.
public struct Principal: Sendable, Equatable {
    public let subject: String
    public let role: Role

    public init(subject: String, role: Role) {
        self.subject = subject
        self.role = role
    }
}

/// Verifies bearer tokens (EdDSA, jwt-kit) and, with a signing key, mints development tokens.
public struct TokenAuthority: Sendable {
    public static let issuer = "pahlawan-trust"
    public static let audience = "pahlawan-trust-api"
    /// Tokens may live at most this long (`exp − iat`).
    public static let lifetimeMaxSeconds: Double = 15 * 60
    /// How far ahead of our clock an issuer's clock may run (`iat`, `nbf`). Without this bound
    /// a token "issued" years ahead would pass the lifetime check and stay valid for years.
    public static let clockSkewMaxSeconds: Double = 60

    private let keys: JWTKeyCollection
    private let verified = VerifiedTokens()
    private let identityProvider = TrustsIdentityProvider()

    /// Whether tokens of an identity provider are accepted (`trust(jwksJSON:)`); the console's
    /// development sign-in is refused then.
    public var trustsIdentityProvider: Bool { identityProvider.value.withLock { $0 } }

    /// An authority that verifies tokens signed by the Ed25519 key with this 32-byte seed (and
    /// can mint them, for `pahlawan token` and tests).
    public init(seed: [UInt8]) async throws {
        let key = try EdDSA.PrivateKey(d: Base64URL.encode(seed), curve: .ed25519)
        keys = JWTKeyCollection()
        await keys.add(eddsa: key)
    }

    /// Also accepts tokens signed by the keys of a JSON Web Key Set (an identity provider's
    /// EdDSA or RS256 keys, each with a `kid` that its tokens name), from configuration.
    public func trust(jwksJSON json: String) async throws {
        try await keys.add(jwksJSON: json)
        identityProvider.value.withLock { $0 = true }
    }

    /// A signed token for `subject` in `role`, valid for `lifetime` seconds from now.
    /// `notBefore` sets the optional `nbf` claim.
    public func mint(subject: String, role: Role, lifetime: Double = 15 * 60, now: Date = Date(), notBefore: Date? = nil) async throws -> String {
        let claims = AccessClaims(
            iss: IssuerClaim(value: Self.issuer), aud: AudienceClaim(value: [Self.audience]),
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)), iat: IssuedAtClaim(value: now), sub: SubjectClaim(value: subject),
            role: role.rawValue, nbf: notBefore.map { NotBeforeClaim(value: $0) })
        return try await keys.sign(claims)
    }

    /// The principal a bearer token names, or why it is refused. A token that verified once is
    /// remembered until it expires: the same string cannot verify differently later, and
    /// checking an Ed25519 signature and decoding the claims costs more than the rest of a read.
    public func principal(fromBearer token: String) async throws(AuthError) -> Principal {
        if let known = verified.principal(token) { return known }
        let principal = try await verify(token)
        return principal
    }

    private func verify(_ token: String) async throws(AuthError) -> Principal {
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch {
            throw AuthError(reason: "\(error)".contains("expired") ? "the token has expired" : "the token's signature or claims do not verify")
        }
        guard claims.iss.value == Self.issuer else { throw AuthError(reason: "the token was issued by \(claims.iss.value)") }
        guard claims.aud.value.contains(Self.audience) else { throw AuthError(reason: "the token is not for this service") }
        guard claims.exp.value.timeIntervalSince(claims.iat.value) <= Self.lifetimeMaxSeconds + 1 else {
            throw AuthError(reason: "the token lives longer than 15 minutes")
        }
        let now = Date()
        guard claims.iat.value.timeIntervalSince(now) <= Self.clockSkewMaxSeconds else {
            throw AuthError(reason: "the token is issued in the future (iat is more than \(Int(Self.clockSkewMaxSeconds)) s ahead)")
        }
        if let notBefore = claims.nbf?.value, notBefore.timeIntervalSince(now) > Self.clockSkewMaxSeconds {
            throw AuthError(reason: "the token is not valid yet (nbf is in the future)")
        }
        guard let role = Role(rawValue: claims.role) else { throw AuthError(reason: "unknown role \(claims.role)") }
        // The subject becomes the actor of every entry the caller writes: an identity
        // provider's e-mail address or phone number as `sub` would sign personal data into
        // the ledger. Only a pseudonymous id (FORMAT §9) may act.
        guard InputDomain.isID(claims.sub.value) else {
            throw AuthError(reason: "the token's subject is not a pseudonymous id (FORMAT §9: a lowercase letter first, a-z 0-9 . _ : -, at most 8 digits)")
        }
        let principal = Principal(subject: claims.sub.value, role: role)
        verified.remember(token, principal, until: claims.exp.value)
        return principal
    }
}

final class TrustsIdentityProvider: Sendable {
    let value = Mutex(false)
}

/// Tokens that verified, until their expiry; at most `capacity` (all are forgotten when full,
/// which costs only re-verification).
final class VerifiedTokens: Sendable {
    static let capacity = 100_000
    private let known = Mutex<[String: (principal: Principal, expires: Date)]>([:])

    func principal(_ token: String) -> Principal? {
        known.withLock { known in
            guard let entry = known[token] else { return nil }
            guard entry.expires > Date() else {
                known[token] = nil
                return nil
            }
            return entry.principal
        }
    }

    func remember(_ token: String, _ principal: Principal, until expires: Date) {
        known.withLock { known in
            if known.count >= Self.capacity { known.removeAll(keepingCapacity: true) }
            known[token] = (principal, expires)
        }
    }
}

/// Why a bearer token was refused.
public struct AuthError: Error, Equatable {
    public let reason: String
}

/// Base64url without padding (RFC 4648 §5), as JWK fields are written.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
