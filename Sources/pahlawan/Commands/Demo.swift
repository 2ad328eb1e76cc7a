import ArgumentParser
import Compliance
import Core
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import Ledger
import Rescue
import Server
import Synchronization

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a simulated city (Jakarta and Surabaya) through the rescue engines into a ledger, then verify it and say what happened.",
        discussion: """
            The simulated days end about now: they start that many days (plus four for every dispute window and \
            deadline to pass) before the present, or just after the ledger's newest entry. Every command goes through \
            the same command loop the service uses, and an independent reference model checks every invariant after \
            every step; a failure prints the seed that reproduces it.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "The policy directory.") var policies = "policies"
    @Option(help: "Seed of the simulation (the same seed gives the same commands).") var seed: UInt64 = 1
    @Option(help: "Busy days to simulate.") var days = 1
    @Option(name: .customLong("commands-per-day"), help: "About how many commands a busy day has (three times as dense in the evening surge).")
    var commandsPerDay = 2_000
    @Flag(help: "Start the HTTP service and send the simulated participants' commands to it over HTTP, then keep serving.")
    var serve = false
    @Option(help: "With --serve: address to listen on.") var host = "127.0.0.1"
    @Option(help: "With --serve: port to listen on.") var port = 8080
    @Option(help: "With --serve: the PII vault's directory.") var vault = "ledger/vault"
    @Option(help: "With --serve: directory of the vault master key and the masking key.") var secrets = "ledger/secrets"

    func validate() throws {
        guard (1...30).contains(days) else { throw ValidationError("--days must be 1…30") }
        guard (10...1_000_000).contains(commandsPerDay) else { throw ValidationError("--commands-per-day must be 10…1,000,000") }
    }

    func run() async throws {
        if serve { return try await runServing() }
        let day: Int64 = 86_400_000_000
        let clock = SimulatedClock(Ledger.wallClockMicroseconds() - Int64(days + 4) * day)
        let opened = try report { try Startup.open(data: data.directory, policies: policies, clock: clock.function) }
        let loop = opened.loop
        if opened.createdSigningKey { print("created a new signing key in \(data.directory.signingKeyFile) (mode 0600)") }
        print("verifier key: \(loop.ledger.verifier.text)")
        print("policies: \(loop.policies.hash.hex)")
        let start = max(clock.read(), loop.ledger.lastEntryTime + 1)
        clock.set(start)
        var simulator = CitySimulator(seed: seed, start: start, days: days, commandsPerDay: commandsPerDay, devices: .ed25519(seed: seed)) {
            loop.pickupCodeDigest(claim: $0, code: $1)
        }
        let started = monotonicSeconds()
        let result = try report { try SimulationDriver.run(&simulator, through: loop, clock: clock) }
        let seconds = monotonicSeconds() - started
        try report { try loop.ledger.checkpoint() }
        let written = result.endSeq - result.firstSeq
        print("simulated \(days) day(s) (seed \(seed)): \(result.commands) commands, \(written) entries (seq \(result.firstSeq)..<\(result.endSeq)) in \(String(format: "%.2f", seconds)) s")
        print("entries by kind:")
        for (kind, count) in result.kinds.sorted(by: { $0.key < $1.key }) { print("  \(kind.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count)") }
        print("refused commands (nothing written):")
        for (name, count) in result.rejections.sorted(by: { $0.key < $1.key }) { print("  \(name.padding(toLength: 36, withPad: " ", startingAt: 0)) \(count)") }
        loop.read { world in
            let rescues = world.rescues.values.map(\.completion)
            let grams = rescues.reduce(0) { $0 + $1.gramsRescued }
            let escrows = world.escrows.escrows.values
            print("totals (the whole ledger):")
            print("  rescues completed            \(rescues.count), \(grams) g food, \(rescues.reduce(0) { $0 + $1.meals }) meals")
            print("  CO2e avoided                 \(rescues.reduce(0) { $0 + $1.lifecycleGramsCO2e }) g lifecycle, \(rescues.reduce(0) { $0 + $1.downstreamGramsCO2e }) g downstream")
            let minted = world.carbon.accounts.values.reduce(0) { $0 + $1.minted }
            print("  carbon tokens                \(minted) minted (\(world.carbon.accounts[CarbonRegistry.bufferAccount]?.minted ?? 0) to the buffer), \(world.carbon.accounts.values.reduce(0) { $0 + $1.retired }) retired")
            print("  escrow (rupiah)              \(escrows.reduce(0) { $0 + $1.heldRupiah }) held, \(escrows.reduce(0) { $0 + $1.releasedRupiah }) released, \(escrows.reduce(0) { $0 + $1.refundedRupiah }) refunded, \(escrows.filter { !$0.isClosed }.count) open")
        }
        if !result.violations.isEmpty {
            printError("pahlawan: error: an invariant broke (replay with --seed \(seed)):\n" + result.violations.prefix(10).joined(separator: "\n"))
            throw ExitCode(1)
        }
        print("every invariant held after every step")
        loop.ledger.close()
        print("checkpoint:")
        print(loop.ledger.latestCheckpoint!.note, terminator: "")
        let verifyStarted = monotonicSeconds()
        let verified = LedgerVerifier.verify(directory: data.directory, key: loop.ledger.verifier, checkSignatures: true, checkBodies: true)
        if let failure = verified.failure {
            printError("pahlawan: error: verify failed: \(failure)")
            throw ExitCode(1)
        }
        print("verified \(verified.entries) entries (checksums, chain, hashes, index, tiles, signatures, bodies, tree against the checkpoint) in \(String(format: "%.2f", monotonicSeconds() - verifyStarted)) s")
        print("next: \(CommandLine.arguments[0]) verify --data-dir \(data.path) --signatures --bodies")
    }
}

extension Demo {
    /// `demo --serve`: the service starts on the data directory with the engines' clock at the
    /// simulated day; the simulated participants send their commands over HTTP; then the clock
    /// follows the wall clock and the service keeps serving, populated.
    func runServing() async throws {
        let day: Int64 = 86_400_000_000
        let clock = SimulatedClock(Ledger.wallClockMicroseconds() - Int64(days + 4) * day)
        let live = Atomic<Bool>(false)
        let engineClock: @Sendable () -> Int64 = { live.load(ordering: .relaxed) ? max(Ledger.wallClockMicroseconds(), clock.read()) : clock.read() }
        // Request lines would drown the summary; warnings and errors still show.
        let running = try await ServiceSetup.open(
            data: data, policies: policies, vault: vault, secrets: secrets, announce: true, clock: engineClock, logLevel: .warning,
            logisticsProvider: SimulatedLogisticsProvider(clock: clock))
        var logger = Logger(label: "pahlawan.server")
        logger.logLevel = .warning
        let service = running.service
        service.metrics.bootstrap()
        let loop = service.loop
        clock.set(max(clock.read(), loop.ledger.lastEntryTime + 1))
        let app = Service.application(router: service.router(), configuration: .init(address: .hostname(host, port: port)), logger: logger)
        let server = Task { try await app.runService() }
        let witnessing = running.startWitnessing()
        let base = "http://\(host):\(port)"
        try await Self.waitUntilLive(base)
        print("service up on \(base); sending the simulated city (seed \(seed), \(days) day(s)) over HTTP…")
        let http = HTTPSimulation(base: base, authority: service.authority, loop: loop)
        var simulator = CitySimulator(
            seed: seed, start: clock.read(), days: days, commandsPerDay: commandsPerDay, devices: .ed25519(seed: seed), digest: http.digest)
        // Over HTTP the tills sign their webhooks, so forged and stale deliveries are tried too.
        simulator.webhooksAreSigned = true
        let started = monotonicSeconds()
        let firstSeq = loop.ledger.size
        let report = try await http.run(&simulator, clock: clock) { print("  \($0) requests…") }
        let seconds = monotonicSeconds() - started
        live.store(true, ordering: .relaxed)
        _ = try await loop.ledger.checkpoint()
        let ticker = service.startTicker()
        print("sent \(report.requests) requests in \(String(format: "%.1f", seconds)) s; the ledger grew \(firstSeq) → \(loop.ledger.size) entries")
        print("entries by kind:")
        for (kind, count) in report.kinds.sorted(by: { $0.key < $1.key }) { print("  \(kind.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count)") }
        print("refused over HTTP (problem type → count; nothing was written for them):")
        for (name, count) in report.refusals.sorted(by: { $0.key < $1.key }) { print("  \(name.padding(toLength: 36, withPad: " ", startingAt: 0)) \(count)") }
        let company = loop.read { world in world.carbon.accounts.keys.filter { world.participants.participants[$0]?.role == .company }.sorted().first } ?? "cmp-jkt-0"
        let auditor = try await service.authority.mint(subject: "audit-1", role: .auditor)
        print("""

            the service keeps running on \(base) (Ctrl-C stops it and closes the ledger). Try, as an auditor:
              TOKEN=\(auditor)
              curl -s \(base)/checkpoint
              curl -s -H "Authorization: Bearer $TOKEN" '\(base)/v1/entries?kind=rescue.completed&limit=2'
              curl -s -H "Authorization: Bearer $TOKEN" \(base)/v1/entries/\(max(firstSeq, 1))
              curl -s -H "Authorization: Bearer $TOKEN" \(base)/v1/companies/\(company)/summary
              curl -s -H "Authorization: Bearer $TOKEN" '\(base)/v1/reports/csr/\(company)?format=csv'
              curl -s -H "Authorization: Bearer $TOKEN" '\(base)/v1/reports/tax/\(company)?year=\(Reports.civilYear(microseconds: Ledger.wallClockMicroseconds()))'
              curl -s \(base)/v1/reports/retirements
              curl -s \(base)/metrics | grep -E '^(ledger_entries|food_waste)'
            (tokens last 15 minutes; mint more with: \(CommandLine.arguments[0]) token --data-dir \(data.path) --role auditor --sub audit-1)
            """)
        fflush(nil)
        do {
            try await server.value
        } catch {
            ticker.cancel()
            await running.stopWitnessing(witnessing)
            loop.ledger.close()
            throw error
        }
        ticker.cancel()
        await running.stopWitnessing(witnessing)
        loop.ledger.close()
        print("stopped; the ledger is closed with a final checkpoint")
    }

    static func waitUntilLive(_ base: String) async throws {
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: base + "/health/live")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationFailure("the service did not come up on \(base)")
    }
}
