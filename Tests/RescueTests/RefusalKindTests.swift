import Rescue
import Testing

/// Every refusal says its kind, and the kinds follow the rules the names state: the HTTP
/// status of a refusal is its kind, so a misfiled rejection is a wrong status.
@Suite struct RefusalKindTests {
    /// Every rejection the world can return (the engines' through their wrappers).
    static let all: [RescueRejection] =
        ParticipantRejection.allCases.map(RescueRejection.participant) + OfferRejection.allCases.map(RescueRejection.offer)
        + MatchRejection.allCases.map(RescueRejection.match) + EscrowRejection.allCases.map(RescueRejection.escrow)
        + DisputeRejection.allCases.map(RescueRejection.dispute) + CarbonRejection.allCases.map(RescueRejection.carbon)
        + [
            .actorIsNotRegistered, .actorMayNotPostOffers, .actorMayNotClaim, .offerIsReservedForAnotherRecipient, .freshnessScoreIsOutOfRange,
            .recipientIsNotRegistered, .recipientMayNotHoldCarbon, .disputeClaimNotFound, .timeMustNotGoBackwards, .acceptWindowHasClosed,
            .claimIsDisputed,
        ]

    @Test func aNameThatSaysNotFoundIsNotFoundAndNothingElseIs() {
        for rejection in Self.all {
            #expect((rejection.kind == .notFound) == rejection.name.hasSuffix("NotFound"), "\(rejection.name) is \(rejection.kind)")
        }
    }

    /// "Already" is a state the target reached; the one exception is a new offer whose own
    /// expiry is already past, which is the body's fault.
    @Test func whatWasAlreadyDoneIsAConflict() {
        for rejection in Self.all where rejection.name.contains("Already") && rejection != .offer(.offerAlreadyExpired) {
            #expect(rejection.kind == .conflict, "\(rejection.name)")
        }
        #expect(RescueRejection.offer(.offerAlreadyExpired).kind == .invalid)
    }

    /// Cancelling twice was 422 while cancelling after pickup was 409; both are the claim's state.
    @Test func aClaimsStageAndAClosedWindowAreConflicts() {
        for rejection: RescueRejection in [
            .offer(.claimAlreadyCancelled), .offer(.claimIsAlreadyPickedUp), .offer(.claimWasCancelled), .offer(.pickupNotConfirmed),
            .offer(.offerHasExpired), .acceptWindowHasClosed, .dispute(.disputeWindowHasClosed), .dispute(.decisionDeadlineHasPassed),
            .dispute(.decisionDeadlineHasNotPassed), .match(.matchingAlreadyStarted), .escrow(.escrowAlreadyExists),
        ] {
            #expect(rejection.kind == .conflict, "\(rejection.name)")
        }
    }

    /// Acting on what is someone else's (an offer reserved for another recipient, a claim,
    /// a range, an own offer or escrow) is forbidden, whichever engine refuses it.
    @Test func whatIsNotTheActorsIsForbidden() {
        for rejection: RescueRejection in [
            .offerIsReservedForAnotherRecipient, .match(.recipientWasNotOffered), .offer(.claimBelongsToAnotherClaimant), .offer(.actorIsNotTheProvider),
            .offer(.providerCannotClaimOwnOffer), .escrow(.buyerIsTheProvider), .carbon(.rangeNotHeldByActor), .dispute(.actorMayNotDisputeThisClaim),
        ] {
            #expect(rejection.kind == .forbidden, "\(rejection.name)")
        }
        for rejection in Self.all where rejection.name.hasPrefix("actorMay") || rejection.name.hasPrefix("actorIsNot") {
            #expect(rejection.kind == .forbidden, "\(rejection.name)")
        }
    }
}
