/// What kind of refusal a rejection is, so that every caller (the HTTP API's status, a client's
/// retry logic) reads one classification instead of guessing from the name. Each rejection
/// enum classifies its cases in a `switch` without `default`: a new rejection is a compile error
/// until someone decides its kind.
public enum RefusalKind: String, Hashable, Sendable, CaseIterable {
    /// The command names something that does not exist (an offer, claim, dispute, escrow, match).
    case notFound
    /// The target's current state refuses the command: it was already done, another command
    /// raced it, a window has closed or not yet opened, or it is at the wrong stage. The same
    /// command may be right against another state.
    case conflict
    /// The actor may not do this to this target: it is not theirs, or their role in it forbids it.
    case forbidden
    /// The command itself is wrong whatever the state: a value out of its domain, an amount
    /// beyond what it refers to, a missing or malformed field.
    case invalid
}

extension RescueRejection {
    /// The kind of this refusal; the engines' own rejections classify themselves.
    public var kind: RefusalKind {
        switch self {
        case .participant(let rejection): rejection.kind
        case .offer(let rejection): rejection.kind
        case .match(let rejection): rejection.kind
        case .escrow(let rejection): rejection.kind
        case .dispute(let rejection): rejection.kind
        case .carbon(let rejection): rejection.kind
        case .auction(let rejection), .auctionBid(let rejection, _): rejection.kind
        case .group(let rejection): rejection.kind
        case .device(let rejection): rejection.kind
        case .pos(let rejection): rejection.kind
        case .logistics(let rejection): rejection.kind
        case .actorMayNotCoordinateGroups, .actorMayNotJoinGroups: .forbidden
        case .disputeClaimNotFound: .notFound
        case .acceptWindowHasClosed, .claimIsDisputed: .conflict
        case .actorIsNotRegistered, .actorMayNotPostOffers, .actorMayNotClaim, .offerIsReservedForAnotherRecipient: .forbidden
        case .freshnessScoreIsOutOfRange, .recipientIsNotRegistered, .recipientMayNotHoldCarbon, .timeMustNotGoBackwards, .beneficiaryIsNotKnown: .invalid
        }
    }
}
