import ArgumentParser
import Compliance
import Core
import Foundation
import Ledger
import Mirror

/// The `pahlawan` command line: keys, the demo, verification, checkpoints, proofs and export.
@main
struct Pahlawan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pahlawan",
        abstract: "Pahlawan Trust: the signed, verifiable ledger of Pahlawan Pangan's food rescues.",
        subcommands: [Serve.self, Token.self, Keygen.self, Demo.self, Verify.self, CheckpointCommand.self, Proof.self, Export.self, Bench.self, ReindexCommand.self, PolicyCommand.self, MirrorCommand.self, ReportCommand.self, WitnessCommand.self, KeyCommand.self, PublishCommand.self, MonitorCommand.self, CrashWriter.self]
    )
}

/// Options shared by every command that works on a ledger directory.
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The ledger's data directory.")
    var path: String = "ledger/data"

    var directory: DataDirectory { DataDirectory(path) }

    /// Opens the ledger with the signing key kept in the data directory.
    func openForWriting() throws -> Ledger {
        try report {
            guard directory.exists, FileManager.default.fileExists(atPath: directory.signingKeyFile) else {
                throw LedgerError(.notFound, "no ledger here (no signing.key); run `pahlawan demo` or `pahlawan keygen --out \(path)`", file: path)
            }
            return try Ledger(directory: directory, signer: try directory.loadSigningKey())
        }
    }

    /// Opens the ledger read-only with its verifier key, beside a service that may be writing
    /// it (no lock is taken): what is durable now.
    func openReadOnly() throws -> Ledger {
        try report {
            guard FileManager.default.fileExists(atPath: directory.verifierKeyFile) else {
                throw LedgerError(.notFound, "no ledger here (no verifier.key)", file: path)
            }
            return try Ledger(directory: directory, signer: nil, verifier: try directory.loadVerifierKey())
        }
    }

    /// Opens the ledger to read: with the signing key when nobody holds it (so a torn tail is
    /// recovered and covered by a checkpoint), read-only when only the public verifier key is
    /// present (an auditor's copy) or a running service holds the writer's lock (reads then see
    /// what its latest checkpoint covers).
    func openForReading() throws -> Ledger {
        guard FileManager.default.fileExists(atPath: directory.signingKeyFile) else { return try openReadOnly() }
        do {
            return try Ledger(directory: directory, signer: try directory.loadSigningKey())
        } catch let error as LedgerError where error.code == .locked {
            return try openReadOnly()
        } catch {
            return try report { throw error }
        }
    }
}

/// Runs `body`, turning the project's errors (which name the file, line or seq) into a one-line
/// message on standard error and exit code 1.
@discardableResult
func report<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as PostgresError {
        printError("pahlawan: error: postgres: \(error)")
        throw ExitCode(1)
    } catch where error is LedgerError || error is PolicyError || error is CoreError || error is VaultError || error is CommandError
        || error is MirrorError
    {
        printError("pahlawan: error: \(error)")
        throw ExitCode(1)
    }
}

/// A line for the person running a command, on standard error: a service's standard output
/// holds only its JSON log lines.
func printNotice(_ message: String) {
    var standardError = StandardError()
    print(message, to: &standardError)
}

func printError(_ message: String) { printNotice(message) }

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleShim.writeToStandardError(string)
    }
}
