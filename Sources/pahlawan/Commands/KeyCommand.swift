import ArgumentParser
import Foundation
import Ledger

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Rotate the log's signing key, or write the keys document that proves every key since the first.",
        subcommands: [Rotate.self, Document.self])

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append a key.rotated entry signed by the current key; the new key signs everything after it (ledger/FORMAT.md §10.7).",
            discussion: """
                Run it with the service stopped (it needs the writer's lock). The new signing key replaces \
                <data dir>/signing.key once the entry is durable; verifier.key keeps the initial key, the one \
                auditors pin. Then give the new verifier key to every witness operator (witness serve --log) and \
                publish the keys document (pahlawan key document, GET /v1/keys). For a compromised key, \
                follow audit/README.md, "If our signing key leaks".
                """)

        @OptionGroup var data: DataDirectoryOptions

        @Option(help: "Why: scheduled (planned) or compromise (the current key leaked).")
        var reason: String

        @Option(name: .customLong("untrusted-from"), help: "With --reason compromise: the first seq the leaked key may have signed for someone else (from the investigation).")
        var untrustedFrom: UInt64?

        @Option(name: .customLong("new-key"), help: "A signing key file made with `pahlawan keygen --out DIR` (DIR/signing.key); by default a new key is generated.")
        var newKey: String?

        @Option(help: "The actor recorded in the entry (a pseudonymous id: a-z 0-9 . _ : -).")
        var actor = "operator"

        func validate() throws {
            switch reason {
            case "scheduled":
                if untrustedFrom != nil { throw ValidationError("--untrusted-from goes with --reason compromise only") }
            case "compromise":
                if untrustedFrom == nil { throw ValidationError("--reason compromise needs --untrusted-from SEQ: the first seq the leaked key may have signed for someone else") }
            default:
                throw ValidationError("--reason is scheduled or compromise")
            }
        }

        private static func loadSigningKey(_ path: String) throws(LedgerError) -> SigningKey {
            do {
                return try SigningKey(text: String(decoding: try FileIO.readAll(path), as: UTF8.self))
            } catch {
                throw LedgerError(error.code, error.reason, file: path)
            }
        }

        func run() throws {
            let ledger = try data.openForWriting()
            defer { ledger.close() }
            let next = try report { try newKey.map(Self.loadSigningKey) ?? SigningKey.generate(name: ledger.origin) }
            let why: KeyRotation.Reason = untrustedFrom.map { .compromise(untrustedFrom: $0) } ?? .scheduled
            let entry = try report { try ledger.rotateKey(to: next, reason: why, actor: actor) }
            try report { try ledger.checkpoint() }
            print("rotated at seq \(entry.seq): \(next.verifier.text) signs from seq \(entry.seq + 1)")
            printError("the new signing key is in \(data.directory.signingKeyFile); give the verifier key above to every witness operator")
        }
    }

    struct Document: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the keys document (pahlawan-keys/v1): the initial key, the latest checkpoint and every key rotation, proved in it.")

        @OptionGroup var data: DataDirectoryOptions

        @Option(help: "Write it to this file instead of standard output.")
        var out: String?

        func run() throws {
            let ledger = try data.openForReading()
            defer { ledger.close() }
            guard let (note, checkpoint) = ledger.latestCheckpoint else {
                printError("pahlawan: error: \(data.directory.checkpointFile): the log has no signed checkpoint yet")
                throw ExitCode(1)
            }
            // Like GET /v1/keys: the latest checkpoint, with the cosignatures kept for it, so a
            // rotation shows at once.
            let cosigned = try report {
                try CheckpointCommand.withCosignatures(note, size: checkpoint.size, historyFile: data.directory.cosignedHistoryFile)
            }
            let document = try report { try KeysDocument.make(ledger, note: cosigned) }
            if let out {
                do {
                    try document.write(to: URL(fileURLWithPath: out))
                } catch {
                    printError("pahlawan: error: \(out): \(error.localizedDescription)")
                    throw ExitCode(1)
                }
            } else {
                FileHandle.standardOutput.write(document + Data("\n".utf8))
            }
        }
    }
}
