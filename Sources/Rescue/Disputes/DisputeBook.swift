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
        /// Till when an operator may decide; nil once resolved.
        public var decideBy: Int64?
        public var heldRupiah: Int64
        public var resolution: Resolution?
        public init(
            id: String, claim: String, claimant: String, reason: Reason, evidence: [String], openedAt: Int64, decideBy: Int64?, heldRupiah: Int64, resolution: Resolution?
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

    public private(set) var disputes: [String: Dispute] = [:]
    /// At most one dispute per claim.
    public private(set) var disputedClaims: Set<String> = []

    public init() {}

    public func decide(_ command: DisputeCommand, policy: DisputePolicy) -> Result<[DisputeEvent], DisputeRejection> {
        switch command {
        case .open(let id, let facts, let actor, let reason, let evidence, let now):
            guard disputes[id] == nil else { return .failure(.disputeAlreadyExists) }
            guard !disputedClaims.contains(facts.claim) else { return .failure(.claimIsAlreadyDisputed) }
            guard actor == facts.claimant || reason == .claimantNoShow && actor == facts.provider else {
                return .failure(.actorMayNotDisputeThisClaim)
            }
            guard now <= facts.windowStart + policy.windowMicroseconds else { return .failure(.disputeWindowHasClosed) }
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
            guard now <= dispute.decideBy! else { return .failure(.decisionDeadlineHasPassed) }
            if case .partialRefund(let rupiah) = outcome, rupiah <= 0 || rupiah > dispute.heldRupiah {
                return .failure(.refundExceedsHeld)
            }
            return .success([.resolved(dispute: id, Resolution(outcome: outcome, refundRupiah: refund(outcome, held: dispute.heldRupiah), rule: "operator.decision"))])
        case .expire(let id, let now):
            guard let dispute = disputes[id] else { return .failure(.disputeNotFound) }
            guard dispute.resolution == nil else { return .failure(.disputeAlreadyResolved) }
            guard now > dispute.decideBy! else { return .failure(.decisionDeadlineHasNotPassed) }
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
            disputedClaims.insert(dispute.claim)
        case .resolved(let id, let resolution):
            disputes[id]!.resolution = resolution
            disputes[id]!.decideBy = nil
        }
    }
}

/// What a dispute is about, from the claim's history.
public struct ClaimFacts: Hashable, Sendable {
    public var claim: String
    public var claimant: String
    public var provider: String
    /// Rupiah held in escrow for the claim (0 for a donation).
    public var heldRupiah: Int64
    /// When the dispute window opened: delivery, or the offer's expiry for a no-show.
    public var windowStart: Int64
    public var pickupAfterExpiry: Bool
    /// The device-attested freshness score at pickup (0–100), when there was one.
    public var freshnessScore: Int64?

    public init(
        claim: String, claimant: String, provider: String, heldRupiah: Int64, windowStart: Int64, pickupAfterExpiry: Bool,
        freshnessScore: Int64?
    ) {
        self.claim = claim
        self.claimant = claimant
        self.provider = provider
        self.heldRupiah = heldRupiah
        self.windowStart = windowStart
        self.pickupAfterExpiry = pickupAfterExpiry
        self.freshnessScore = freshnessScore
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

    public init(
        windowMicroseconds: Int64 = 24 * 3_600_000_000, decisionDeadlineMicroseconds: Int64 = 72 * 3_600_000_000,
        freshnessThreshold: Int64 = 60,
        automaticByReason: [DisputeBook.Reason: DisputeBook.Outcome] = [.providerNoShow: .fullRefund, .claimantNoShow: .noRefundRelist],
        outcomeWhenUndecided: DisputeBook.Outcome = .fullRefund
    ) {
        self.windowMicroseconds = windowMicroseconds
        self.decisionDeadlineMicroseconds = decisionDeadlineMicroseconds
        self.freshnessThreshold = freshnessThreshold
        self.automaticByReason = automaticByReason
        self.outcomeWhenUndecided = outcomeWhenUndecided
    }

    /// The automatic outcome and the name of the rule that gives it, if any rule applies.
    /// Facts are checked before reasons: a late pickup or a failed freshness check decides
    /// whatever reason the claimant gave.
    func automaticOutcome(reason: DisputeBook.Reason, facts: ClaimFacts) -> (DisputeBook.Outcome, String)? {
        if facts.pickupAfterExpiry, reason != .claimantNoShow { return (.fullRefund, "auto.pickupAfterExpiry") }
        if let score = facts.freshnessScore, score < freshnessThreshold, reason != .claimantNoShow {
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

    /// The ledger entry kind.
    public var kind: String {
        switch self {
        case .opened: "dispute.opened"
        case .resolved: "dispute.resolved"
        }
    }
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
}
