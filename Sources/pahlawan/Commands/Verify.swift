import ArgumentParser
import Foundation
import Ledger

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a ledger directory or an export bundle; on failure name the first bad seq and exit 1.")

    @Option(name: .customLong("data-dir"), help: "The ledger's data directory.")
    var dataDirectory: String?

    @Option(help: "An export bundle to verify instead of a data directory.")
    var bundle: String?

    @Option(help: "An offline proof of one entry (C2SP tlog-proof) to verify instead.")
    var proof: String?

    @Option(help: "The verifier key you trust (text or a file). Defaults to the data directory's own verifier.key.")
    var key: String?

    @Option(help: "With --proof or --bundle: the log's keys document (pahlawan key document, GET /v1/keys): the keys rotated in after the one you trust, and any reported compromised since.")
    var keys: String?

    @Option(name: .customLong("witness"), help: "With --proof: a witness verifier key you trust (text or a file); repeat for each.")
    var witnesses: [String] = []

    @Option(help: "With --proof: how many of the --witness keys must have cosigned the checkpoint (default: all of them).")
    var quorum: Int?

    @Flag(inversion: .prefixedNo, help: "Also check every entry's Ed25519 signature (on all cores).")
    var signatures = false

    @Flag(inversion: .prefixedNo, help: "Also decode every body strictly (canonical JSON, exact keys and types).")
    var bodies = false

    func validate() throws {
        if proof == nil, !witnesses.isEmpty || quorum != nil {
            throw ValidationError("--witness and --quorum go with --proof (a bundle's checkpoint carries our signature only)")
        }
        if proof == nil, bundle == nil, keys != nil {
            throw ValidationError("--keys goes with --proof or --bundle; a data directory's rotations are read from its log")
        }
    }

    func run() throws {
        if let proof {
            try verifyProof(proof)
        } else if let bundle {
            try verifyBundle(bundle)
        } else {
            try verifyDirectory(DataDirectory(dataDirectory ?? "ledger/data"))
        }
    }

    private func verifyDirectory(_ directory: DataDirectory) throws {
        guard directory.exists else {
            printError("pahlawan: error: \(directory.path): notFound: no ledger here; run `make run` or pass --data-dir")
            throw ExitCode(1)
        }
        let verifier: VerifierKey
        if let key {
            verifier = try loadVerifierKey(key)
        } else {
            verifier = try report { try directory.loadVerifierKey() }
            printError("note: trusting the data directory's own verifier.key; pass --key to verify against a key you hold")
        }
        let started = monotonicSeconds()
        let result = LedgerVerifier.verify(directory: directory, key: verifier, checkSignatures: signatures, checkBodies: bodies)
        let seconds = monotonicSeconds() - started
        if let failure = result.failure {
            print("FAIL after \(result.entries) good entries: \(failure)")
            throw ExitCode(1)
        }
        let rate = seconds > 0 ? Int(Double(result.entries) / seconds) : 0
        print("OK \(result.entries) entries verified (checksums, chain, hashes, index, tiles, tree\(signatures ? ", signatures" : "")\(bodies ? ", bodies" : "")) in \(String(format: "%.2f", seconds)) s, \(rate) entries/s")
        print("root \(result.root.base64)")
        for (position, link) in result.keys.links.enumerated() {
            let how = position == 0 ? "the initial key, signs from seq 0" : "signs from seq \(link.firstSeq) (rotated in by the entry at seq \(link.firstSeq - 1))"
            let until = link.retiredAt.map { ", retired by the entry at seq \($0)" } ?? " (current)"
            let compromised = link.untrustedFrom.map { ", reported compromised from seq \($0): its checkpoints above that size are not trusted" } ?? ""
            print("key \(link.key.text): \(how)\(until)\(compromised)")
        }
        try verifyHistory(directory, verifier: verifier, keys: result.keys, coveredSize: result.checkpoint?.size ?? 0)
        if let checkpoint = result.checkpoint {
            print("checkpoint \(checkpoint.origin) size \(checkpoint.size) root \(checkpoint.root.base64): signature OK, tree matches")
            if checkpoint.size < result.entries {
                print("note: \(result.entries - checkpoint.size) entries after the checkpoint are not yet covered by a signed checkpoint")
            }
        }
    }

    private func verifyProof(_ path: String) throws {
        guard let key else {
            printError("pahlawan: error: --proof needs --key: a proof is only as trustworthy as the keys you check it with")
            throw ExitCode(1)
        }
        let verifier = try loadVerifierKey(key)
        let witnessKeys = try witnesses.map { try loadVerifierKey($0, type: .cosignature) }
        let quorum = try report { try WitnessQuorum(keys: witnessKeys, quorum: self.quorum ?? witnessKeys.count) }
        guard let data = FileManager.default.contents(atPath: path) else {
            printError("pahlawan: error: \(path): cannot read the proof")
            throw ExitCode(1)
        }
        do throws(LedgerError) {
            let parsed = try TlogProof(parsing: String(decoding: data, as: UTF8.self))
            let now = UInt64(max(0, Ledger.wallClockMicroseconds() / 1_000_000))
            let chain = try keys.map { (path) throws(LedgerError) in try Self.keyChain(path, initial: verifier, witnesses: quorum, now: now) }
                ?? KeyChain(initial: verifier)
            let (entry, checkpoint) = try parsed.verify(keys: chain, witnesses: quorum, now: now)
            let cosigners = quorum.cosigners(of: try SignedNote(parsing: parsed.checkpoint), now: now).count
            print("OK \(path): seq \(entry.seq) (\(entry.body.kind)) is in the tree of size \(checkpoint.size) signed by \(verifier.name)+\(chain.key(forSeq: checkpoint.size).id), cosigned by \(cosigners) of \(witnessKeys.count) witnesses (quorum \(quorum.quorum))")
        } catch {
            print("FAIL \(path): \(error)")
            throw ExitCode(1)
        }
    }

    /// Every checkpoint kept in the history (and the cosigned history) must be signed by the key,
    /// in increasing size, within the verified tree, and name the root the tree has at its size.
    /// Checkpoints signed by a key later reported compromised are checked with it too: their roots
    /// must equal the verified tree's, which the newer key's checkpoint vouches for.
    private func verifyHistory(_ directory: DataDirectory, verifier: VerifierKey, keys: KeyChain, coveredSize: UInt64) throws {
        let ledger = try report { try Ledger(directory: directory, signer: nil, verifier: verifier, keys: keys) }
        defer { ledger.close() }
        var checked = 0
        var lastSize: UInt64?
        var beyond: [UInt64] = []
        do throws(LedgerError) {
            var slot: UInt64 = 0
            while true {
                let page = try ledger.checkpointNotes(fromSlot: slot, limit: 4_096)
                if page.isEmpty { break }
                for (size, note) in page {
                    let checkpoint = try Checkpoint.open(note, verifier: keys.key(forSeq: size))
                    if size > coveredSize, lastSize.map({ size > $0 }) ?? true, checkpoint.size == size {
                        // Kept, then a crash before `checkpoint` was replaced: never published. The
                        // writer's next open republishes or supersedes it; only later slots are damage.
                        beyond.append(size)
                        lastSize = size
                        slot += 1
                        continue
                    }
                    guard beyond.isEmpty else {
                        throw LedgerError(.damagedRecord, "kept checkpoint slot \(slot) (size \(size)) follows one beyond the verified tree", file: directory.checkpointHistoryFile)
                    }
                    guard checkpoint.size == size, size <= coveredSize, lastSize.map({ size > $0 }) ?? true else {
                        throw LedgerError(.damagedRecord, "kept checkpoint slot \(slot) (size \(size)) is out of order or beyond the verified tree", file: directory.checkpointHistoryFile)
                    }
                    guard try ledger.root(size: size) == checkpoint.root else {
                        throw LedgerError(.checkpointMismatch, "the kept checkpoint of size \(size) names a root the tree does not have", file: directory.checkpointHistoryFile)
                    }
                    lastSize = size
                    checked += 1
                    slot += 1
                }
            }
        } catch {
            print("FAIL checkpoint history: \(error)")
            throw ExitCode(1)
        }
        print("checkpoint history: \(checked) kept checkpoints signed, in order, and consistent with the tree")
        if !beyond.isEmpty {
            print("note: \(beyond.count) kept checkpoint(s) beyond the published one (size \(beyond.map(String.init).joined(separator: ", "))): signed but never published (a stop between keeping and publishing); the writer's next open settles them")
        }
    }

    private func verifyBundle(_ path: String) throws {
        guard let key else {
            printError("pahlawan: error: --bundle needs --key: a bundle is only as trustworthy as the key you check it with")
            throw ExitCode(1)
        }
        let verifier = try loadVerifierKey(key)
        guard let data = FileManager.default.contents(atPath: path) else {
            printError("pahlawan: error: \(path): cannot read the bundle")
            throw ExitCode(1)
        }
        let now = UInt64(max(0, Ledger.wallClockMicroseconds() / 1_000_000))
        let chain = try keys.map { path in try report { try Self.keyChain(path, initial: verifier, witnesses: .none, now: now) } }
        let verdict = Bundle.verify(data, key: verifier, keys: chain)
        for failure in verdict.failures { print("FAIL \(path): \(failure)") }
        guard verdict.isValid, let checkpoint = verdict.checkpoint else { throw ExitCode(1) }
        print("OK \(verdict.entriesChecked) entries in \(path) verified against checkpoint size \(checkpoint.size) root \(checkpoint.root.base64)")
    }

    /// The key chain a keys document proves from the initial key.
    static func keyChain(_ path: String, initial: VerifierKey, witnesses: WitnessQuorum, now: UInt64) throws(LedgerError) -> KeyChain {
        guard let document = FileManager.default.contents(atPath: path) else {
            throw LedgerError(.notFound, "cannot read the keys document", file: path)
        }
        do {
            return try KeysDocument.verify(document, initial: initial, witnesses: witnesses, now: now)
        } catch {
            throw LedgerError(error.code, "keys document: " + error.reason, seq: error.seq, file: path)
        }
    }
}
