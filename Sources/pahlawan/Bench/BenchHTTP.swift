import ArgumentParser
import AsyncHTTPClient
import Compliance
import Core
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Ledger
import Logging
import Rescue
import Server

/// `pahlawan bench http`: the service end to end over loopback, against a trivial Hummingbird
/// route measured in the same run (the machine's HTTP limit with this stack).
struct BenchHTTP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "The service over loopback with wrk: POST /v1/claims and GET /v1/entries/{seq} with proof against a trivial Hummingbird route in the same run; claim latency at a fixed open-loop rate.",
        discussion: """
            Needs wrk (`apt-get install wrk`, or `make bench-deps`). The ledger is first filled to --entries entries of \
            simulated city traffic (kept and reused with --data-dir). Figures: trivial_requests_per_second (a bare \
            Hummingbird route, the limit), claim_requests_per_second (auth, engine, durable append) and its ratio, \
            entry_read_requests_per_second (auth, read, inclusion proof) and its ratio, and the claim latency p50/p99/max \
            at --rate requests per second sent open loop (measured from each request's scheduled time).
            """)

    @Option(help: "Ledger size for the read benchmark.") var entries = 1_000_000
    @Option(help: "Seconds per wrk run and for the open-loop run.") var duration = 10
    @Option(help: "wrk connections.") var connections = 64
    @Option(help: "wrk threads.") var threads = 2
    @Option(help: "Open-loop claim rate (requests per second).") var rate = 2_000
    @Option(help: "Port of the service (the trivial route uses the next one).") var port = 18_480
    @Option(help: "The policy directory.") var policies = "policies"
    @Flag(help: "Measure the entry reads only (no claims; for profiling).") var readsOnly = false
    @OptionGroup var bench: BenchOptions

    func validate() throws {
        guard entries >= 1_000, duration >= 1, connections >= 1, threads >= 1, rate >= 1 else { throw ValidationError("all figures must be positive (entries ≥ 1,000)") }
    }

    func run() async throws {
        guard let wrk = Self.executable("wrk") else {
            printError("pahlawan: error: wrk is not installed: apt-get install wrk (or make bench-deps)")
            throw ExitCode(1)
        }
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        let data = DataDirectory(directory.path + "/data")
        try fill(data)
        log("opening the service on \(data.path) (replaying the ledger)…")
        let opened = try report { try Startup.open(data: data, policies: policies) }
        let loop = opened.loop
        var settings = try report { try ServiceSettings.load(policies: policies) }
        // The figures are the service's, not the rate limiter's.
        settings.limits = LimitsPolicy(
            perPrincipalPerMinute: [:], defaultPerPrincipalPerMinute: 1_000_000_000, perAddressPerMinute: 1_000_000_000, requestTimeoutSeconds: 5,
            concurrentRequestsMax: 100_000, bodyBytesMax: 65_536)
        var quiet = Logger(label: "bench")
        quiet.logLevel = .error
        let vault = try report { try PIIVault(directory: directory.path + "/vault", masterKey: Sodium.randomBytes(32)) }
        let authority = try await TokenAuthority(seed: Sodium.randomBytes(32))
        let service = Service(loop: loop, authority: authority, settings: settings, vault: vault, maskingSecret: Sodium.randomBytes(32), logger: quiet)
        let app = Service.application(router: service.router(), configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: quiet)
        let trivialRouter = Router()
        trivialRouter.get("/trivial") { _, _ in "ok" }
        let trivial = Application(router: trivialRouter, configuration: .init(address: .hostname("127.0.0.1", port: port + 1)), logger: quiet)
        let servers = [Task { try await app.runService() }, Task { try await trivial.runService() }]
        defer { for server in servers { server.cancel() } }
        try await Demo.waitUntilLive("http://127.0.0.1:\(port)")

        // Offers to claim, one claim each (a claim moves the offer's version): enough for wrk
        // at up to 20,000 claims/s, and for the open-loop run.
        let wrkOffers = readsOnly ? 0 : 20_000 * duration
        let openOffers = readsOnly ? 0 : rate * duration + rate
        // Offers of earlier runs on a kept ledger are claimed already: this run's have its own names.
        let run = String(Ledger.wallClockMicroseconds() / 1_000_000, radix: 36)
        log("posting \(wrkOffers + 2 * openOffers) offers to claim…")
        try await Self.prepareClaims(loop, run: run, wrkOffers: wrkOffers, openOffers: openOffers)
        _ = try await loop.ledger.checkpoint()
        let readable = loop.ledger.latestCheckpoint!.checkpoint.size
        let base = "http://127.0.0.1:\(port)"
        let claimant = try await authority.mint(subject: "bench-ngo", role: .recipient)
        let auditor = try await authority.mint(subject: "bench-auditor", role: .auditor)

        log("wrk: trivial route…")
        let trivialRun = try Wrk(path: wrk, threads: threads, connections: connections, seconds: duration).run(url: "http://127.0.0.1:\(port + 1)/trivial", script: nil)
        log("wrk: GET /v1/entries/{seq} over \(readable) entries…")
        let readRun = try Wrk(path: wrk, threads: threads, connections: connections, seconds: duration).run(
            url: base + "/v1/entries/0", script: Self.readScript(token: auditor, size: readable))
        // Console pages (issue 18: ≤ 50 ms p99 each), once the report facts and the health
        // page's activity are folded, as `serve` folds them at start.
        service.warmReports()
        while service.reportBook.foldedSize < readable { try await Task.sleep(for: .milliseconds(200)) }
        let company = loop.read { world in
            world.participants.participants.values.filter { $0.role == .company }.map(\.id).sorted().first ?? "cmp-none"
        }
        let consolePages: [(name: String, path: String, script: String?)] = [
            ("console_health", "/console", nil),
            ("console_entry", "/console/entries/0", Self.readScript(token: auditor, size: readable, prefix: "/console/entries/", cookie: true)),
            ("console_explorer", "/console/entries?kind=rescue.completed", Self.pageScript(cookie: auditor, path: "/console/entries?kind=rescue.completed")),
            ("console_company_csr", "/console/companies/\(company)", Self.pageScript(cookie: auditor, path: "/console/companies/\(company)")),
            ("console_company_tax", "/console/companies/\(company)/tax", Self.pageScript(cookie: auditor, path: "/console/companies/\(company)/tax")),
            ("console_retirements", "/console/carbon/retirements", nil),
        ]
        // The health page's activity is folded after the report facts: one request waits for it.
        _ = try await URLSession(configuration: .ephemeral).data(from: URL(string: base + "/console")!)
        var consoleRuns: [(name: String, result: Wrk.Result)] = []
        // The target is a page's render time, so two readers at once (wrk -t1 -c2), not a
        // saturating load whose p99 would be queueing behind 64 connections on two cores.
        let readers = Wrk(path: wrk, threads: 1, connections: 2, seconds: duration)
        for page in consolePages {
            log("wrk: GET \(page.path) (console, 2 readers)…")
            // One second unmeasured first: the first read of a report folds what is new.
            _ = try Wrk(path: wrk, threads: 1, connections: 2, seconds: 1).run(url: base + page.path, script: page.script)
            consoleRuns.append((page.name, try readers.run(url: base + page.path, script: page.script)))
        }
        var claimRun = Wrk.Result()
        var claimsWritten = 0
        var open = OpenLoop.Result()
        var paced = Wrk.Result()
        if !readsOnly {
            log("wrk: POST /v1/claims…")
            let claimsBefore = loop.read { $0.offers.claims.count }
            claimRun = try Wrk(path: wrk, threads: threads, connections: connections, seconds: duration).run(
                url: base + "/v1/claims", script: Self.claimScript(token: claimant, prefix: "off-bw-\(run)-", threads: threads))
            claimsWritten = loop.read { $0.offers.claims.count } - claimsBefore
            // wrk paced near the rate (each of rate/40 connections waits 20 ms after an answer,
            // so about 25 ms a round at 5 ms latency): a cheap client, but closed loop (a stall
            // delays the next requests instead of showing), and the rate it reached is printed.
            log("wrk paced at about \(rate) claims/s…")
            let pacedConnections = max(1, rate / 40)
            paced = try Wrk(path: wrk, threads: min(threads, pacedConnections), connections: pacedConnections, seconds: duration).run(
                url: base + "/v1/claims", script: Self.claimScript(token: claimant, prefix: "off-bp-\(run)-", threads: min(threads, pacedConnections), delayMilliseconds: 20))
            log("open loop: \(rate) claims/s for \(duration) s…")
            // In its own process, so the load generator does not share the service's threads.
            open = try OpenLoop.inSubprocess(base: base, token: claimant, prefix: "off-bo-\(run)-", rate: rate, seconds: duration)
        }
        // The POS webhook and the trivial route through one in-process closed-loop client (wrk
        // cannot sign each request): the ratio of the two is the target's figure.
        var webhook = WebhookLoad.Result()
        var clientTrivial = WebhookLoad.Result()
        if !readsOnly {
            log("POS webhooks: signing \(4_000 * duration) end-of-day reports…")
            let (connection, signed) = try await WebhookLoad.prepare(loop, run: run, count: 4_000 * duration)
            log("closed loop: POST /v1/pos/\(connection)/events and the trivial route, \(connections) in flight…")
            clientTrivial = try await WebhookLoad.run(
                url: "http://127.0.0.1:\(port + 1)/trivial", method: .GET, requests: nil, concurrency: connections, seconds: duration)
            webhook = try await WebhookLoad.run(url: base + "/v1/pos/\(connection)/events", method: .POST, requests: signed, concurrency: connections, seconds: duration)
            if let failure = webhook.firstFailure { log("first failed webhook: \(failure)") }
        }
        loop.ledger.close()
        if let failure = open.firstFailure { log("first failed open-loop claim: \(failure.prefix(300))") }

        let trivialRate = trivialRun.requestsPerSecond
        bench.emit("bench http (\(threads) wrk threads, \(connections) connections, \(duration) s per run, ledger of \(readable) entries)", [
            ("trivial_requests_per_second", .number(trivialRate, digits: 0)),
            ("claim_requests_per_second", .number(claimRun.requestsPerSecond, digits: 0)),
            ("ratio_claim_to_trivial", .number(claimRun.requestsPerSecond / trivialRate, digits: 3)),
            ("claim_non_2xx", .integer(claimRun.non2xx)),
            ("claims_written", .integer(claimsWritten)),
            ("claim_wrk_p99_ms", .number(claimRun.p99Milliseconds, digits: 2)),
            ("entry_read_requests_per_second", .number(readRun.requestsPerSecond, digits: 0)),
            ("ratio_entry_read_to_trivial", .number(readRun.requestsPerSecond / trivialRate, digits: 3)),
            ("entry_read_non_2xx", .integer(readRun.non2xx)),
            ("entry_read_wrk_p99_ms", .number(readRun.p99Milliseconds, digits: 2)),
            ("paced_claims_per_second", .number(paced.requestsPerSecond, digits: 0)),
            ("paced_claim_non_2xx", .integer(paced.non2xx)),
            ("paced_claim_wrk_p99_ms", .number(paced.p99Milliseconds, digits: 2)),
            ("open_loop_claims_per_second", .integer(rate)),
            ("open_loop_claims_sent", .integer(open.sent)),
            ("open_loop_claims_failed", .integer(open.failed)),
            ("open_loop_claim_p50_ms", .number(open.p50, digits: 2)),
            ("open_loop_claim_p99_ms", .number(open.p99, digits: 2)),
            ("open_loop_claim_max_ms", .number(open.max, digits: 2)),
            ("client_trivial_requests_per_second", .number(clientTrivial.requestsPerSecond, digits: 0)),
            ("pos_webhook_requests_per_second", .number(webhook.requestsPerSecond, digits: 0)),
            ("ratio_pos_webhook_to_trivial", .number(clientTrivial.requestsPerSecond > 0 ? webhook.requestsPerSecond / clientTrivial.requestsPerSecond : 0, digits: 3)),
            ("pos_webhook_non_2xx", .integer(webhook.non2xx)),
        ] + consoleRuns.flatMap { name, result -> [(String, BenchValue)] in
            [
                ("\(name)_requests_per_second", .number(result.requestsPerSecond, digits: 0)),
                ("\(name)_non_2xx", .integer(result.non2xx)),
                ("\(name)_wrk_p99_ms", .number(result.p99Milliseconds, digits: 2)),
                ("\(name)_ratio_p99_to_50ms_target", .number(result.p99Milliseconds / 50, digits: 3)),
            ]
        })
    }

    private func log(_ text: String) {
        if !bench.json { print(text) }
        fflush(nil)
    }

    /// Fills the ledger with simulated traffic up to `entries` (a smaller existing ledger is
    /// replaced, a larger one reused).
    private func fill(_ data: DataDirectory) throws {
        let policySet = try report { try PolicySet.load(directory: policies) }
        if data.exists, let key = try? data.loadVerifierKey(), let existing = try? Ledger(directory: data, signer: nil, verifier: key) {
            let size = existing.size
            existing.close()
            if size >= UInt64(entries) { return }
        }
        try? FileManager.default.removeItem(atPath: data.path)
        log("filling a ledger with \(entries) entries of simulated traffic…")
        let written = SimulatedLedger.events(entries: entries, seed: 1, policy: policySet.rescue)
        let key = try report { try data.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin).key }
        let ledger = try report { try Ledger(directory: data, signer: key) }
        try report { try SimulatedLedger.append(written.prefix(entries), to: ledger, policy: policySet.hash) }
        ledger.close()
    }

    /// A company with a site in Jayapura, far from every simulated recipient, and a recipient
    /// in Surabaya that no Jayapura offer is matched to: every offer is open to it (a claim on
    /// an offer reserved for a matched recipient would be refused). Offers of one portion,
    /// posted concurrently.
    static func prepareClaims(_ loop: CommandLoop, run: String, wrkOffers: Int, openOffers: Int) async throws {
        let setup: [RescueCommand] = [
            .register(.init(id: "bench-cmp", role: .company, region: "ID-JK")),
            .register(.init(id: "bench-site", role: .site, company: "bench-cmp", region: "ID-PA", latitude: -2_533_700, longitude: 140_718_100)),
            .register(.init(
                id: "bench-ngo", role: .recipient, region: "ID-JI", latitude: -7_257_500, longitude: 112_752_100, registrationNumber: "AHU-B",
                capacityPortions: 1_000_000, acceptedCategories: ["bakery"], serviceRadiusMetres: 1_000, headcountServed: 100)),
        ]
        for command in setup {
            do throws(CommandError) {
                try await loop.execute(command, actor: CitySimulator.operatorActor)
            } catch {
                guard case .rejected(let rejection) = error, rejection.name == "participantAlreadyRegistered" else { throw error }
            }
        }
        // Entry times never go back: a simulated ledger may end after today.
        let expiresAt = max(Ledger.wallClockMicroseconds(), loop.ledger.lastEntryTime) + 6 * 3_600_000_000
        let ids = (0..<wrkOffers).map { "off-bw-\(run)-\($0)" } + (0..<openOffers).flatMap { ["off-bo-\(run)-\($0)", "off-bp-\(run)-\($0)"] }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for part in 0..<64 {
                group.addTask {
                    for index in stride(from: part, to: ids.count, by: 64) {
                        let post = OfferPost(
                            id: ids[index], provider: "bench-site", category: "bakery", grams: 400, portions: 1, latitude: -2_533_700, longitude: 140_718_100,
                            temperature: .ambient, expiresAt: expiresAt, priceRupiah: 0, now: 0)
                        try await loop.execute(.post(post), actor: "bench-site")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Each wrk thread claims its own share of the offers, in turn.
    static func claimScript(token: String, prefix: String, threads: Int, delayMilliseconds: Int? = nil) -> String {
        (delayMilliseconds.map { "function delay()\n  return \($0)\n end\n" } ?? "") + """
        local counter = 0
        local next_thread = 0
        function setup(thread)
          thread:set("tid", next_thread)
          next_thread = next_thread + 1
        end
        function request()
          local index = counter * \(threads) + tid
          counter = counter + 1
          local body = '{"offer":"\(prefix)' .. index .. '","seenVersion":1,"portions":1}'
          return wrk.format("POST", "/v1/claims", {["Authorization"] = "Bearer \(token)", ["Content-Type"] = "application/json"}, body)
        end
        """
    }

    /// Random entries of the checkpointed ledger, each with its inclusion proof (or, with
    /// `cookie`, the console's entry page, signed in by the session cookie).
    static func readScript(token: String, size: UInt64, prefix: String = "/v1/entries/", cookie: Bool = false) -> String {
        let header = cookie ? "[\"Cookie\"] = \"pt_session=\(token)\"" : "[\"Authorization\"] = \"Bearer \(token)\""
        return """
            function init(args)
              math.randomseed(os.time() + (tid or 0))
            end
            function request()
              return wrk.format("GET", "\(prefix)" .. math.random(0, \(size - 1)), {\(header)})
            end
            """
    }

    /// One console page, signed in by the session cookie.
    static func pageScript(cookie token: String, path: String) -> String {
        """
        function request()
          return wrk.format("GET", "\(path)", {["Cookie"] = "pt_session=\(token)"})
        end
        """
    }

    static func executable(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// One wrk run and what it printed.
struct Wrk {
    let path: String
    let threads: Int
    let connections: Int
    let seconds: Int

    struct Result {
        var requestsPerSecond = 0.0
        var non2xx = 0
        var p99Milliseconds = 0.0
    }

    func run(url: String, script: String?) throws -> Result {
        var arguments = ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency"]
        var scriptPath: String?
        if let script {
            let path = NSTemporaryDirectory() + "pahlawan-wrk-\(UUID().uuidString).lua"
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            arguments += ["-s", path]
            scriptPath = path
        }
        defer { if let scriptPath { try? FileManager.default.removeItem(atPath: scriptPath) } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments + [url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationFailure("wrk failed: \(output)") }
        return Self.parse(output)
    }

    static func parse(_ output: String) -> Result {
        var result = Result()
        for line in output.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), let value = parts.last.flatMap({ Double($0) }) { result.requestsPerSecond = value }
            if line.hasPrefix("Non-2xx or 3xx responses:"), let value = parts.last.flatMap({ Int($0) }) { result.non2xx = value }
            if line.hasPrefix("99%"), let value = parts.last { result.p99Milliseconds = milliseconds(String(value)) }
        }
        return result
    }

    /// wrk's durations: `812.00us`, `1.23ms`, `2.01s`.
    static func milliseconds(_ text: String) -> Double {
        for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(unit) {
            return (Double(text.dropLast(unit.count)) ?? 0) * scale
        }
        return 0
    }
}

/// `pahlawan bench load` (hidden): the open-loop claim generator of `bench http`, run as its own
/// process; prints one JSON object.
struct BenchLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Open-loop claims (used by bench http).", shouldDisplay: false)

    @Option var url: String
    @Option var token: String
    @Option var prefix: String
    @Option var rate: Int
    @Option var seconds: Int

    func run() async throws {
        let result = try await OpenLoop.claims(base: url, token: token, prefix: prefix, rate: rate, seconds: seconds)
        let object: [String: Any] = [
            "sent": result.sent, "failed": result.failed, "p50": result.p50, "p99": result.p99, "max": result.max,
            "firstFailure": result.firstFailure ?? "",
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }
}

/// Claims sent at a fixed rate whatever the answers do (open loop), each timed from the moment
/// it was due, so a stall shows in the latencies instead of slowing the sender.
enum OpenLoop {
    /// Runs `claims` in a child process of this executable and reads its figures.
    static func inSubprocess(base: String, token: String, prefix: String, rate: Int, seconds: Int) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["bench", "load", "--url", base, "--token", token, "--prefix", prefix, "--rate", String(rate), "--seconds", String(seconds)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw ValidationFailure("the load generator failed: \(String(decoding: output, as: UTF8.self))")
        }
        let failure = object["firstFailure"] as? String ?? ""
        return Result(
            sent: object["sent"] as? Int ?? 0, failed: object["failed"] as? Int ?? 0, firstFailure: failure.isEmpty ? nil : failure,
            p50: object["p50"] as? Double ?? 0, p99: object["p99"] as? Double ?? 0, max: object["max"] as? Double ?? 0)
    }

    struct Result {
        var sent = 0
        var failed = 0
        var firstFailure: String?
        var p50 = 0.0
        var p99 = 0.0
        var max = 0.0
    }

    static func claims(base: String, token: String, prefix: String, rate: Int, seconds: Int) async throws -> Result {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let total = rate * seconds
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (Double, String?).self) { group in
            for index in 0..<total {
                let due = start + .nanoseconds(Int64(index) * 1_000_000_000 / Int64(rate))
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                group.addTask {
                    var request = HTTPClientRequest(url: base + "/v1/claims")
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer " + token)
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"offer":"\#(prefix)\#(index)","seenVersion":1,"portions":1}"#))
                    var failure: String?
                    do {
                        let response = try await client.execute(request, timeout: .seconds(30))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        if response.status != .created { failure = "\(response.status.code) \(String(buffer: body))" }
                    } catch {
                        failure = "\(error)"
                    }
                    let elapsed = ContinuousClock.now - due
                    return (Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15, failure)
                }
            }
            var collected = [(Double, String?)]()
            for try await result in group { collected.append(result) }
            return collected
        }
        try await client.shutdown()
        let latencies = results.map(\.0).sorted()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        let failures = results.compactMap(\.1)
        return Result(
            sent: total, failed: failures.count, firstFailure: failures.first, p50: percentile(0.5), p99: percentile(0.99), max: latencies.last ?? 0)
    }
}
