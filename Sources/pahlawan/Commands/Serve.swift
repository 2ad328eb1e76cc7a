import ArgumentParser
import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import Logging
import Mirror
import NIOCore
import NIOPosix
import Rescue
import Server
import Witness

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP service on the file ledger (write API, audit API, PII vault, health, metrics); stops cleanly on SIGINT/SIGTERM.",
        discussion: """
            Tokens: `pahlawan token --role R --sub ID` mints a development token signed by the key in the data \
            directory (`auth.key`, created on first use). Personal data goes to the vault (--vault), sealed under \
            a master key kept in --secrets, outside the ledger's data directory. The API is in audit/openapi.yaml.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "The policy directory.") var policies = "policies"
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "The PII vault's directory (sealed personal data).") var vault = "ledger/vault"
    @Option(help: "Directory of the vault master key and the masking key (outside the data directory).") var secrets = "ledger/secrets"
    @Option(
        name: .customLong("token-keys"),
        help: "A JSON Web Key Set file of an identity provider whose tokens are accepted too (EdDSA or RS256 keys with a kid); also PAHLAWAN_TOKEN_KEYS.")
    var tokenKeys: String?
    @Option(help: "Keep a PostgreSQL mirror of the ledger at this URL (or PAHLAWAN_POSTGRES_URL); writers never wait for it.")
    var postgres: String?

    func run() async throws {
        // Swift concurrency's jobs run on the event loops that do the sockets' I/O: without
        // this every request hops between NIO's threads and the cooperative pool several times
        // (futex wake-ups were a tenth of the service's CPU in issue 19's profile).
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let mirrorURL = postgres ?? ProcessInfo.processInfo.environment["PAHLAWAN_POSTGRES_URL"]
        let follower: MirrorFollower? = mirrorURL == nil ? nil : MirrorFollower()
        var progress: (@Sendable () -> UInt64)?
        if let follower { progress = { follower.applied } }
        let running = try await ServiceSetup.open(
            data: data, policies: policies, vault: vault, secrets: secrets, announce: true, logLevel: .info,
            metrics: ServiceMetrics(mirrorProgress: progress), mirrorURL: mirrorURL)
        if let url = mirrorURL, let follower {
            let logger = Logger(label: "pahlawan.mirror")
            follower.start(ledger: running.service.loop.ledger, url: url, masker: running.service.masker) { logger.warning("\($0)") }
            printNotice("mirroring the ledger into PostgreSQL (mirror_lag_entries in /metrics)")
        }
        if let path = tokenKeys ?? ProcessInfo.processInfo.environment["PAHLAWAN_TOKEN_KEYS"] {
            do {
                try await running.service.authority.trust(jwksJSON: String(contentsOfFile: path, encoding: .utf8))
            } catch {
                printError("pahlawan: error: \(path): not a usable JSON Web Key Set (\(error))")
                throw ExitCode(1)
            }
            printNotice("accepting tokens signed by the keys in \(path)")
        }
        running.service.metrics.bootstrap()
        // Hummingbird's own info line ("listening on <address>") would reach the log masked as
        // a run of digits; the notice below says where the service listens, readably.
        var serverLogger = Logger(label: "pahlawan.server")
        serverLogger.logLevel = .notice
        let app = Service.application(
            router: running.service.router(), configuration: .init(address: .hostname(host, port: port)), logger: serverLogger)
        let ticker = running.service.startTicker()
        let witnessing = running.startWitnessing()
        running.service.warmReports()
        printNotice("serving \(data.path) (\(running.service.loop.ledger.size) entries) on http://\(host):\(port)")
        printNotice("try: curl http://\(host):\(port)/health/ready ; tokens: \(CommandLine.arguments[0]) token --data-dir \(data.path) --role auditor --sub audit-1")
        // At once, even into a file or pipe, so a supervisor sees where to look.
        fflush(nil)
        try await app.runService()
        ticker.cancel()
        await running.stopWitnessing(witnessing)
        follower?.stop()
        running.service.loop.ledger.close()
        printNotice("stopped; the ledger is closed with a final checkpoint")
    }
}

/// Opens everything `serve` (and `demo --serve`) runs: the command loop, the token authority,
/// the service's policies, the vault and its keys.
enum ServiceSetup {
    struct Running {
        let service: Service
        let authSeed: [UInt8]

        /// Submits every new checkpoint to the witnesses of policies/witnesses.yaml, if any.
        func startWitnessing() -> Task<Void, Never>? {
            service.witnesses.map { client in Task { await client.run() } }
        }

        /// Cancelled, not awaited to the end: a hung witness must not delay the final checkpoint.
        func stopWitnessing(_ task: Task<Void, Never>?) async {
            service.witnesses?.stop()
            task?.cancel()
            await task?.value
        }
    }

    static func open(
        data: DataDirectoryOptions, policies: String, vault: String, secrets: String, announce: Bool,
        clock: @escaping @Sendable () -> Int64 = Ledger.wallClockMicroseconds, logLevel: Logger.Level, metrics: ServiceMetrics = ServiceMetrics(),
        mirrorURL: String? = nil, logisticsProvider: (any LogisticsProvider)? = nil
    ) async throws -> Running {
        // With it the engines' table hashing has a fixed key, and callers could choose ids that
        // all fall in one bucket and make every lookup a scan (the review of issue 19).
        if let value = ProcessInfo.processInfo.environment["SWIFT_DETERMINISTIC_HASHING"], !value.isEmpty {
            printError("pahlawan: error: SWIFT_DETERMINISTIC_HASHING is set: it makes table hashing predictable to callers; unset it to serve")
            throw ExitCode(1)
        }
        let opened = try report { try Startup.open(data: data.directory, policies: policies, clock: clock) }
        if announce, opened.createdSigningKey { printNotice("created a new signing key in \(data.directory.signingKeyFile) (mode 0600)") }
        let (seed, createdAuthKey) = try report { try data.directory.loadOrCreateSecret(named: "auth.key") }
        if announce, createdAuthKey { printNotice("created a development token key in \(data.path)/auth.key (mode 0600)") }
        let settings = try report { try ServiceSettings.load(policies: policies) }
        let secretsDirectory = DataDirectory(secrets)
        let (master, createdMaster) = try report { try secretsDirectory.loadOrCreateSecret(named: "vault-master.key") }
        let (maskingSecret, _) = try report { try secretsDirectory.loadOrCreateSecret(named: "masking.key") }
        if announce, createdMaster { printNotice("created the vault master key in \(secrets)/vault-master.key (mode 0600); back it up apart from the vault") }
        let piiVault = try report { try PIIVault(directory: vault, masterKey: master) }
        // Every logger made from here on writes JSON lines through the masking of log lines.
        LoggingSystem.bootstrap { MaskingLogHandler(label: $0) }
        var logger = Logger(label: "pahlawan.http")
        logger.logLevel = logLevel
        let witnessPolicy = try report { try WitnessPolicy.load(path: policies + "/witnesses.yaml") }
        var witnesses: WitnessClient?
        if !witnessPolicy.witnesses.isEmpty {
            witnesses = try report {
                try WitnessClient(
                    ledger: opened.loop.ledger, endpoints: witnessPolicy.witnesses.map { WitnessClient.Endpoint(key: $0.key, url: $0.url) },
                    quorum: witnessPolicy.quorum.quorum == 0 ? .none : witnessPolicy.quorum, cosignedFile: data.directory.cosignedCheckpointFile,
                    historyFile: data.directory.cosignedHistoryFile)
            }
            if announce {
                printNotice("submitting checkpoints to \(witnessPolicy.witnesses.count) witnesses (quorum \(witnessPolicy.quorum.quorum)): "
                    + witnessPolicy.witnesses.map(\.name).joined(separator: ", "))
            }
        }
        let service = Service(
            loop: opened.loop, authority: try await TokenAuthority(seed: seed), settings: settings, vault: piiVault, maskingSecret: maskingSecret,
            metrics: metrics, logger: logger, mirrorURL: mirrorURL, witnesses: witnesses, logisticsProvider: logisticsProvider)
        return Running(service: service, authSeed: seed)
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mint a development access token (EdDSA, at most 15 minutes) from the data directory's auth.key.")

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "Role: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: String
    @Option(help: "Subject: the caller's pseudonymous participant id.") var sub: String
    @Option(help: "Lifetime in minutes (1–15).") var minutes = 15

    func validate() throws {
        guard Role(rawValue: role) != nil else { throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard (1...15).contains(minutes) else { throw ValidationError("--minutes must be 1…15") }
        guard InputDomain.isID(sub) else {
            throw ValidationError("--sub must be a pseudonymous id (a lowercase letter first, then a-z 0-9 . _ : -, at most 8 digits): the service refuses any other subject")
        }
    }

    func run() async throws {
        let (seed, _) = try report { try data.directory.loadOrCreateSecret(named: "auth.key") }
        print(try await TokenAuthority(seed: seed).mint(subject: sub, role: Role(rawValue: role)!, lifetime: Double(minutes * 60)))
    }
}
