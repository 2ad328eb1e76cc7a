/// The rules of `policies/groups.yaml`.
public struct GroupPolicy: Hashable, Sendable {
    /// The furthest ahead a deadline may be when a group is formed.
    public var deadlineMicrosecondsMax: Int64
    public var membersMax: Int64
    public var portionsPerMemberMax: Int64

    public init(deadlineMicrosecondsMax: Int64, membersMax: Int64, portionsPerMemberMax: Int64) {
        self.deadlineMicrosecondsMax = deadlineMicrosecondsMax
        self.membersMax = membersMax
        self.portionsPerMemberMax = portionsPerMemberMax
    }

    /// The numbers `policies/groups.yaml` ships with.
    public static let standard = GroupPolicy(deadlineMicrosecondsMax: 1_440 * 60_000_000, membersMax: 50, portionsPerMemberMax: 20)
}

/// RT/RW group buys (FORMAT §7.13) as a pure state machine: groups forming around an offer or a
/// category in one neighbourhood, their members' portions, and the one claim they place with
/// every member's share split by the largest-remainder rule. The world turns a claim plan into
/// `claim.placed` and one escrow per member.
public struct GroupBook: Sendable, Equatable {
    public enum Status: String, Hashable, Sendable {
        case forming, claimed, expired, closed
    }

    public enum LeaveReason: String, Hashable, Sendable, CaseIterable {
        /// Before the claim: nothing was held.
        case left
        /// After the claim, a member who did not collect at the drop point: nothing is refunded.
        case noShow
    }

    public struct Member: Hashable, Sendable {
        public var id: String
        public var portions: Int64

        public init(id: String, portions: Int64) {
            self.id = id
            self.portions = portions
        }
    }

    public struct Group: Hashable, Sendable {
        public var id: String
        public var coordinator: String
        /// `<10-digit BPS kelurahan code>.rw<NN>.rt<NN>`: a place code, never an address.
        public var area: String
        /// Exactly one of the two: the offer the group buys, or the category it will buy.
        public var offer: String?
        public var category: String?
        public var deadline: Int64
        public var minPortions: Int64
        /// In joining order (the tie-break of the share split).
        public var members: [Member] = []
        public var status: Status = .forming
        public var claim: String?
        /// Members recorded as not collecting (after the claim).
        public var noShows: Set<String> = []

        public var portions: Int64 { members.reduce(0) { $0 + $1.portions } }

        public init(id: String, coordinator: String, area: String, offer: String?, category: String?, deadline: Int64, minPortions: Int64) {
            self.id = id
            self.coordinator = coordinator
            self.area = area
            self.offer = offer
            self.category = category
            self.deadline = deadline
            self.minPortions = minPortions
        }
    }

    /// What a coordinator asks for when forming a group.
    public struct Form: Hashable, Sendable {
        public var id: String
        public var area: String
        public var offer: String?
        public var category: String?
        public var deadline: Int64
        public var minPortions: Int64

        public init(id: String, area: String, offer: String?, category: String?, deadline: Int64, minPortions: Int64) {
            self.id = id
            self.area = area
            self.offer = offer
            self.category = category
            self.deadline = deadline
            self.minPortions = minPortions
        }
    }

    /// One member's part of a group claim.
    public struct Share: Hashable, Sendable {
        public var member: String
        public var portions: Int64
        public var rupiah: Int64

        public init(member: String, portions: Int64, rupiah: Int64) {
            self.member = member
            self.portions = portions
            self.rupiah = rupiah
        }
    }

    /// The claim a group places: the members' total portions of `offer` at `priceRupiah`, split
    /// into `shares` that sum to it exactly.
    public struct ClaimPlan: Hashable, Sendable {
        public var group: String
        public var claim: String
        public var offer: String
        public var portions: Int64
        public var priceRupiah: Int64
        public var shares: [Share]

        public init(group: String, claim: String, offer: String, portions: Int64, priceRupiah: Int64, shares: [Share]) {
            self.group = group
            self.claim = claim
            self.offer = offer
            self.portions = portions
            self.priceRupiah = priceRupiah
            self.shares = shares
        }

        /// The escrow holding `member`'s share (FORMAT §7.13).
        public static func escrowID(claim: String, member: String) -> String { claim + "/" + member }
    }

    public private(set) var groups: IDTable<Group> = [:]
    private var deadlines = DeadlineQueue<String>()

    public init() {}

    /// Whether `area` is an RT/RW code: a 10-digit BPS kelurahan code whose province part is
    /// 11–94 (so no mobile number, which starts 08, passes), `.rw` and 2–3 digits, `.rt` and 2–3
    /// digits, neither number 0.
    public static func isAreaCode(_ area: String) -> Bool {
        let parts = area.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].utf8.count == 10, parts[0].utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let province = Int(parts[0].prefix(2)), (11...94).contains(province)
        else { return false }
        for (part, prefix) in zip(parts[1...], ["rw", "rt"]) {
            let digits = part.dropFirst(2)
            guard part.hasPrefix(prefix), (2...3).contains(digits.utf8.count), digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let number = Int(digits), number > 0
            else { return false }
        }
        return true
    }

    // MARK: Deciding

    /// A new group by `coordinator` at `now`; `offer` is the offer it names, if any.
    public func decideForm(
        _ form: Form, coordinator: String, offer: OfferBook.Offer?, categories: Set<String>, now: Int64, policy: GroupPolicy = .standard
    ) -> Result<Group, GroupRejection> {
        guard groups[form.id] == nil else { return .failure(.groupAlreadyExists) }
        guard InputDomain.isID(form.id) else { return .failure(.idIsNotPseudonymous) }
        guard Self.isAreaCode(form.area) else { return .failure(.areaIsNotAnRTRWCode) }
        guard (form.offer == nil) != (form.category == nil) else { return .failure(.nameAnOfferOrACategory) }
        if form.offer != nil {
            guard let offer else { return .failure(.offerNotFound) }
            guard form.deadline < offer.expiresAt else { return .failure(.deadlineIsOutOfRange) }
            guard form.minPortions <= offer.remainingPortions else { return .failure(.minPortionsIsOutOfRange) }
        }
        if let category = form.category, !categories.contains(category) { return .failure(.categoryIsUnknown) }
        guard form.deadline > now, InputDomain.microseconds.contains(form.deadline), form.deadline - now <= policy.deadlineMicrosecondsMax else {
            return .failure(.deadlineIsOutOfRange)
        }
        guard InputDomain.portions.contains(form.minPortions) else { return .failure(.minPortionsIsOutOfRange) }
        return .success(Group(
            id: form.id, coordinator: coordinator, area: form.area, offer: form.offer, category: form.category, deadline: form.deadline,
            minPortions: form.minPortions))
    }

    /// `member` joins `group` with `portions` at `now`.
    public func decideJoin(group id: String, member: String, portions: Int64, now: Int64, policy: GroupPolicy = .standard) -> Result<Member, GroupRejection> {
        guard let group = groups[id] else { return .failure(.groupNotFound) }
        guard group.status == .forming else { return .failure(.groupIsNotForming) }
        guard now < group.deadline else { return .failure(.groupDeadlineHasPassed) }
        guard member != group.coordinator, !group.members.contains(where: { $0.id == member }) else { return .failure(.memberAlreadyJoined) }
        guard portions > 0 else { return .failure(.quantityMustBePositive) }
        guard portions <= policy.portionsPerMemberMax else { return .failure(.portionsPerMemberAboveThePolicy) }
        guard group.members.count < policy.membersMax else { return .failure(.groupIsFull) }
        guard let total = group.portions.adding(portions), InputDomain.portions.contains(total) else { return .failure(.quantityIsTooLarge) }
        return .success(Member(id: member, portions: portions))
    }

    /// `member` leaves `group` before its claim.
    public func decideLeave(group id: String, member: String) -> Result<Member, GroupRejection> {
        guard let group = groups[id] else { return .failure(.groupNotFound) }
        guard let joined = group.members.first(where: { $0.id == member }) else { return .failure(.memberNotInGroup) }
        guard group.status == .forming else { return .failure(.groupIsNotForming) }
        return .success(joined)
    }

    /// The claim `actor` (the coordinator) places for `group` on `offer` at `now`, with every
    /// member's share of its price.
    public func decideClaim(group id: String, claim: String, offer: OfferBook.Offer, actor: String, now: Int64) -> Result<ClaimPlan, GroupRejection> {
        guard let group = groups[id] else { return .failure(.groupNotFound) }
        guard group.coordinator == actor else { return .failure(.actorIsNotTheCoordinator) }
        guard group.status == .forming else { return .failure(.groupIsNotForming) }
        guard now < group.deadline else { return .failure(.groupDeadlineHasPassed) }
        guard group.offer == nil || group.offer == offer.id else { return .failure(.offerIsNotTheGroups) }
        guard group.category == nil || group.category == offer.category else { return .failure(.offerIsNotTheGroups) }
        let portions = group.portions
        guard portions >= group.minPortions, !group.members.isEmpty else { return .failure(.minimumNotReached) }
        guard portions <= offer.remainingPortions else { return .failure(.groupExceedsWhatRemains) }
        // A group may take part of a paid offer: its price is the share for its portions, rounded
        // down, so that groups sharing one offer never pay its provider more than its price.
        guard let price = offer.priceRupiah.multiplied(by: portions, dividedBy: offer.portions),
            let split = LargestRemainder.split(price, by: group.members.map(\.portions))
        else { return .failure(.quantityIsTooLarge) }
        let shares = zip(group.members, split).map { Share(member: $0.id, portions: $0.portions, rupiah: $1) }
        return .success(ClaimPlan(group: id, claim: claim, offer: offer.id, portions: portions, priceRupiah: price, shares: shares))
    }

    /// The coordinator records that `member` of claimed group `id` did not collect.
    public func decideNoShow(group id: String, member: String, actor: String) -> Result<Member, GroupRejection> {
        guard let group = groups[id] else { return .failure(.groupNotFound) }
        guard group.coordinator == actor else { return .failure(.actorIsNotTheCoordinator) }
        guard let joined = group.members.first(where: { $0.id == member }) else { return .failure(.memberNotInGroup) }
        guard group.status == .claimed || group.status == .closed else { return .failure(.groupHasNotClaimed) }
        guard !group.noShows.contains(member) else { return .failure(.noShowAlreadyRecorded) }
        return .success(joined)
    }

    /// The forming groups whose deadline has come by `now`, in deadline order.
    public func due(by now: Int64) -> [Group] {
        deadlines.due(by: now).compactMap { groups[$0.key] }.filter { $0.status == .forming }
    }

    // MARK: Applying

    public mutating func apply(_ event: GroupEvent) {
        switch event {
        case .formed(let group):
            groups[group.id] = group
            deadlines.insert(group.id, deadline: group.deadline)
        case .joined(let id, let member):
            groups[id]!.members.append(member)
        case .left(let id, let member, let reason):
            switch reason {
            case .left: groups[id]!.members.removeAll { $0.id == member }
            case .noShow: groups[id]!.noShows.insert(member)
            }
        case .claimed(let plan):
            groups[plan.group]!.status = .claimed
            groups[plan.group]!.claim = plan.claim
            deadlines.dropFront { groups[$0.key]?.status != .forming }
        case .expired(let id):
            groups[id]!.status = .expired
            deadlines.dropFront { groups[$0.key]?.status != .forming }
        case .closed(let id):
            groups[id]!.status = .closed
        }
    }
}

public enum GroupEvent: Hashable, Sendable {
    case formed(GroupBook.Group)
    case joined(group: String, GroupBook.Member)
    case left(group: String, member: String, reason: GroupBook.LeaveReason)
    case claimed(GroupBook.ClaimPlan)
    case expired(group: String)
    case closed(group: String)
}

/// Why the group engine refused a command; names read as sentences and never change meaning.
public enum GroupRejection: String, Error, Sendable, CaseIterable {
    case groupAlreadyExists
    case groupNotFound
    case offerNotFound
    case idIsNotPseudonymous
    case areaIsNotAnRTRWCode
    case nameAnOfferOrACategory
    case categoryIsUnknown
    case deadlineIsOutOfRange
    case minPortionsIsOutOfRange
    case groupIsNotForming
    case groupDeadlineHasPassed
    case memberAlreadyJoined
    case memberNotInGroup
    case quantityMustBePositive
    case quantityIsTooLarge
    case actorIsNotTheCoordinator
    case offerIsNotTheGroups
    case minimumNotReached
    case groupExceedsWhatRemains
    case groupHasNotClaimed
    case noShowAlreadyRecorded
    case portionsPerMemberAboveThePolicy
    case groupIsFull
    case foodWasNotHandedOver

    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .groupNotFound, .offerNotFound, .memberNotInGroup: .notFound
        case .groupAlreadyExists, .groupIsNotForming, .groupDeadlineHasPassed, .memberAlreadyJoined, .minimumNotReached, .groupExceedsWhatRemains,
            .groupHasNotClaimed, .noShowAlreadyRecorded, .groupIsFull, .foodWasNotHandedOver:
            .conflict
        case .actorIsNotTheCoordinator: .forbidden
        case .idIsNotPseudonymous, .areaIsNotAnRTRWCode, .nameAnOfferOrACategory, .categoryIsUnknown, .deadlineIsOutOfRange, .minPortionsIsOutOfRange,
            .quantityMustBePositive, .quantityIsTooLarge, .offerIsNotTheGroups, .portionsPerMemberAboveThePolicy:
            .invalid
        }
    }
}
