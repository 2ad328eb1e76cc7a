import Compliance

/// A permission, as `policies/access.yaml` names it. Every route needs one of these or is
/// public; the file may grant only these (checked when it is loaded), so a misspelt grant fails
/// at start instead of silently denying.
public enum Permission: String, CaseIterable, Sendable {
    case participantsRegister = "participants.register"
    case surplusPost = "surplus.post"
    case matchesRespond = "matches.respond"
    case claimsPlace = "claims.place"
    /// Starts and cancels Flash Ludes auctions of the caller's own offers.
    case auctionsRun = "auctions.run"
    case auctionsBid = "auctions.bid"
    case auctionsRead = "auctions.read"
    /// Forms RT/RW groups, claims for them and records members' no-shows (a community coordinator).
    case groupsCoordinate = "groups.coordinate"
    case groupsJoin = "groups.join"
    case groupsRead = "groups.read"
    case claimsCancel = "claims.cancel"
    case claimsPickup = "claims.pickup"
    case claimsDeliver = "claims.deliver"
    case disputesOpen = "disputes.open"
    case disputesDecide = "disputes.decide"
    case carbonTransfer = "carbon.transfer"
    case carbonRetire = "carbon.retire"
    case carbonCancel = "carbon.cancel"
    case carbonRead = "carbon.read"
    case entriesRead = "entries.read"
    case companiesRead = "companies.read"
    case reportsRead = "reports.read"
    /// Stores subjects; on the `subjects.self` routes it also reaches other subjects' data.
    case subjectsManage = "subjects.manage"
    case subjectsRead = "subjects.read"
    case subjectsSelf = "subjects.self"
    /// Registers the caller's own devices (or its sites') and revokes them.
    case devicesManage = "devices.manage"
    /// With `devices.manage`: revokes any device (an operator acting on a report of theft).
    case devicesRevoke = "devices.revoke"
    case devicesRead = "devices.read"
    /// Submits device-signed freshness scans.
    case scansSubmit = "scans.submit"
    /// Connects a site's till (POS sync) and reads its connection.
    case posManage = "pos.manage"
    /// Asks for a courier for the caller's claim.
    case couriersRequest = "couriers.request"
    /// Answers courier offers and confirms the caller's own legs (a courier).
    case couriersWork = "couriers.work"
    /// Reads a courier's legs and points (a courier only its own).
    case couriersRead = "couriers.read"
    /// No route's own: reads personal data unmasked on `subjects.read`, with a recorded reason.
    case piiUnmasked = "pii.unmasked"
}

extension AccessPolicy {
    /// Whether `role` has `permission`. Compliance keeps the file's strings (it knows no
    /// routes); the service asks only in its own vocabulary.
    public func allows(_ role: Role, _ permission: Permission) -> Bool { allows(role: role.rawValue, permission.rawValue) }
}
