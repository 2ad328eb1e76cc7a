import ArgumentParser
import Core
import Foundation
import Ledger
import Rescue

/// `pahlawan bench scans`: verifying a device-signed freshness scan (FORMAT §7.14) as the
/// service does, against libsodium's raw Ed25519 verification of the same message, on one core
/// in the same run.
struct BenchScans: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scans",
        abstract: "Scan attestation checks per second on one core (canonical bytes, scan id, Ed25519) against raw Ed25519 verifications of the same message.",
        discussion: """
            Figures: raw_verifications_per_second (crypto_sign_verify_detached over the signed message, the limit), \
            attestations_per_second (ScanDocument.verify: base64 key and signature, RFC 8785 canonical bytes, SHA-256 \
            id, Ed25519), and their ratio (target ≥ 0.8). The two alternate in rounds so both see the same machine.
            """)

    @Option(help: "Seconds per measurement round.") var seconds = 1.0
    @Option(help: "Rounds (the best of each is reported).") var rounds = 3
    @OptionGroup var bench: BenchOptions

    func run() throws {
        let key = try SigningKey(name: "phone", seed: [UInt8](repeating: 7, count: 32))
        let publicKey = Base64.encode(key.verifier.publicKey)
        var scans: [DeviceBook.Scan] = []
        for number in 0..<256 {
            var scan = DeviceBook.Scan(
                id: "", device: "dev-site-jkt-1-0", subject: .claim("clm-\(number)"), score: 80 + Int64(number % 16), model: "freshnet",
                modelVersion: "2.3.1", imageSha256: SHA256.hash(Array("image \(number)".utf8)).hex, scannedAt: 1_795_453_200_000_000 + Int64(number), signature: "")
            scan.id = ScanDocument.id(of: scan)
            scan.signature = Base64.encode(key.sign(ScanDocument.message(of: scan)))
            scans.append(scan)
        }
        let messages = scans.map(ScanDocument.message(of:))
        let signatures = scans.map { Base64.decode($0.signature)! }
        precondition(scans.allSatisfy { ScanDocument.verify($0, publicKey: publicKey) }, "a benchmark scan does not verify")
        var raw = 0.0, attested = 0.0
        for _ in 0..<rounds {
            var index = 0
            raw = max(raw, PhysicalLimits.rate(seconds: seconds) {
                index &+= 1
                precondition(Ed25519.verify(signature: signatures[index & 255], message: messages[index & 255], publicKey: key.verifier.publicKey))
            })
            attested = max(attested, PhysicalLimits.rate(seconds: seconds) {
                index &+= 1
                precondition(ScanDocument.verify(scans[index & 255], publicKey: publicKey))
            })
        }
        bench.emit("bench scans (one core, \(rounds) rounds of \(seconds) s, best of each)", [
            ("raw_verifications_per_second", .number(raw, digits: 0)),
            ("attestations_per_second", .number(attested, digits: 0)),
            ("ratio_attestation_to_raw_verify", .number(attested / raw, digits: 3)),
        ])
    }
}
