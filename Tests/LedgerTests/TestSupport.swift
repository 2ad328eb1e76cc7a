import Foundation
@testable import Ledger

/// Paths and fixtures shared by the tests.
enum TestSupport {
    /// The repository root, found from this file's location.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func makeTemporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "pahlawan-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A fixed signing key, so golden vectors are reproducible.
    static let signingKey = try! SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 7, count: 32))

    static func draft(_ number: Int, time: Int64? = nil) -> EntryDraft {
        EntryDraft(
            time: time ?? 1_795_453_200_000_000 + Int64(number) * 1_000,
            kind: "surplus.posted", actor: "prv-jkt-\(number % 40)",
            payload: ["offer": .string("off-\(number)"), "grams": .integer(Int64(1_000 + number)), "priceRupiah": 0])
    }

    /// A ledger with `count` entries and a checkpoint covering all of them.
    static func makeLedger(entries count: Int, batch: Int = 50) throws -> (Ledger, String) {
        let path = makeTemporaryDirectory()
        let ledger = try Ledger(directory: DataDirectory(path), signer: signingKey)
        var appended = 0
        while appended < count {
            let size = min(batch, count - appended)
            try ledger.append((appended..<appended + size).map { draft($0) })
            appended += size
        }
        try ledger.checkpoint()
        return (ledger, path)
    }
}
