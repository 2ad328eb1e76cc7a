#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Ledger

/// The machine's own limits, measured in the same run as a benchmark so that the benchmark's
/// figure can be given as a ratio to them (absolute rates move ±30% between runs here).
enum PhysicalLimits {
    /// Ed25519 signatures per second on one core: libsodium over the 50-byte entry message.
    static func signaturesPerSecond(seconds: Double = 1) -> Double {
        let key = try! SigningKey.generate(name: "bench")
        let message = SignedEntry.signatureMessage(leafHash: MerkleHash.leaf([UInt8](repeating: 1, count: 300)))
        return rate(seconds: seconds) { _ = key.sign(message) }
    }

    /// Ed25519 signature verifications per second on one core.
    static func verificationsPerSecond(seconds: Double = 1) -> Double {
        let key = try! SigningKey.generate(name: "bench")
        let message = SignedEntry.signatureMessage(leafHash: MerkleHash.leaf([UInt8](repeating: 1, count: 300)))
        let signature = key.sign(message)
        return rate(seconds: seconds) { _ = key.verifier.isValidSignature(signature, for: message) }
    }

    /// SHA-256 leaf hashes per second on one core over bodies of `byteCount` bytes.
    static func leafHashesPerSecond(byteCount: Int, seconds: Double = 0.5) -> Double {
        let body = [UInt8](repeating: 0x61, count: byteCount)
        return rate(seconds: seconds) { _ = MerkleHash.leaf(body) }
    }

    /// SHA-256 Merkle interior-node hashes per second on one core.
    static func nodeHashesPerSecond(seconds: Double = 0.3) -> Double {
        var hash = MerkleHash.leaf([UInt8]())
        return rate(seconds: seconds) { hash = MerkleHash.node(hash, hash) }
    }

    /// `write` of 256 bytes followed by `fdatasync`, per second, in `directory` (the same file
    /// system as the ledger).
    static func fdatasyncsPerSecond(directory: String, seconds: Double = 1) -> Double {
        let path = directory + "/.bench-fdatasync-\(getpid())"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(descriptor >= 0, "cannot create \(path)")
        defer {
            close(descriptor)
            unlink(path)
        }
        let block = [UInt8](repeating: 0x5a, count: 256)
        var offset: off_t = 0
        return rate(seconds: seconds) {
            _ = block.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, 256, offset) }
            offset += 256
            _ = fdatasync(descriptor)
        }
    }

    /// Runs `operation` in batches of 64 for at least `seconds`; calls per second.
    static func rate(seconds: Double, _ operation: () -> Void) -> Double {
        let start = monotonicSeconds()
        var count = 0
        while true {
            for _ in 0..<64 { operation() }
            count += 64
            let elapsed = monotonicSeconds() - start
            if elapsed >= seconds { return Double(count) / elapsed }
        }
    }

    /// The largest resident set this process has had, from /proc/self/status (VmHWM).
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kilobytes * 1024
        }
        return 0
    }
}
