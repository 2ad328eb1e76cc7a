/// The scanning phones (and the digests tills' ids take) of a simulation: the pure simulator cannot do cryptography, so whoever
/// runs it supplies each device's public key and a signer. Core's `SimulatedDevices.ed25519`
/// signs for real (the command loop then checks every signature); a pure run against the world
/// alone may sign with anything, since the world trusts the loop to have checked.
public struct SimulatedDevices: Sendable {
    /// The base64 public key of `device`.
    public var publicKey: @Sendable (_ device: String) -> String
    /// `scan` with its id and a signature by `signer`'s key (a forger names one device and signs
    /// with another's).
    public var sign: @Sendable (_ scan: DeviceBook.Scan, _ signer: String) -> DeviceBook.Scan
    /// Hex SHA-256 of a text (a till's ids and SKUs, as the webhook route digests them).
    public var sha256: @Sendable (_ text: String) -> String

    public init(
        publicKey: @escaping @Sendable (_ device: String) -> String, sign: @escaping @Sendable (_ scan: DeviceBook.Scan, _ signer: String) -> DeviceBook.Scan,
        sha256: @escaping @Sendable (_ text: String) -> String
    ) {
        self.publicKey = publicKey
        self.sign = sign
        self.sha256 = sha256
    }
}

extension CitySimulator {
    /// Pahlawan-Scan: sites' phones scan claims before pickup (mostly fresh food, sometimes
    /// not) and offers; hostile and careless actors forge signatures, replay a scan, send one
    /// hours old, scan another provider's food, lose a phone (revoked, then replaced) and keep
    /// using it.
    mutating func scan(world: RescueWorld) -> Step? {
        guard let devices, !providers.isEmpty else { return nil }
        let site = providers[Int(scanRandom.next(below: UInt64(providers.count)))]
        guard let device = currentDevice(of: site, world: world) else {
            // The lost phone's replacement.
            let id = "dev-\(site)-\(deviceGeneration[site, default: 0] + 1)"
            deviceGeneration[site, default: 0] += 1
            return Step(command: .registerDevice(.init(id: id, holder: site, publicKey: devices.publicKey(id))), actor: site, now: now)
        }
        let ownClaims = placed.suffix(60).filter { world.offers.claims[$0].flatMap { world.offers.offers[$0.offer] }?.provider == site }
        func scanStep(_ subject: DeviceBook.Subject, score: Int64, scannedAt: Int64, signer: String? = nil, by device: String = device) -> Step {
            let unsigned = DeviceBook.Scan(
                id: "", device: device, subject: subject, score: score, model: "freshnet", modelVersion: "2.3.1",
                imageSha256: Self.imageDigest(counter: nextCounter()), scannedAt: scannedAt, signature: "")
            let signed = devices.sign(unsigned, signer ?? device)
            if signer == nil { recentScans.append(signed) }
            if recentScans.count > 50 { recentScans.removeFirst(10) }
            return Step(command: .attestScan(signed), actor: site, now: now)
        }
        let fresh = 80 + scanRandom.int(below: 16)
        switch scanRandom.int(below: 100) {
        case 0..<50:
            // The food of a claim, before it is handed over: mostly fresh, sometimes not.
            guard let claim = ownClaims.last else { return nil }
            return scanStep(.claim(claim), score: scanRandom.chance(percent: 15) ? 20 + scanRandom.int(below: 50) : fresh, scannedAt: now - scanRandom.int(below: 300_000_000))
        case 50..<60:
            guard let offer = offers.suffix(30).last(where: { world.offers.offers[$0]?.provider == site }).flatMap({ world.offers.offers[$0] }),
                offer.expiresAt > now
            else { return nil }
            return scanStep(.offer(offer.id), score: fresh, scannedAt: now - scanRandom.int(below: 60_000_000))
        case 60..<70:
            // Forged: names this phone, signed by another's key (refused by the signature check).
            guard let claim = ownClaims.last ?? placed.last, let other = providers.first(where: { $0 != site }) else { return nil }
            return scanStep(.claim(claim), score: 95, scannedAt: now, signer: "dev-\(other)-\(deviceGeneration[other, default: 0])")
        case 70..<78:
            // A replay of a scan already attested.
            guard let earlier = recentScans.last else { return nil }
            let owner = world.devices.devices[earlier.device]?.holder ?? site
            return Step(command: .attestScan(earlier), actor: owner, now: now)
        case 78..<84:
            // A scan taken hours ago.
            guard let claim = ownClaims.last else { return nil }
            return scanStep(.claim(claim), score: fresh, scannedAt: now - 2 * 3_600_000_000)
        case 84..<88:
            // Another provider's food.
            guard let claim = placed.suffix(30).first(where: { world.offers.claims[$0].flatMap { world.offers.offers[$0.offer] }?.provider != site }) else { return nil }
            return scanStep(.claim(claim), score: fresh, scannedAt: now)
        case 88..<92:
            // The phone is lost: revoked, then (at its next scan) replaced.
            return Step(command: .revokeDevice(device: device, reason: .lost, asOperator: false), actor: site, now: now)
        default:
            // Someone keeps using a revoked phone.
            let replaced = deviceGeneration.filter { $0.value > 0 }.keys.sorted()
            guard !replaced.isEmpty, let claim = placed.last else { return nil }
            let holder = replaced[Int(scanRandom.next(below: UInt64(replaced.count)))]
            let lost = "dev-\(holder)-\(deviceGeneration[holder]! - 1)"
            var step = scanStep(.claim(claim), score: fresh, scannedAt: now, by: lost)
            step.actor = holder
            return step
        }
    }

    /// The site's phone in use (the latest generation), nil once it was revoked.
    private func currentDevice(of site: String, world: RescueWorld) -> String? {
        let id = "dev-\(site)-\(deviceGeneration[site, default: 0])"
        guard let device = world.devices.devices[id], device.revokedAt == nil else { return nil }
        return id
    }

    /// A photo's SHA-256 for the simulation (the photo never leaves the phone; only its digest is signed).
    static func imageDigest(counter: Int) -> String {
        String(CitySimulator.evidence("image:\(counter)").dropFirst(5))
    }
}
