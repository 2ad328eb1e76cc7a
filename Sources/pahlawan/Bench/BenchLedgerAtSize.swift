import ArgumentParser
import Foundation
import Ledger
import Rescue

struct BenchProof: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proof", abstract: "Inclusion and consistency proof latency at a given ledger size (read from stored tiles).")

    @Option(help: "Ledger size to measure at (the ledger is filled up to it first).") var entries: UInt64 = 1_000_000
    @Option(help: "Proofs of each kind to time.") var samples = 2_000
    @OptionGroup var bench: BenchOptions

    func run() throws {
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        try fillLedger(directory, to: entries, quiet: bench.json)
        let ledger = try report { try Ledger(directory: directory, signer: nil, verifier: try directory.loadVerifierKey()) }
        let size = ledger.latestCheckpoint!.checkpoint.size
        let root = ledger.latestCheckpoint!.checkpoint.root
        var random = SplitMix64(seed: 42)
        var inclusion = [Double]()
        var consistency = [Double]()
        let nodeRate = PhysicalLimits.nodeHashesPerSecond()
        try report {
            for _ in 0..<samples {
                let seq = random.next() % size
                let started = monotonicSeconds()
                let proof = try ledger.inclusionProof(seq: seq, size: size)
                inclusion.append(monotonicSeconds() - started)
                // Checked outside the timing: a fast wrong proof is worth nothing.
                let leaf = try ledger.leafHash(seq)
                do { try MerkleProofs.verifyInclusion(leaf: leaf, index: seq, size: size, proof: proof, root: root) } catch {
                    throw LedgerError(.proofFailed, "the inclusion proof of seq \(seq) does not verify", seq: seq)
                }
                let older = 1 + random.next() % (size - 1)
                let consistencyStarted = monotonicSeconds()
                let path = try ledger.consistencyProof(from: older, to: size)
                consistency.append(monotonicSeconds() - consistencyStarted)
                let olderRoot = try ledger.root(size: older)
                do { try MerkleProofs.verifyConsistency(size1: older, size2: size, root1: olderRoot, root2: root, proof: path) } catch {
                    throw LedgerError(.proofFailed, "the consistency proof \(older)→\(size) does not verify")
                }
            }
        }
        inclusion.sort()
        consistency.sort()
        let depth = 64 - (size - 1).leadingZeroBitCount
        bench.emit(
            "bench proof: \(samples) inclusion and consistency proofs at size \(size) (all verified)",
            [
                ("entries", .integer(Int(size))),
                ("samples", .integer(samples)),
                ("inclusion_p50_ms", .number(percentile(inclusion, 0.5) * 1000, digits: 4)),
                ("inclusion_p99_ms", .number(percentile(inclusion, 0.99) * 1000, digits: 4)),
                ("inclusion_max_ms", .number((inclusion.last ?? 0) * 1000, digits: 4)),
                ("consistency_p50_ms", .number(percentile(consistency, 0.5) * 1000, digits: 4)),
                ("consistency_p99_ms", .number(percentile(consistency, 0.99) * 1000, digits: 4)),
                ("consistency_max_ms", .number((consistency.last ?? 0) * 1000, digits: 4)),
                ("tree_depth", .integer(depth)),
                ("raw_node_hash_per_second", .number(nodeRate, digits: 0)),
                // The floor: one node hash per level. Tiles cost up to 255 hashes per tile level more.
                ("ratio_p99_to_depth_hashes", .number(percentile(inclusion, 0.99) / (Double(depth) / nodeRate), digits: 1)),
                ("ratio_p99_to_target_1ms", .number(percentile(inclusion, 0.99) / 0.001, digits: 3)),
            ])
    }
}

struct BenchOpen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Reopen time and peak RSS of a ledger of a given size, measured in a fresh process.")

    @Option(help: "Ledger size to measure at (the ledger is filled up to it first).") var entries: UInt64 = 1_000_000
    @Flag(help: .hidden) var child = false
    @OptionGroup var bench: BenchOptions

    func run() throws {
        if child {
            let directory = DataDirectory(bench.dataDirectory!)
            let key = try report { try directory.loadSigningKey() }
            let started = monotonicSeconds()
            let ledger = try report { try Ledger(directory: directory, signer: key) }
            let seconds = monotonicSeconds() - started
            let size = ledger.size
            ledger.close()
            print("\(seconds) \(size) \(PhysicalLimits.peakResidentBytes())")
            return
        }
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        try fillLedger(directory, to: entries, quiet: bench.json)
        // A fresh process, so that the filling does not count towards the peak RSS.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["bench", "open", "--child", "--data-dir", directory.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let fields = String(decoding: data, as: UTF8.self).split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard process.terminationStatus == 0, fields.count == 3, let seconds = Double(fields[0]), let size = Int(fields[1]),
            let rss = Int(fields[2])
        else { throw ExitCode(1) }
        bench.emit(
            "bench open: reopen of a \(size)-entry ledger in a fresh process",
            [
                ("entries", .integer(size)),
                ("open_seconds", .number(seconds, digits: 4)),
                ("peak_rss_bytes", .integer(rss)),
                ("ratio_to_target_2s", .number(seconds / 2, digits: 4)),
                ("ratio_rss_to_target_200mb", .number(Double(rss) / 200_000_000, digits: 3)),
            ])
    }
}

struct BenchVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Full verification speed (checksums, chain, hashes, index, tiles, tree) against the raw SHA-256 rate.")

    @Option(help: "Ledger size to measure at (the ledger is filled up to it first).") var entries: UInt64 = 1_000_000
    @Flag(help: "Also check every signature (on all cores).") var signatures = false
    @OptionGroup var bench: BenchOptions

    func run() throws {
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        try fillLedger(directory, to: entries, quiet: bench.json)
        let key = try report { try directory.loadVerifierKey() }
        let started = monotonicSeconds()
        let result = LedgerVerifier.verify(directory: directory, key: key, checkSignatures: signatures)
        let seconds = monotonicSeconds() - started
        if let failure = result.failure {
            printError("pahlawan: error: verify failed: \(failure)")
            throw ExitCode(1)
        }
        let perSecond = Double(result.entries) / seconds
        let averageBody = averageBodyByteCount(directory, entries: result.entries)
        let rawHash = PhysicalLimits.leafHashesPerSecond(byteCount: averageBody)
        let rawVerify = signatures ? PhysicalLimits.verificationsPerSecond() : 0
        bench.emit(
            "bench verify: \(result.entries) entries\(signatures ? " with signatures" : "")",
            [
                ("entries", .integer(Int(result.entries))),
                ("seconds", .number(seconds, digits: 3)),
                ("entries_per_second", .number(perSecond, digits: 0)),
                ("average_body_bytes", .integer(averageBody)),
                ("raw_leaf_hash_per_second", .number(rawHash, digits: 0)),
                ("ratio_to_leaf_hash", .number(perSecond / rawHash, digits: 3)),
                ("raw_signature_verify_per_second", .number(rawVerify, digits: 0)),
                ("ratio_to_signature_verify", .number(signatures ? perSecond / rawVerify : 0, digits: 3)),
                ("cores", .integer(ProcessInfo.processInfo.activeProcessorCount)),
                ("peak_rss_bytes", .integer(PhysicalLimits.peakResidentBytes())),
            ])
    }
}
