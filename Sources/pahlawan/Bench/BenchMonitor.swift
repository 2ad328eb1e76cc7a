import ArgumentParser
import Foundation
import Hummingbird
import Ledger
import Logging
import Witness

/// `pahlawan bench monitor`: `Monitor` following a local log from scratch over loopback HTTP
/// (`/checkpoint` and the C2SP tiles, served from the ledger in the same process), against the
/// raw leaf-hash rate over the average body on one core, measured in the same run.
struct BenchMonitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "The monitor catching up with a local log of --entries entries over loopback, from scratch: entries/s against the raw SHA-256 leaf-hash rate (one core).")

    @Option(help: "Log size (the ledger is filled up to it first).") var entries: UInt64 = 1_000_000
    @Option(help: "Entry bundles the monitor fetches ahead.") var fetches = 8
    @OptionGroup var bench: BenchOptions

    func validate() throws {
        guard entries >= 1, fetches >= 1 else { throw ValidationError("--entries and --fetches must be positive") }
    }

    func run() async throws {
        let (directory, isTemporary) = try bench.directory()
        defer { if isTemporary { try? FileManager.default.removeItem(atPath: directory.path) } }
        try fillLedger(directory, to: entries, quiet: bench.json)
        let key = try report { try directory.loadVerifierKey() }
        let ledger = try report { try Ledger(directory: directory, signer: nil, verifier: key) }
        defer { ledger.close() }
        guard let (_, checkpoint) = ledger.latestCheckpoint else { throw ValidationError("the ledger has no checkpoint") }

        var quiet = Logger(label: "bench")
        quiet.logLevel = .critical
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: Self.router(ledger), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portSink.yield($0.localAddress?.port ?? 0) }, logger: quiet)
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        var port = 0
        for await bound in ports {
            port = bound
            break
        }

        let state = directory.path + "/monitor-state-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let monitor: Monitor
        do {
            monitor = try Monitor(.init(url: "http://127.0.0.1:\(port)", logKey: key, stateDirectory: state, fetchesInFlight: fetches))
        } catch {
            throw MonitorCommand.stop(error)
        }
        if !bench.json { printError("following \(checkpoint.size) entries over http://127.0.0.1:\(port)…") }
        let started = monotonicSeconds()
        let progress: Monitor.Progress?
        do {
            progress = try await monitor.poll()
        } catch {
            throw MonitorCommand.stop(error)
        }
        let seconds = monotonicSeconds() - started
        await monitor.close()
        let verified = progress?.verifiedEntries ?? 0
        guard verified == checkpoint.size else {
            printError("pahlawan: error: the monitor verified \(verified) entries, not \(checkpoint.size)")
            throw ExitCode(1)
        }
        let perSecond = Double(verified) / seconds
        let averageBody = averageBodyByteCount(directory, entries: verified)
        let rawHash = PhysicalLimits.leafHashesPerSecond(byteCount: averageBody)
        bench.emit(
            "bench monitor: \(verified) entries followed from scratch over loopback (bundles, hash tiles, every body decoded and chained, root checked)",
            [
                ("entries", .integer(Int(verified))),
                ("seconds", .number(seconds, digits: 3)),
                ("entries_per_second", .number(perSecond, digits: 0)),
                ("average_body_bytes", .integer(averageBody)),
                ("raw_leaf_hash_per_second", .number(rawHash, digits: 0)),
                ("ratio_to_leaf_hash", .number(perSecond / rawHash, digits: 3)),
                ("ratio_to_target_100k", .number(perSecond / 100_000, digits: 3)),
                ("fetches_in_flight", .integer(fetches)),
                ("cores", .integer(ProcessInfo.processInfo.activeProcessorCount)),
                ("peak_rss_bytes", .integer(PhysicalLimits.peakResidentBytes())),
            ])
    }

    /// The log's public reads a monitor uses, straight from the ledger: `/checkpoint` and
    /// `/tile/**` (no rate limit, no cosignatures), as the service serves them.
    static func router(_ ledger: Ledger) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/checkpoint") { _, _ -> Response in
            guard let (note, _) = ledger.latestCheckpoint else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: note)))
        }
        router.get("/tile/**") { request, _ -> Response in
            guard let tile = TilePath.parse(String(request.uri.path.dropFirst("/tile/".count))), let bytes = try ledger.tileBytes(tile) else {
                return Response(status: .notFound)
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return router
    }
}

/// The average entry body in the segments of `directory` (record framing and signature taken off).
func averageBodyByteCount(_ directory: DataDirectory, entries: UInt64) -> Int {
    let logBytes = (try? FileManager.default.contentsOfDirectory(atPath: directory.logDirectory))?.filter { $0.hasSuffix(".seg") }
        .reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: directory.logDirectory + "/" + name)[.size] as? Int) ?? 0)
        } ?? 0
    return max(1, logBytes / Int(max(entries, 1)) - 72)
}
