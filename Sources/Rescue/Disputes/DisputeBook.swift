/// Disputes as a pure state machine whose rules are data (`DisputePolicy`, loaded from
/// `policies/disputes.yaml`). Opening a dispute applies the automatic rules at once; anything
/// they do not decide waits for an operator's decision before the policy's deadline. Every
/// resolution names the rule that decided it. What the dispute is about (the claim's price,
/// pickup and delivery times, an attested freshness score) comes in as `ClaimFacts`.
public struct DisputeBook: Sendable, Equatable {
    public enum Reason: String, Hashable, Sendable, CaseIterable {
        case spoiled, notAsDescribed, providerNoShow, claimantNoShow, safety
    }

    public enum Outcome: Hashable, Sendable {
        case fullRefund
        case partialRefund(rupiah: Int64)
        case noRefund
        /// No refund, and the food goes back on offer (the claimant did not come).
        case noRefundRelist

        /// Whether a completed rescue with a dispute resolved this way still counts, in the
        /// carbon registry and in every report: the dispute was decided for the provider. The
        /// one definition of that rule.
        public var keepsRescueCounted: Bool { Self.keepsRescueCounted(named: name) }

        /// `keepsRescueCounted` for an outcome as entries name it (`dispute.resolved`'s `outcome`).
        public static func keepsRescueCounted(named name: String) -> Bool { name == "noRefund" || name == "noRefundRelist" }

        /// The name entries write (`dispute.resolved`'s `outcome`).
        public var name: String {
            switch self {
            case .fullRefund: "fullRefund"
            case .partialRefund: "partialRefund"
            case .noRefund: "noRefund"
            case .noRefundRelist: "noRefundRelist"
            }
        }
    }

    public struct Dispute: Hashable, Sendable {
        public var id: String
        public var claim: String
        public var claimant: String
        public var reason: Reason
        public var evidence: [String]
        public var openedAt: Int64
        /// Till when an operator may decide (kept after the resolution, which says it is decided).
        public var decideBy: Int64
        public var heldRupiah: Int64
        public var resolution: Resolution?
        public init(
            id: String, claim: String, claimant: String, reason: Reason, evidence: [String], openedAt: Int64, decideBy: Int64, heldRupiah: Int64, resolution: Resolution?
        ) {
            self.id = id
            self.claim = claim
            self.claimant = claimant
            self.reason = reason
            self.evidence = evidence
            self.openedAt = openedAt
            self.decideBy = decideBy
            self.heldRupiah = heldRupiah
            self.resolution = resolution
        }
    }

    public struct Resolution: Hashable, Sendable {
        public var outcome: Outcome
        public var refundRupiah: Int64
        /// The policy rule or operator decision that decided it, e.g. `auto.providerNoShow`.
        public var rule: String
        public init(
            outcome: Outcome, refundRupiah: Int64, rule: String
        ) {
            self.outcome = outcome
            self.refundRupiah = refundRupiah
            self.rule = rule
        }
    }

    public private(set) var disputes: IDTable<Dispute> = [:]
    /// The dispute of each disputed claim (at most one per claim): the one claim → dispute index.
    public private(set) var disputeOfClaim: IDTable<String> = [:]

    public init() {}

    public func decide(_ command: DisputeCommand, policy: DisputePolicy) -> Result<[DisputeEvent], DisputeRejection> {
        switch command {
        case .open(let id, let facts, let actor, let reason, let evidence, let now):
            guard disputes[id] == nil else { return .failure(.disputeAlreadyExists) }
            guard disputeOfClaim[facts.claim] == nil else { return .failure(.claimIsAlreadyDisputed) }
            guard evidence.count <= InputDomain.evidenceCountMax, evidence.allSatisfy(InputDomain.isEvidenceDigest) else {
                return .failure(.evidenceIsNotAReference)
            }
            guard InputDomain.isID(id) else { return .failure(.idIsNotPseudonymous) }
            guard actor == (reason == .claimantNoShow ? facts.provider : facts.claimant) else { return .failure(.actorMayNotDisputeThisClaim) }
            // Which claims a reason fits, and from when: a no-show is about a claim nobody picked
            // up, and the claimant's no-show only once the pickup time is over; the food's
            // quality only once it was picked up.
            let windowStart: Int64
            switch (reason, facts.status) {
            case (_, .cancelled):
                return .failure(.claimIsCancelled)
            case (.claimantNoShow, .placed):
                guard now >= facts.offerExpiresAt else { return .failure(.claimantNoShowBeforeExpiry) }
                // The provider sets the expiry: a claim placed too close to it was never a fair
                // chance to collect, and its buyer is refunded by the time-out instead.
                guard let latest = facts.claimedAt.adding(policy.claimantNoShowNoticeMicroseconds), latest <= facts.offerExpiresAt else {
                    return .failure(.claimWasNotGivenTimeToCollect)
                }
                windowStart = facts.offerExpiresAt
            case (.providerNoShow, .placed):
                windowStart = facts.offerExpiresAt
            case (.claimantNoShow, _), (.providerNoShow, _):
                return .failure(.noShowAfterPickup)
            case (_, .placed):
                return .failure(.disputeNeedsAPickup)
            case (_, .pickedUp), (_, .delivered):
                windowStart = facts.deliveredAt ?? facts.pickedUpAt ?? facts.offerExpiresAt
            }
            guard policy.isWithinWindow(openedAt: windowStart, now: now) else { return .failure(.disputeWindowHasClosed) }
            let dispute = Dispute(
                id: id, claim: facts.claim, claimant: facts.claimant, reason: reason, evidence: evidence, openedAt: now,
                decideBy: now + policy.decisionDeadlineMicroseconds, heldRupiah: facts.heldRupiah, resolution: nil)
            var events = [DisputeEvent.opened(dispute)]
            if let (outcome, rule) = policy.automaticOutcome(reason: reason, facts: facts) {
                events.append(.resolved(dispute: id, Resolution(outcome: outcome, refundRupiah: refund(outcome, held: facts.heldRupiah), rule: rule)))
            }
            return .success(events)
        case .decide(let id, let outcome, let now):
            guard let dispute = disputes[id] else { return .failure(.disputeNotFound) }
            guard dispute.resolution == nil else { return .failure(.disputeAlreadyResolved) }
            guard now < dispute.decideBy else { return .failure(.decisionDeadlineHasPassed) }
            if case .partialRefund(let rupiah) = outcome, rupiah <= 0 || rupiah > dispute.heldRupiah {
                return .failure(.refundExceedsHeld)
            }
            return .success([.resolved(dispute: id, Resolution(outcome: outcome, refundRupiah: refund(outcome, held: dispute.heldRupiah), rule: "operator.decision"))])
        case .expire(let id, let now):
            guard let dispute = disputes[id] else { return .failure(.disputeNotFound) }
            guard dispute.resolution == nil else { return .failure(.disputeAlreadyResolved) }
            guard now >= dispute.decideBy else { return .failure(.decisionDeadlineHasNotPassed) }
            let outcome = policy.outcomeWhenUndecided
            return .success([.resolved(dispute: id, Resolution(outcome: outcome, refundRupiah: refund(outcome, held: dispute.heldRupiah), rule: "policy.undecidedByDeadline"))])
        }
    }

    private func refund(_ outcome: Outcome, held: Int64) -> Int64 {
        switch outcome {
        case .fullRefund: held
        case .partialRefund(let rupiah): rupiah
        case .noRefund, .noRefundRelist: 0
        }
    }

    public mutating func apply(_ event: DisputeEvent) {
        switch event {
        case .opened(let dispute):
            disputes[dispute.id] = dispute
            disputeOfClaim[dispute.claim] = dispute.id
        case .resolved(let id, let resolution):
            disputes[id]!.resolution = resolution
        }
    }
}

/// What a dispute is about, from the claim's history.
public struct ClaimFacts: Hashable, Sendable {
    public var claim: String
    public var claimant: String
    public var provider: String
    /// Rupiah still held in escrow for the claim (0 for a donation, or once settled): a
    /// resolution can never refund more than this.
    public var heldRupiah: Int64
    public var status: OfferBook.ClaimStatus
    public var offerExpiresAt: Int64
    /// When the claim was placed.
    public var claimedAt: Int64
    public var pickedUpAt: Int64?
    public var deliveredAt: Int64?
    public var pickupAfterExpiry: Bool
    /// A device-attested freshness score at pickup (0–100). A score the provider merely
    /// declared is never here: it decides nothing.
    public var attestedFreshnessScore: Int64?

    public init(
        claim: String, claimant: String, provider: String, heldRupiah: Int64, status: OfferBook.ClaimStatus, offerExpiresAt: Int64,
        claimedAt: Int64 = .min, pickedUpAt: Int64? = nil, deliveredAt: Int64? = nil, pickupAfterExpiry: Bool = false, attestedFreshnessScore: Int64? = nil
    ) {
        self.claim = claim
        self.claimant = claimant
        self.provider = provider
        self.heldRupiah = heldRupiah
        self.status = status
        self.offerExpiresAt = offerExpiresAt
        self.claimedAt = claimedAt
        self.pickedUpAt = pickedUpAt
        self.deliveredAt = deliveredAt
        self.pickupAfterExpiry = pickupAfterExpiry
        self.attestedFreshnessScore = attestedFreshnessScore
    }
}

/// The dispute rules, as data.
public struct DisputePolicy: Hashable, Sendable {
    public var windowMicroseconds: Int64
    public var decisionDeadlineMicroseconds: Int64
    /// A freshness score below this at pickup means a full refund.
    public var freshnessThreshold: Int64
    /// Outcomes decided by the reason alone.
    public var automaticByReason: [DisputeBook.Reason: DisputeBook.Outcome]
    /// What happens when no operator decides in time.
    public var outcomeWhenUndecided: DisputeBook.Outcome
    /// A claimant no-show needs the claim placed at least this long before the offer's expiry.
    public var claimantNoShowNoticeMicroseconds: Int64

    public init(
        windowMicroseconds: Int64 = 24 * 3_600_000_000, decisionDeadlineMicroseconds: Int64 = 72 * 3_600_000_000,
        freshnessThreshold: Int64 = 60,
        automaticByReason: [DisputeBook.Reason: DisputeBook.Outcome] = [.providerNoShow: .fullRefund, .claimantNoShow: .noRefundRelist],
        outcomeWhenUndecided: DisputeBook.Outcome = .fullRefund, claimantNoShowNoticeMicroseconds: Int64 = 30 * 60_000_000
    ) {
        self.claimantNoShowNoticeMicroseconds = claimantNoShowNoticeMicroseconds
        self.windowMicroseconds = windowMicroseconds
        self.decisionDeadlineMicroseconds = decisionDeadlineMicroseconds
        self.freshnessThreshold = freshnessThreshold
        self.automaticByReason = automaticByReason
        self.outcomeWhenUndecided = outcomeWhenUndecided
    }

    /// Whether a dispute window that opened at `openedAt` is still open at `now`: windows are
    /// half-open, `[openedAt, openedAt + window)`. Disputes are accepted inside; settlements
    /// and carbon counts that wait for the window happen from its end on, so no instant allows
    /// both.
    public func isWithinWindow(openedAt: Int64, now: Int64) -> Bool {
        now < windowEnd(openedAt: openedAt)
    }

    /// When a window that opened at `openedAt` closes (saturating, so no time can trap).
    public func windowEnd(openedAt: Int64) -> Int64 {
        openedAt.adding(windowMicroseconds) ?? .max
    }

    /// The automatic outcome and the name of the rule that gives it, if any rule applies.
    /// Facts are checked before reasons: a late pickup or a failed freshness check decides
    /// whatever reason the claimant gave.
    func automaticOutcome(reason: DisputeBook.Reason, facts: ClaimFacts) -> (DisputeBook.Outcome, String)? {
        if facts.pickupAfterExpiry, reason != .claimantNoShow { return (.fullRefund, "auto.pickupAfterExpiry") }
        if let score = facts.attestedFreshnessScore, score < freshnessThreshold, reason != .claimantNoShow {
            return (.fullRefund, "auto.freshnessBelowThreshold")
        }
        if let outcome = automaticByReason[reason] { return (outcome, "auto.\(reason.rawValue)") }
        return nil
    }
}

public enum DisputeCommand: Hashable, Sendable {
    case open(id: String, facts: ClaimFacts, actor: String, reason: DisputeBook.Reason, evidence: [String], now: Int64)
    /// An operator's decision.
    case decide(id: String, outcome: DisputeBook.Outcome, now: Int64)
    /// No decision by the deadline: the policy's default applies.
    case expire(id: String, now: Int64)
}

public enum DisputeEvent: Hashable, Sendable {
    case opened(DisputeBook.Dispute)
    case resolved(dispute: String, DisputeBook.Resolution)

}

/// Why the dispute book refused a command; names read as sentences and never change meaning.
public enum DisputeRejection: String, Error, Sendable {
    case disputeAlreadyExists
    case claimIsAlreadyDisputed
    case actorMayNotDisputeThisClaim
    case disputeWindowHasClosed
    case disputeNotFound
    case disputeAlreadyResolved
    case decisionDeadlineHasPassed
    case decisionDeadlineHasNotPassed
    case refundExceedsHeld
    case idIsNotPseudonymous
    case evidenceIsNotAReference
    case claimIsCancelled
    case claimantNoShowBeforeExpiry
    case noShowAfterPickup
    case disputeNeedsAPickup
    case relistNeedsAClaimNotPickedUp
    case claimWasNotGivenTimeToCollect
}

extension DisputeRejection: CaseIterable {
    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .disputeNotFound: .notFound
        case .disputeAlreadyExists, .claimIsAlreadyDisputed, .disputeWindowHasClosed, .disputeAlreadyResolved, .decisionDeadlineHasPassed,
            .decisionDeadlineHasNotPassed, .claimIsCancelled, .claimantNoShowBeforeExpiry, .noShowAfterPickup, .disputeNeedsAPickup,
            .relistNeedsAClaimNotPickedUp, .claimWasNotGivenTimeToCollect:
            .conflict
        case .actorMayNotDisputeThisClaim: .forbidden
        case .refundExceedsHeld, .idIsNotPseudonymous, .evidenceIsNotAReference: .invalid
        }
    }
}
