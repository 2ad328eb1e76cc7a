import Foundation
import Testing
@testable import Ledger

/// The golden entries in ledger/vectors/entries.json: bodies, leaf hashes and signatures that any
/// implementation must reproduce byte for byte from the same key seed and drafts.
@Suite struct EntryVectorTests {
    static let path = TestSupport.repositoryRoot + "/ledger/vectors/entries.json"

    static func drafts() -> [EntryDraft] {
        [
            EntryDraft(time: 1_795_453_200_000_000, kind: "participant.registered", actor: "operator",
                payload: ["participant": "prv-jkt-001", "role": "provider", "region": "ID-JK"]),
            EntryDraft(time: 1_795_453_260_000_000, kind: "surplus.posted", actor: "prv-jkt-001",
                payload: ["offer": "off-1", "category": "bakery", "grams": 12_500, "portions": 29, "priceRupiah": 0,
                    "note": "roti \"manis\"\nsisa sore — 29 porsi", "tags": ["halal", "ambient"]]),
            EntryDraft(time: 1_795_453_260_000_000, kind: "rescue.completed", actor: "operator",
                payload: ["offer": "off-1", "grams": 12_000, "meals": 28, "co2eDownstreamGrams": 19_680, "verified": true],
                policy: SHA256.hash(Array("policies".utf8))),
        ]
    }

    static func generate() throws -> [String: Any] {
        let directory = TestSupport.makeTemporaryDirectory()
        let ledger = try Ledger(directory: DataDirectory(directory), signer: TestSupport.signingKey)
        let entries = try ledger.append(drafts())
        let note = try ledger.checkpoint()
        return [
            "description": "Golden entries: Ed25519 seed = 32 bytes of 0x07, key name pahlawan-pangan.id/ledger.",
            "verifier_key": TestSupport.signingKey.verifier.text,
            "entries": entries.map { entry in
                [
                    "body": String(decoding: entry.bodyBytes, as: UTF8.self),
                    "leaf_hash": entry.leafHash.hex,
                    "signature": Base64.encode(entry.signature),
                ]
            },
            "root": try ledger.root(size: ledger.size).hex,
            "checkpoint": note,
        ]
    }

    @Test func theImplementationReproducesTheGoldenVectors() throws {
        let generated = try Self.generate()
        let data = try JSONSerialization.data(withJSONObject: generated, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        if ProcessInfo.processInfo.environment["PAHLAWAN_WRITE_VECTORS"] == "1" {
            FileManager.default.createFile(atPath: Self.path, contents: data + Data("\n".utf8))
        }
        let stored = try #require(FileManager.default.contents(atPath: Self.path))
        let golden = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
        #expect(golden["verifier_key"] as? String == generated["verifier_key"] as? String)
        #expect(golden["root"] as? String == generated["root"] as? String)
        #expect(golden["checkpoint"] as? String == generated["checkpoint"] as? String)
        let goldenEntries = try #require(golden["entries"] as? [[String: String]])
        let generatedEntries = try #require(generated["entries"] as? [[String: String]])
        #expect(goldenEntries == generatedEntries)
    }

    @Test func goldenBodiesHashAndVerifyIndependently() throws {
        let stored = try #require(FileManager.default.contents(atPath: Self.path))
        let golden = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
        let key = try VerifierKey(text: golden["verifier_key"] as! String)
        for item in golden["entries"] as! [[String: String]] {
            let body = Array(item["body"]!.utf8)
            let leaf = MerkleHash.leaf(body)
            #expect(leaf.hex == item["leaf_hash"])
            let entry = SignedEntry(body: try EntryBody.decode(body), bodyBytes: body, leafHash: leaf,
                signature: Base64.decode(item["signature"]!)!)
            #expect(entry.hasValidSignature(by: key))
        }
    }
}
