import Foundation
import Ledger
import Testing
@testable import Compliance

/// `policies/witnesses.yaml`: a careless or hostile edit stops the service with file, line and
/// reason; a missing file means no witnesses.
@Suite struct WitnessPolicyTests {
    static let witnessKey = try! SigningKey(name: "witness.pajak.go.id/w1", seed: [UInt8](repeating: 1, count: 32), type: .cosignature).verifier
    static let otherKey = try! SigningKey(name: "audit.example/w2", seed: [UInt8](repeating: 2, count: 32), type: .cosignature).verifier
    static let logKey = try! SigningKey(name: "witness.pajak.go.id/w1", seed: [UInt8](repeating: 3, count: 32)).verifier

    static func load(_ text: String) throws(PolicyError) -> WitnessPolicy {
        let path = NSTemporaryDirectory() + "witnesses-" + UUID().uuidString + ".yaml"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try WitnessPolicy.load(path: path)
    }

    static func witness(_ key: VerifierKey, name: String? = nil, url: String = "https://witness.example") -> String {
        "  - name: \(name ?? key.name)\n    key: \(key.text)\n    url: \(url)\n"
    }

    @Test func theShippedFileAndAMissingOneMeanNoWitnesses() throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        #expect(try WitnessPolicy.load(path: root.path + "/policies/witnesses.yaml") == .none)
        #expect(try WitnessPolicy.load(path: "/nonexistent/witnesses.yaml") == .none)
    }

    @Test func aValidFileNamesItsWitnessesAndQuorum() throws {
        let policy = try Self.load(
            "version: 1\nquorum: 2\nwitnesses:\n" + Self.witness(Self.witnessKey, url: "https://[::1]:8443/witness") + Self.witness(Self.otherKey, url: "http://127.0.0.1:8092/"))
        #expect(policy.witnesses.map(\.name) == ["witness.pajak.go.id/w1", "audit.example/w2"])
        #expect(policy.witnesses[1].url == "http://127.0.0.1:8092", "a trailing slash is dropped, so <url>/add-checkpoint is one path")
        #expect(policy.quorum.quorum == 2)
    }

    @Test(arguments: [
        ("a log key given as a witness key", "version: 1\nquorum: 1\nwitnesses:\n" + witness(logKey), "witnesses[0].key"),
        ("the same witness twice", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey) + witness(witnessKey), "witnesses[1].name"),
        ("a quorum of 0 with witnesses", "version: 1\nquorum: 0\nwitnesses:\n" + witness(witnessKey), "quorum"),
        ("a quorum above the witnesses", "version: 1\nquorum: 2\nwitnesses:\n" + witness(witnessKey), "quorum"),
        ("a negative quorum", "version: 1\nquorum: -1\nwitnesses: []\n", "quorum"),
        ("a name that is not the key's", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey, name: "someone.else/w"), "witnesses[0].name"),
        ("a URL that is not http(s)", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey, url: "ftp://witness.example"), "witnesses[0].url"),
        ("an unknown field", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey) + "    weight: 2\n", "witnesses[0].weight"),
        ("witnesses not a list", "version: 1\nquorum: 0\nwitnesses: none\n", "witnesses"),
        ("no version", "quorum: 0\nwitnesses: []\n", "version"),
        ("a decimal quorum", "version: 1\nquorum: 1.5\nwitnesses:\n" + witness(witnessKey), "quorum"),
        ("an unknown top-level key", "version: 1\nquorum: 0\nwitnesses: []\nextra: true\n", "extra"),
        ("a URL without a host", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey, url: "http://"), "witnesses[0].url"),
        ("a URL with a user and password", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey, url: "https://user:pw@witness.example"), "witnesses[0].url"),
        ("a URL with a query", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey, url: "https://witness.example/?a=1"), "witnesses[0].url"),
        ("a URL with a fragment", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey, url: "https://witness.example/#x"), "witnesses[0].url"),
        ("a URL with a bad port", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey, url: "http://witness.example:99999"), "witnesses[0].url"),
        ("two witnesses at one URL", "version: 1\nquorum: 1\nwitnesses:\n" + witness(witnessKey) + witness(otherKey), "witnesses[1].url"),
    ])
    func aBadFileIsRefusedNamingTheKey(_ what: String, _ text: String, _ key: String) {
        do {
            _ = try Self.load(text)
            Issue.record("\(what) was accepted")
        } catch {
            #expect(error.key == key, "\(what): \(error)")
            #expect(error.line != nil, "\(what): no line in \(error)")
        }
    }
}
