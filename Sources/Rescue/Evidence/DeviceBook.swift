/// Registered scanning devices and the freshness scans they signed (FORMAT §7.14). Pure: the
/// signature of a scan is checked by Core (`ScanDocument`) before the command reaches the
/// world; this book holds the rules that depend on state (who holds which device, revocation,
/// replay, age, what a device may scan) and the attested scores the other engines read.
public struct DeviceBook: Sendable, Equatable {
    public enum RevocationReason: String, Hashable, Sendable, CaseIterable { case lost, compromised, retired }

    /// When a scan was taken in the life of the food: an offer being posted, a claim before it
    /// was handed over, or after (carried).
    public enum Stage: String, Hashable, Sendable, CaseIterable { case offer, pickup, delivery }

    public struct Device: Hashable, Sendable {
        public var id: String
        public var holder: String
        /// Base64 of the 32-byte Ed25519 public key.
        public var publicKey: String
        public var revokedAt: Int64?

        public init(id: String, holder: String, publicKey: String, revokedAt: Int64? = nil) {
            self.id = id
            self.holder = holder
            self.publicKey = publicKey
            self.revokedAt = revokedAt
        }
    }

    /// What the food is: an offer (stage `offer`) or a claim (`pickup` or `delivery`).
    public enum Subject: Hashable, Sendable {
        case offer(String)
        case claim(String)
    }

    /// A signed scan document's members, its id (hex SHA-256 of its canonical bytes) and the
    /// device's signature (base64). `stage` is decided by the world, not sent.
    public struct Scan: Hashable, Sendable {
        public var id: String
        public var device: String
        public var subject: Subject
        public var stage: Stage
        public var score: Int64
        public var model: String
        public var modelVersion: String
        public var imageSha256: String
        public var scannedAt: Int64
        public var signature: String

        public init(
            id: String, device: String, subject: Subject, stage: Stage = .offer, score: Int64, model: String, modelVersion: String, imageSha256: String,
            scannedAt: Int64, signature: String
        ) {
            self.id = id
            self.device = device
            self.subject = subject
            self.stage = stage
            self.score = score
            self.model = model
            self.modelVersion = modelVersion
            self.imageSha256 = imageSha256
            self.scannedAt = scannedAt
            self.signature = signature
        }
    }

    public private(set) var devices: IDTable<Device> = [:]
    public private(set) var deviceOfKey: IDTable<String> = [:]
    /// Ids of every scan attested (replays are refused for ever).
    public private(set) var attested: IDSet = []
    /// The lowest attested score at stage `pickup`, by claim; at stage `offer`, by offer.
    public private(set) var lowestPickupScore: IDTable<Int64> = [:]
    public private(set) var lowestOfferScore: IDTable<Int64> = [:]
    /// The scans attested of each claim and offer, in order (the evidence behind a report line).
    public private(set) var scansOfClaim: IDTable<[String]> = [:]
    public private(set) var scansOfOffer: IDTable<[String]> = [:]

    public init() {}

    /// A device registration by `actor`, who may be the holder or the company of the holder
    /// site (`holderRole`, `holderCompany`: the registry's facts about the holder, nil if none).
    public func decideRegister(
        _ device: Device, actor: String, holderRole: ParticipantRegistry.Role?, holderCompany: String?
    ) -> Result<Device, DeviceRejection> {
        guard InputDomain.isID(device.id) else { return .failure(.idIsNotPseudonymous) }
        guard devices[device.id] == nil else { return .failure(.deviceAlreadyRegistered) }
        guard InputDomain.isEd25519PublicKey(device.publicKey) else { return .failure(.publicKeyIsMalformed) }
        guard deviceOfKey[device.publicKey] == nil else { return .failure(.publicKeyAlreadyRegistered) }
        guard let holderRole else { return .failure(.holderIsNotRegistered) }
        guard [.site, .company, .courier].contains(holderRole) else { return .failure(.holderMayNotHoldDevices) }
        guard actor == device.holder || (holderRole == .site && holderCompany == actor) else { return .failure(.actorMayNotRegisterForThisHolder) }
        var registered = device
        registered.revokedAt = nil
        return .success(registered)
    }

    /// A revocation by the holder, its company (`holderCompany`), or an operator.
    public func decideRevoke(_ id: String, actor: String, holderCompany: String?, asOperator: Bool) -> Result<Device, DeviceRejection> {
        guard let device = devices[id] else { return .failure(.deviceNotFound) }
        guard device.revokedAt == nil else { return .failure(.deviceIsRevoked) }
        guard asOperator || actor == device.holder || (holderCompany != nil && holderCompany == actor) else { return .failure(.actorMayNotUseThisDevice) }
        return .success(device)
    }

    /// The rules of attesting `scan` (signature already verified) at `now`. `mayScan` says
    /// whether the device's holder may scan the subject; `stage` is the subject's stage now.
    public func decideAttest(
        _ scan: Scan, actor: String, holderCompany: String?, mayScan: Bool, now: Int64, policy: FreshnessPolicy
    ) -> Result<Scan, DeviceRejection> {
        guard InputDomain.freshnessScore.contains(scan.score) else { return .failure(.scoreIsOutOfRange) }
        guard let device = devices[scan.device] else { return .failure(.deviceNotFound) }
        // Whatever time the scan claims: a stolen key could backdate it.
        guard device.revokedAt == nil else { return .failure(.deviceIsRevoked) }
        guard actor == device.holder || (holderCompany != nil && holderCompany == actor) else { return .failure(.actorMayNotUseThisDevice) }
        guard !attested.contains(scan.id) else { return .failure(.scanAlreadyAttested) }
        guard let oldest = now.adding(-policy.maxAgeMicroseconds), scan.scannedAt >= oldest else { return .failure(.scanIsStale) }
        guard let latest = now.adding(policy.futureSkewMicroseconds), scan.scannedAt <= latest else { return .failure(.scanIsFromTheFuture) }
        guard mayScan else { return .failure(.deviceMayNotScanThis) }
        return .success(scan)
    }

    public mutating func applyRegistered(_ device: Device) {
        devices[device.id] = device
        deviceOfKey[device.publicKey] = device.id
    }

    public mutating func applyRevoked(_ id: String, at time: Int64) {
        devices[id]?.revokedAt = time
    }

    public mutating func applyAttested(_ scan: Scan) {
        attested.insert(scan.id)
        switch scan.subject {
        case .offer(let offer):
            scansOfOffer[offer, default: []].append(scan.id)
            lowestOfferScore[offer] = min(lowestOfferScore[offer] ?? .max, scan.score)
        case .claim(let claim):
            scansOfClaim[claim, default: []].append(scan.id)
            if scan.stage == .pickup { lowestPickupScore[claim] = min(lowestPickupScore[claim] ?? .max, scan.score) }
        }
    }
}

/// Why a device or scan command was refused (FORMAT §7.14).
public enum DeviceRejection: String, Error, Sendable, CaseIterable {
    case idIsNotPseudonymous
    case deviceAlreadyRegistered
    case publicKeyIsMalformed
    case publicKeyAlreadyRegistered
    case holderIsNotRegistered
    case holderMayNotHoldDevices
    case actorMayNotRegisterForThisHolder
    case deviceNotFound
    case deviceIsRevoked
    case actorMayNotUseThisDevice
    case scanSignatureIsInvalid
    case scanAlreadyAttested
    case scanIsStale
    case scanIsFromTheFuture
    case scanIsMalformed
    case scoreIsOutOfRange
    case deviceMayNotScanThis
    case claimIsNotOpenForScans
    case offerIsNotOpenForScans
    case scanSubjectNotFound
    case attestedScanIsRequired
    case attestedScoreIsTooLow

    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .deviceNotFound, .scanSubjectNotFound: .notFound
        case .deviceAlreadyRegistered, .publicKeyAlreadyRegistered, .deviceIsRevoked, .scanAlreadyAttested, .claimIsNotOpenForScans, .offerIsNotOpenForScans: .conflict
        case .actorMayNotRegisterForThisHolder, .actorMayNotUseThisDevice, .deviceMayNotScanThis, .holderMayNotHoldDevices: .forbidden
        case .idIsNotPseudonymous, .publicKeyIsMalformed, .holderIsNotRegistered, .scanSignatureIsInvalid, .scanIsStale, .scanIsFromTheFuture,
            .scanIsMalformed, .scoreIsOutOfRange, .attestedScanIsRequired, .attestedScoreIsTooLow:
            .invalid
        }
    }
}

/// `policies/freshness.yaml`: what an attested scan must show and when one is required.
public struct FreshnessPolicy: Hashable, Sendable {
    /// The least score that passes (the seed's edge model passes 80–95 %).
    public var passScore: Int64
    public var maxAgeMicroseconds: Int64
    public var futureSkewMicroseconds: Int64
    /// Categories whose offers must carry an attested scan when posted.
    public var requireAtOffer: Set<String>
    /// Categories whose claims must have an attested scan before pickup is confirmed.
    public var requireAtPickup: Set<String>

    public init(passScore: Int64, maxAgeMicroseconds: Int64, futureSkewMicroseconds: Int64, requireAtOffer: Set<String>, requireAtPickup: Set<String>) {
        self.passScore = passScore
        self.maxAgeMicroseconds = maxAgeMicroseconds
        self.futureSkewMicroseconds = futureSkewMicroseconds
        self.requireAtOffer = requireAtOffer
        self.requireAtPickup = requireAtPickup
    }

    /// Scans accepted for 30 minutes, none required (callers that run no scans).
    public static let standard = FreshnessPolicy(
        passScore: 80, maxAgeMicroseconds: 1_800_000_000, futureSkewMicroseconds: 120_000_000, requireAtOffer: [], requireAtPickup: [])
}
