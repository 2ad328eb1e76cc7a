import Ledger
import Rescue

/// The freshness scan a device signs (FORMAT §7.14): its members, their canonical (JCS) bytes,
/// the scan id and the signature check. The world decides the rules that depend on state; this
/// is the part that needs cryptography, so it lives here and runs before the command does.
public enum ScanDocument {
    /// Prefix of the signed message (domain separation: a scan signature can never be taken
    /// for a signature over anything else).
    public static let domain = Array("pahlawan-scan/v1\n".utf8)

    /// The document's members as the device signs them.
    public static func members(of scan: DeviceBook.Scan) -> [String: JSONValue] {
        var members: [String: JSONValue] = [
            "v": .integer(1), "device": .string(scan.device), "score": .integer(scan.score), "model": .string(scan.model),
            "modelVersion": .string(scan.modelVersion), "imageSha256": .string(scan.imageSha256), "scannedAt": .integer(scan.scannedAt),
        ]
        switch scan.subject {
        case .offer(let offer): members["offer"] = .string(offer)
        case .claim(let claim): members["claim"] = .string(claim)
        }
        return members
    }

    public static func canonicalBytes(of scan: DeviceBook.Scan) -> [UInt8] { CanonicalJSON.encode(.object(members(of: scan))) }

    /// The scan's id: hex SHA-256 of its canonical bytes.
    public static func id(of scan: DeviceBook.Scan) -> String { SHA256.hash(canonicalBytes(of: scan)).hex }

    /// The message the device signs.
    public static func message(of scan: DeviceBook.Scan) -> [UInt8] { domain + canonicalBytes(of: scan) }

    /// Whether `scan.signature` (base64) is the device key's (`publicKey`, base64) signature of
    /// the scan and `scan.id` is its id.
    public static func verify(_ scan: DeviceBook.Scan, publicKey: String) -> Bool {
        guard let key = Base64.decode(publicKey), key.count == 32, let signature = Base64.decode(scan.signature), signature.count == 64 else { return false }
        let canonical = canonicalBytes(of: scan)
        guard SHA256.hash(canonical).hex == scan.id else { return false }
        return Ed25519.verify(signature: signature, message: domain + canonical, publicKey: key)
    }
}
