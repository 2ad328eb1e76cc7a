import Ledger
import Rescue

/// A logistics provider's API (GoSend/GrabExpress style): the one external boundary of
/// dispatch. `book` returns the provider's booking reference or throws.
public protocol LogisticsProvider: Sendable {
    func book(claim: String, pickup: (latitude: Int64, longitude: Int64), drop: (latitude: Int64, longitude: Int64), grams: Int64, coldChain: Bool)
        async throws -> String
}

/// Asks for a courier for a claim (FORMAT §7.16): a long delivery goes to the logistics
/// provider first, through its circuit breaker; when the breaker is open or the call fails,
/// our own couriers are offered it instead.
public struct CourierDispatcher: Sendable {
    public let loop: CommandLoop
    public let provider: (any LogisticsProvider)?
    public let breaker: CircuitBreaker

    public init(loop: CommandLoop, provider: (any LogisticsProvider)?) {
        self.loop = loop
        self.provider = provider
        let policy = loop.policies.logistics
        breaker = CircuitBreaker(failuresToOpen: policy.providerFailuresToOpen, openMicroseconds: policy.providerOpenMicroseconds)
    }

    /// The claimant's request: the provider's booking, or our first courier offer.
    public func request(claim: String, actor: String) async throws(CommandError) -> [SignedEntry] {
        let policy = loop.policies.logistics
        let (facts, now) = loop.readNow { world, now in (Self.route(world, claim: claim), now) }
        if let provider, let facts, facts.distance > policy.providerBeyondMetres, facts.claimant == actor, breaker.allows(now: now) {
            do {
                let reference = try await provider.book(claim: claim, pickup: facts.pickup, drop: facts.drop, grams: facts.grams, coldChain: facts.cold)
                breaker.succeeded()
                return try await loop.execute(.bookProviderCourier(claim: claim, bookingSha256: SHA256.hash(Array(reference.utf8)).hex), actor: actor)
            } catch let refused as CommandError {
                throw refused
            } catch {
                breaker.failed(now: loop.readNow { _, now in now })
            }
        }
        return try await loop.execute(.requestCourier(claim: claim), actor: actor)
    }

    /// Where a claim's food is and goes, for the provider's call.
    static func route(_ world: RescueWorld, claim id: String) -> (
        claimant: String, pickup: (latitude: Int64, longitude: Int64), drop: (latitude: Int64, longitude: Int64), grams: Int64, cold: Bool, distance: Int64
    )? {
        guard let claim = world.offers.claims[id], let offer = world.offers.offers[claim.offer], let claimant = world.participants.participants[claim.claimant],
            let latitude = claimant.latitude, let longitude = claimant.longitude
        else { return nil }
        return (
            claim.claimant, (offer.latitude, offer.longitude), (latitude, longitude), claim.grams, offer.temperature == .chilled || offer.temperature == .frozen,
            CandidateSearch.distanceMetres(offer.latitude, offer.longitude, latitude, longitude)
        )
    }
}
