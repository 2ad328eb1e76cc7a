import Core
import Foundation
import Ledger
import Rescue
import Testing

/// The independent check the auction contract asks for: a simulated city's ledger, exported as
/// a bundle, handed to `audit/verify.py`, which shares no code with the engine and recomputes
/// every `auction.sold` price from the curve in its `auction.started` entry (FORMAT §7.12).
@Suite struct AuctionLedgerTests {
    @Test func verifyPyRecomputesEverySalePriceOfASimulatedCity() throws {
        let path = CoreTestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        // An evening surge in WIB (17:00), when the simulated providers auction.
        let start: Int64 = 1_795_453_200_000_000 + 17 * 3_600_000_000
        let clock = SimulatedClock(start)
        let loop = try Startup.open(data: DataDirectory(path), policies: CoreTestSupport.policies, clock: clock.function).loop
        defer { loop.ledger.close() }
        var simulator = CitySimulator(seed: 11, start: start, days: 1, commandsPerDay: 3_000, devices: .ed25519(seed: 11)) {
            loop.pickupCodeDigest(claim: $0, code: $1)
        }
        let report = try SimulationDriver.run(&simulator, through: loop, clock: clock)
        #expect(report.violations.isEmpty, "\(report.violations.prefix(3))")
        _ = try loop.ledger.checkpoint()
        let sales = try (0..<loop.ledger.size).filter { try loop.ledger.entry($0).body.kind == EntryKind.auctionSold.rawValue }.count
        #expect(sales > 0, "the simulated evening sold nothing at auction")
        let scans = try (0..<loop.ledger.size).filter { try loop.ledger.entry($0).body.kind == EntryKind.scanAttested.rawValue }.count
        #expect(scans > 0, "the simulated evening attested no scan")

        let bundle = try Bundle.export(from: loop.ledger, from: 0, to: loop.ledger.size)
        let bundlePath = path + "/bundle.json"
        FileManager.default.createFile(atPath: bundlePath, contents: bundle)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [CoreTestSupport.repositoryRoot + "/audit/verify.py", bundlePath, "--key", loop.ledger.verifier.text]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output.prefix(2_000))")
        #expect(output.contains("; \(sales) auction sale prices recomputed from their curves"), "\(output.prefix(500))")
        // verify.py checks each device signature itself (FORMAT §7.14), with the keys the bundle's
        // device.registered entries name.
        #expect(output.contains("; \(scans) scan signatures verified with their devices' keys"), "\(output.prefix(500))")
    }
}
