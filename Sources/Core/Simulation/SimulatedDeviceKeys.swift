import Ledger
import Rescue

extension SimulatedDevices {
    /// Devices whose Ed25519 keys derive from `seed` and the device id, signing real scan
    /// documents (`ScanDocument`), so a simulation through the command loop has every
    /// signature checked, and a forged one refused.
    public static func ed25519(seed: UInt64) -> SimulatedDevices {
        @Sendable func key(_ device: String) -> SigningKey {
            let material = SHA256.hash(Array("simulated-device\u{0}\(seed)\u{0}\(device)".utf8)).bytes
            // A 32-byte seed and a fixed valid name cannot fail.
            return try! SigningKey(name: "device", seed: material)
        }
        return SimulatedDevices(
            publicKey: { Base64.encode(key($0).verifier.publicKey) },
            sign: { scan, signer in
                var signed = scan
                signed.id = ScanDocument.id(of: scan)
                signed.signature = Base64.encode(key(signer).sign(ScanDocument.message(of: scan)))
                return signed
            },
            sha256: { SHA256.hash(Array($0.utf8)).hex })
    }
}
