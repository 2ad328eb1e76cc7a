import ArgumentParser
import Foundation
import Hummingbird
import Ledger
import Logging
import Witness

/// `pahlawan witness …`: the standalone C2SP witness an outside party runs with its own key.
struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Run a C2SP tlog-witness that cosigns a log's checkpoints only when they are consistent with what it cosigned before.",
        subcommands: [WitnessKeygen.self, WitnessServe.self])
}

struct WitnessKeygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a witness key (C2SP cosignature type 0x04): the signing key file (mode 0600) and the verifier key to publish.")

    @Option(help: "The witness's name, e.g. witness.pajak.go.id/w1 (no spaces, no '+').") var name: String
    @Option(help: "File to write the signing key to (refuses to overwrite); the verifier key goes beside it as <file>.pub.")
    var out: String

    func run() throws {
        let key = try report { try SigningKey.generate(name: name, type: .cosignature) }
        try report {
            try FileIO.createExclusive(out, Array((key.privateText + "\n").utf8), mode: 0o600)
            try FileIO.createExclusive(out + ".pub", Array((key.verifier.text + "\n").utf8), mode: 0o644)
        }
        printError("wrote \(out) (mode 0600, keep it secret) and \(out).pub; give the log operator this verifier key:")
        print(key.verifier.text)
    }
}

struct WitnessServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve POST /add-checkpoint (C2SP tlog-witness v1) for the logs whose verifier keys are given.",
        discussion: """
            State: <state>/logs/ holds the latest checkpoint cosigned per log (synced before every answer); \
            <state>/evidence/ keeps both signed notes whenever a log presents a checkpoint inconsistent with \
            one this witness cosigned: both notes prove a fork when they are of one size with two roots; when \
            only the proof failed, they are a claim to check against the log's own consistency proof \
            (audit/README.md, "Witnesses"). Stop with SIGINT/SIGTERM.
            """)

    @Option(help: "The witness's signing key file (from `pahlawan witness keygen`).") var key: String
    @Option(name: .customLong("log"), help: "A log's verifier key (text or a file holding it); repeat for each log. Its name is the log's origin.")
    var logs: [String]
    @Option(help: "The witness's state directory.") var state: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8090

    func run() async throws {
        let signingKey = try report { () throws -> SigningKey in
            do throws(LedgerError) {
                return try SigningKey(text: String(decoding: try FileIO.readAll(key), as: UTF8.self), type: .cosignature)
            } catch {
                throw LedgerError(error.code, error.reason, file: key)
            }
        }
        guard !logs.isEmpty else {
            printError("pahlawan: error: name at least one log with --log <verifier key>")
            throw ExitCode(1)
        }
        let logKeys = try logs.map { try loadVerifierKey($0) }
        // A crash test stops the witness between storing a checkpoint and answering.
        let crashAfterStore = ProcessInfo.processInfo.environment["PAHLAWAN_WITNESS_CRASH_AFTER_STORE"] == "1"
        let witness = try report {
            try Witness(key: signingKey, logKeys: logKeys, directory: state, afterStore: { if crashAfterStore { _exit(70) } })
        }
        defer { witness.close() }
        print("witness \(signingKey.verifier.text)")
        for origin in witness.origins {
            let size = witness.latest(origin: origin)?.size
            print("cosigning for \(origin) (latest cosigned size: \(size.map(String.init) ?? "none"))")
        }
        print("listening on http://\(host):\(port)/add-checkpoint")
        try await witness.application(host: host, port: port, logger: Logger(label: "pahlawan.witness")).runService()
    }
}
