import Compliance
import Core
import Foundation
import Ledger
import Testing

@Suite struct ErasureTests {
    static let person: [String: JSONValue] = [
        "name": "Budi Santoso", "phone": "0812-3456-7889", "nik": "3174011505900001",
        "address": ["street": "Jl. Kebon Sirih No. 12", "kecamatan": "Menteng", "kota": "Jakarta Pusat", "province": "DKI Jakarta"],
    ]

    /// Personal data goes to the vault, never the ledger; erasing destroys the subject's key, the
    /// data can no longer be read, the erasure is an entry, and the ledger still verifies.
    @Test func erasureShredsTheDataAndTheLedgerStillVerifies() throws {
        let root = CoreTestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = DataDirectory(root + "/data")
        let loop = try Startup.open(data: data, policies: CoreTestSupport.policies).loop
        let vault = try PIIVault(directory: root + "/vault", masterKey: Sodium.randomBytes(32))
        try loop.executeAndWait(.register(.init(id: "buyer-jkt-7", role: .buyer, region: "ID-JK")), actor: "operator")
        try vault.store(subject: "buyer-jkt-7", record: Self.person)
        try vault.store(subject: "buyer-jkt-8", record: ["name": "Siti Rahayu"])
        #expect(try vault.read(subject: "buyer-jkt-7") == Self.person)
        // The sealed files hold none of the plain text.
        for file in try FileManager.default.subpathsOfDirectory(atPath: root + "/vault") {
            let bytes = FileManager.default.contents(atPath: root + "/vault/" + file) ?? Data()
            #expect(bytes.range(of: Data("Budi".utf8)) == nil && bytes.range(of: Data("3174011505900001".utf8)) == nil, "\(file)")
        }

        let digest = try vault.erase(subject: "buyer-jkt-7", at: Ledger.wallClockMicroseconds())
        let entry = try loop.recordAndWait(
            kind: .subjectErased, actor: "operator", payload: ["subject": "buyer-jkt-7", "sealedKeySHA256": .string(digest.hex)])
        #expect(entry.body.kind == "subject.erased")
        #expect(throws: VaultError.self) { try vault.read(subject: "buyer-jkt-7") }
        do {
            _ = try vault.read(subject: "buyer-jkt-7")
        } catch {
            #expect(error.code == .erased)
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/vault/keys/buyer-jkt-7"))
        #expect(!FileManager.default.fileExists(atPath: root + "/vault/records/buyer-jkt-7"))
        #expect(throws: VaultError.self) { try vault.store(subject: "buyer-jkt-7", record: Self.person) }
        #expect(try vault.read(subject: "buyer-jkt-8") == ["name": "Siti Rahayu"], "others are untouched")

        loop.ledger.close()
        // Nothing personal ever reached the ledger's files, and the chain still verifies.
        for file in try FileManager.default.subpathsOfDirectory(atPath: data.path) {
            let bytes = FileManager.default.contents(atPath: data.path + "/" + file) ?? Data()
            // Whole values: a four-digit fragment like "0812" turns up by chance in hex digests.
            for secret in ["Budi", "Santoso", "0812-3456-7889", "081234567889", "3174011505900001", "Kebon Sirih"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) in \(file)")
            }
        }
        let verifier = try data.loadVerifierKey()
        #expect(LedgerVerifier.verify(directory: data, key: verifier, checkSignatures: true, checkBodies: true).failure == nil)
    }

    @Test func aVaultOpensOnlyWithItsMasterKeyAndRefusesUnsafeIds() throws {
        let root = CoreTestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let vault = try PIIVault(directory: root, masterKey: Sodium.randomBytes(32))
        try vault.store(subject: "ngo-sby-1", record: ["name": "Yayasan Contoh"])
        let stranger = try PIIVault(directory: root, masterKey: Sodium.randomBytes(32))
        do {
            _ = try stranger.read(subject: "ngo-sby-1")
            Issue.record("another master key opened the record")
        } catch {
            #expect(error.code == .damaged)
        }
        for id in ["../etc/passwd", "Budi Santoso", "", ".hidden"] {
            do {
                try vault.store(subject: id, record: [:])
                Issue.record("\(id) was accepted as a subject id")
            } catch {
                #expect(error.code == .badSubject)
            }
        }
    }
}
