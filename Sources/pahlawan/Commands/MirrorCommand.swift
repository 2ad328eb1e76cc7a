import ArgumentParser
import Compliance
import Foundation
import Ledger
import Mirror

/// `pahlawan mirror`: keeps a PostgreSQL mirror of the ledger (issue 6).
struct MirrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Mirror the ledger into PostgreSQL (ledger_entries), exactly once and resumable; `rebuild` drops and refills.",
        subcommands: [MirrorFollow.self, MirrorRebuild.self], defaultSubcommand: MirrorFollow.self)
}

/// Where the mirror is: `--postgres URL` or `PAHLAWAN_POSTGRES_URL`.
struct PostgresOptions: ParsableArguments {
    @Option(help: "PostgreSQL connection URL (or PAHLAWAN_POSTGRES_URL), e.g. postgresql://user@127.0.0.1:5432/pahlawan.")
    var postgres: String?

    func url() throws -> String {
        guard let url = postgres ?? ProcessInfo.processInfo.environment["PAHLAWAN_POSTGRES_URL"] else {
            throw ValidationError("give --postgres URL or set PAHLAWAN_POSTGRES_URL")
        }
        return url
    }
}

/// What the role views mask with: `masking.yaml` and the masking key (`pahlawan serve` makes it
/// on first start), so the views give each role the pseudonyms the HTTP API gives it.
struct MaskingOptions: ParsableArguments {
    @Option(help: "The policy directory (masking.yaml among them).") var policies = "policies"
    @Option(help: "Directory of the masking key.") var secrets = "ledger/secrets"

    func masker() throws -> Masker {
        try report {
            let policy = try MaskingPolicy.load(path: policies + "/masking.yaml")
            let (secret, _) = try DataDirectory(secrets).loadOrCreateSecret(named: "masking.key")
            return Masker(policy: policy, secret: secret)
        }
    }
}

struct MirrorFollow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follow",
        abstract: "Catch up, then follow new entries (reconnecting with backoff when PostgreSQL is away); --once: catch up, print the applied count, exit.")

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var postgres: PostgresOptions
    @OptionGroup var masking: MaskingOptions
    @Flag(help: "Catch up once and exit.") var once = false
    @Option(help: "Entries per transaction.") var batch = 10_000

    func run() throws {
        let url = try postgres.url()
        let masker = try masking.masker()
        var backoff = 0.5
        while true {
            do {
                let mirror = Mirror(connection: try PostgresConnection(url: url))
                try mirror.migrate()
                try mirror.installRoleViews(masker: masker)
                backoff = 0.5
                while true {
                    // A read-only view of the ledger as it is now; reopened each round so that
                    // what a running service appended meanwhile is seen.
                    let ledger = try data.openReadOnly()
                    let applied = try mirror.catchUp(from: ledger, batch: batch)
                    ledger.close()
                    if once {
                        print("applied \(applied) entries (seq 0..<\(applied)) to \(Self.redacted(url))")
                        return
                    }
                    Thread.sleep(forTimeInterval: 0.2)
                }
            } catch let error as MirrorError {
                // What PostgreSQL or another mirror did may pass (as before these had codes, every
                // condition but a ledger failure is retried); a failing ledger will not.
                guard !once, error.code != .ledgerFailed else { throw fail(error) }
                printError("pahlawan: mirror: \(error); retrying in \(backoff) s")
            } catch let error as PostgresError {
                guard !once else { throw fail(error) }
                printError("pahlawan: mirror: \(error); retrying in \(backoff) s")
            }
            Thread.sleep(forTimeInterval: backoff)
            backoff = min(30, backoff * 2)
        }
    }

    private func fail(_ error: Error) -> ExitCode {
        printError("pahlawan: error: mirror: \(error)")
        return ExitCode(1)
    }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        url.replacing(/:[^:@\/]+@/, with: ":***@")
    }
}

struct MirrorRebuild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rebuild", abstract: "Drop every mirrored row and refill the mirror from the first entry.")

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var postgres: PostgresOptions
    @OptionGroup var masking: MaskingOptions
    @Option(help: "Entries per transaction.") var batch = 10_000

    func run() throws {
        let ledger = try data.openReadOnly()
        defer { ledger.close() }
        let masker = try masking.masker()
        do {
            let mirror = Mirror(connection: try PostgresConnection(url: try postgres.url()))
            try mirror.migrate()
            try mirror.installRoleViews(masker: masker)
            print("rebuilt: \(try mirror.rebuild(from: ledger, batch: batch)) entries")
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("pahlawan: error: mirror: \(error)")
            throw ExitCode(1)
        }
    }
}
