import Core
import Foundation
import Ledger
import Rescue
import Synchronization

enum CoreTestSupport {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var policies: String { repositoryRoot + "/policies" }

    static func makeTemporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "pahlawan-core-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A clock the test moves by hand (the simulator's time).
final class ManualClock: Sendable {
    private let value: Atomic<Int64>

    init(_ start: Int64) { value = Atomic(start) }

    func set(_ time: Int64) { value.store(time, ordering: .relaxed) }
    func read() -> Int64 { value.load(ordering: .relaxed) }
    var function: @Sendable () -> Int64 { { self.read() } }
}
