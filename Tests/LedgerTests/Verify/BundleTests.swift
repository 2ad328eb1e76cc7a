import Foundation
import Testing
@testable import Ledger

/// Bundles exported by the Swift code verify with both verifiers, and every tampered variant
/// fails with both: ours (`Bundle.verify`) and the independent `audit/verify.py`.
@Suite struct BundleTests {
    static let key = TestSupport.signingKey

    static func python() throws -> String {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) {
            if try run(candidate, ["-c", "import nacl"]).status == 0 { return candidate }
        }
        throw LedgerError(.notFound, "no python3 with PyNaCl; `make deps` installs python3-nacl")
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func pythonVerdict(_ bundle: Data, key: String) throws -> (status: Int32, output: String) {
        let path = TestSupport.makeTemporaryDirectory() + "/bundle.json"
        FileManager.default.createFile(atPath: path, contents: bundle)
        return try run(try python(), [TestSupport.repositoryRoot + "/audit/verify.py", path, "--key", key])
    }

    static func exported(from start: UInt64, to end: UInt64) throws -> Data {
        let (ledger, _) = try TestSupport.makeLedger(entries: 40)
        return try Bundle.export(from: ledger, from: start, to: end)
    }

    static func edit(_ data: Data, _ change: (inout [String: Any]) -> Void) -> Data {
        var object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        change(&object)
        return try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    static func editEntry(_ data: Data, _ index: Int, _ change: @escaping (inout [String: Any]) -> Void) -> Data {
        edit(data) { bundle in
            var entries = bundle["entries"] as! [[String: Any]]
            change(&entries[index])
            bundle["entries"] = entries
        }
    }

    @Test func anExportedBundleVerifiesWithBothVerifiers() throws {
        for (start, end) in [(UInt64(0), UInt64(40)), (17, 23), (39, 40)] {
            let bundle = try Self.exported(from: start, to: end)
            let verdict = Bundle.verify(bundle, key: Self.key.verifier)
            #expect(verdict.isValid, "\(verdict.failures)")
            #expect(verdict.entriesChecked == Int(end - start))
            let python = try Self.pythonVerdict(bundle, key: Self.key.verifier.text)
            #expect(python.status == 0, "\(python.output)")
            #expect(python.output.contains("OK"))
        }
    }

    @Test func everyTamperedBundleFailsWithBothVerifiers() throws {
        let bundle = try Self.exported(from: 10, to: 15)
        let otherKey = try SigningKey(name: Checkpoint.defaultOrigin, seed: [UInt8](repeating: 3, count: 32))
        let forgedBody: (inout [String: Any]) -> Void = { entry in
            var body = Base64.decode(entry["body"] as! String)!
            let text = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\"grams\":1012", with: "\"grams\":9012")
            body = Array(text.utf8)
            entry["body"] = Base64.encode(body)
        }
        let tampered: [(String, Data, VerifierKey)] = [
            ("changed grams in a body", Self.editEntry(bundle, 2, forgedBody), Self.key.verifier),
            ("changed grams and its leaf hash", Self.editEntry(bundle, 2) { entry in
                forgedBody(&entry)
                entry["leaf_hash"] = MerkleHash.leaf(Base64.decode(entry["body"] as! String)!).base64
            }, Self.key.verifier),
            ("flipped signature", Self.editEntry(bundle, 0) { entry in
                var signature = Base64.decode(entry["signature"] as! String)!
                signature[5] ^= 1
                entry["signature"] = Base64.encode(signature)
            }, Self.key.verifier),
            ("truncated proof", Self.editEntry(bundle, 4) { entry in
                entry["proof"] = Array((entry["proof"] as! [String]).dropLast())
            }, Self.key.verifier),
            ("an entry dropped from the middle", Self.edit(bundle) { object in
                var entries = object["entries"] as! [[String: Any]]
                entries.remove(at: 2)
                object["entries"] = entries
            }, Self.key.verifier),
            ("checkpoint size changed", Self.edit(bundle) { object in
                object["checkpoint"] = (object["checkpoint"] as! String).replacingOccurrences(of: "\n40\n", with: "\n41\n")
            }, Self.key.verifier),
            ("non-canonical body (space added)", Self.editEntry(bundle, 1) { entry in
                let text = String(decoding: Base64.decode(entry["body"] as! String)!, as: UTF8.self)
                entry["body"] = Base64.encode(Array(text.replacingOccurrences(of: ",\"v\"", with: ", \"v\"").utf8))
            }, Self.key.verifier),
            ("previous anchor altered", Self.edit(bundle) { object in
                var previous = object["previous"] as! [String: Any]
                previous["leaf_hash"] = MerkleHash.emptyRoot.base64
                object["previous"] = previous
            }, Self.key.verifier),
            ("checked against another key", bundle, otherKey.verifier),
        ]
        for (name, data, key) in tampered {
            #expect(!Bundle.verify(data, key: key).isValid, "swift accepted: \(name)")
            let python = try Self.pythonVerdict(data, key: key.text)
            #expect(python.status == 1, "python accepted: \(name): \(python.output)")
            #expect(python.output.contains("FAIL"), "\(name)")
        }
    }
}
