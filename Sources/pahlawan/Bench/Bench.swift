import ArgumentParser
import Foundation
import Synchronization
import Ledger

/// `pahlawan bench …`: performance figures, each with the machine limit measured in the same run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the ledger's and the engines' speed against this machine's own limits (release builds only give meaningful figures).",
        subcommands: [BenchAppend.self, BenchScans.self, BenchDispatch.self, BenchWitness.self, BenchProof.self, BenchOpen.self, BenchVerify.self, BenchEngine.self, BenchHTTP.self, BenchLoad.self, BenchTrivialServer.self, BenchMirror.self, BenchMonitor.self])
}

/// Options every bench command shares.
struct BenchOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Keep the ledger here (reused and topped up when it exists) instead of a temporary directory.")
    var dataDirectory: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    /// The data directory to use and whether it is temporary (removed afterwards).
    func directory() throws -> (DataDirectory, isTemporary: Bool) {
        if let dataDirectory {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            return (DataDirectory(dataDirectory), false)
        }
        let path = FileManager.default.currentDirectoryPath + "/.bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return (DataDirectory(path), true)
    }

    /// Prints the figures as aligned text lines or as one JSON object (keys in the given order).
    func emit(_ title: String, _ figures: [(String, BenchValue)]) {
        if json {
            let members = figures.map { "\"\($0.0)\":\($0.1.json)" }
            print("{" + members.joined(separator: ",") + "}")
        } else {
            print(title)
            for (key, value) in figures { print("  \(key.padding(toLength: 32, withPad: " ", startingAt: 0)) \(value.text)") }
        }
    }
}

/// A figure as printed by a bench command.
enum BenchValue {
    case integer(Int)
    case number(Double, digits: Int)
    case text(String)

    var json: String {
        switch self {
        case .integer(let value): String(value)
        case .number(let value, let digits): String(format: "%.\(digits)f", value)
        case .text(let value): "\"\(value)\""
        }
    }

    var text: String {
        switch self {
        case .integer(let value): String(value)
        case .number(let value, let digits): String(format: "%.\(digits)f", value)
        case .text(let value): value
        }
    }
}

/// Appends synthetic entries until the ledger holds `target`, fast (large batches from several
/// threads), and closes it. Used to prepare the ledgers that `bench proof|open|verify` measure.
func fillLedger(_ directory: DataDirectory, to target: UInt64, quiet: Bool) throws {
    let (key, _) = try report { try directory.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin) }
    let ledger = try report { try Ledger(directory: directory, signer: key) }
    defer { ledger.close() }
    let start = ledger.size
    guard start < target else { return }
    if !quiet { printError("filling \(directory.path) from \(start) to \(target) entries…") }
    let writers = 4
    let started = monotonicSeconds()
    let failure = runConcurrently(writers) { writer in
        var day = SyntheticDay(seed: UInt64(writer + 1) &* 7919 &+ start, start: 0, entries: Int(target - start))
        var next = start + UInt64(writer) * 2_048
        while next < target {
            let count = Int(min(2_048, target - next))
            var drafts = day.next(count)
            for index in drafts.indices { drafts[index].time = nil }
            try ledger.append(drafts)
            next += UInt64(writers) * 2_048
        }
    }
    if let failure { throw failure }
    if !quiet {
        let seconds = monotonicSeconds() - started
        printError("filled \(target - start) entries in \(String(format: "%.1f", seconds)) s")
    }
}

/// Runs `body(0..<count)` on `count` threads of their own (callers may block); returns the first error.
func runConcurrently(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> Error? {
    let failure = Locked<Error?>(nil)
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            do { try body(index) } catch {
                failure.withLock { if $0 == nil { $0 = error } }
            }
            group.leave()
        }.start()
    }
    group.wait()
    return failure.withLock { $0 }
}

/// Runs async work from a synchronous command and waits for it.
func runAsync<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Handoff<Result<T, Error>>()
    Task {
        do { result.fulfil(.success(try await body())) } catch { result.fulfil(.failure(error)) }
    }
    return try result.wait().get()
}

/// Sorted-sample percentile (nearest rank).
func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}
