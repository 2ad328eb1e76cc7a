/// Every kind of ledger entry the service writes (FORMAT §7): the one place each kind's name is
/// spelled. Everything that dispatches on a kind switches over this enum, so a new kind is a
/// compile error wherever something must change. The raw value is the entry's `kind`.
public enum EntryKind: String, CaseIterable, Hashable, Sendable {
    case participantRegistered = "participant.registered"
    case surplusPosted = "surplus.posted"
    case matchOffered = "match.offered"
    case matchDeclined = "match.declined"
    case matchExpired = "match.expired"
    case claimPlaced = "claim.placed"
    case claimCancelled = "claim.cancelled"
    case escrowHeld = "escrow.held"
    case escrowReleased = "escrow.released"
    case escrowRefunded = "escrow.refunded"
    case pickupConfirmed = "pickup.confirmed"
    case deliveryConfirmed = "delivery.confirmed"
    case rescueCompleted = "rescue.completed"
    case disputeOpened = "dispute.opened"
    case disputeResolved = "dispute.resolved"
    case carbonMinted = "carbon.minted"
    case carbonTransferred = "carbon.transferred"
    case carbonRetired = "carbon.retired"
    case carbonCancelled = "carbon.cancelled"
    case policyActivated = "policy.activated"
    case auctionStarted = "auction.started"
    case auctionSold = "auction.sold"
    case auctionConverted = "auction.converted"
    case auctionCancelled = "auction.cancelled"
    case groupFormed = "group.formed"
    case groupJoined = "group.joined"
    case groupLeft = "group.left"
    case groupClaimed = "group.claimed"
    case groupExpired = "group.expired"
    case groupClosed = "group.closed"
    case deviceRegistered = "device.registered"
    case deviceRevoked = "device.revoked"
    case scanAttested = "scan.attested"
    case posConnected = "pos.connected"
    case posSynced = "pos.synced"
    case courierOffered = "courier.offered"
    case courierDeclined = "courier.declined"
    case courierAssigned = "courier.assigned"
    case courierPickup = "courier.pickup"
    case courierDelivered = "courier.delivered"
    case pointsAwarded = "points.awarded"
    /// Written by the service beside the engines (FORMAT §7.10): not domain events.
    case piiAccessed = "pii.accessed"
    case subjectErased = "subject.erased"
    /// Written by the ledger itself when its signing key changes (FORMAT §10.7, `KeyRotation.kind`).
    case keyRotated = "key.rotated"

    /// Whether entries of this kind are `RescueEvent`s, folded by replay (the others are skipped).
    public var isDomainEvent: Bool {
        switch self {
        case .participantRegistered, .surplusPosted, .matchOffered, .matchDeclined, .matchExpired, .claimPlaced, .claimCancelled, .escrowHeld,
            .escrowReleased, .escrowRefunded, .pickupConfirmed, .deliveryConfirmed, .rescueCompleted, .disputeOpened, .disputeResolved, .carbonMinted,
            .carbonTransferred, .carbonRetired, .carbonCancelled, .policyActivated, .auctionStarted, .auctionSold, .auctionConverted, .auctionCancelled, .groupFormed, .groupJoined, .groupLeft, .groupClaimed,
            .groupExpired, .groupClosed, .deviceRegistered, .deviceRevoked, .scanAttested, .posConnected, .posSynced, .courierOffered, .courierDeclined, .courierAssigned, .courierPickup, .courierDelivered,
            .pointsAwarded:
            true
        case .piiAccessed, .subjectErased, .keyRotated:
            false
        }
    }

    /// The domain kinds, in the order of the life of a rescue (the ledger contract).
    public static let domainEvents = allCases.filter(\.isDomainEvent)
}
