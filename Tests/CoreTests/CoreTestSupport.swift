import Core
import Foundation
import Ledger
import Rescue

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
