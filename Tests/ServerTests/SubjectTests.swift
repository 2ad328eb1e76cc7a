import Compliance
import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Server
import Testing

/// The PII vault over HTTP with real Indonesian formats: masked reads per role, recorded
/// unmasked reads, the subject's export and erasure by crypto-shredding.
@Suite struct SubjectTests {
    typealias Fixture = ServiceTests.Fixture

    static let budi = #"""
        {"subject":"buyer-jkt-7","name":"Budi Santoso","phone":"+62 812-3456-7889","email":"budi.santoso@example.id",
         "address":{"street":"Jl. Kebon Sirih No. 12","kelurahan":"Kebon Sirih","kecamatan":"Menteng","kota":"Jakarta Pusat","province":"DKI Jakarta","postalCode":"10340"},
         "nik":"3174011203900001","npwp":"09.254.294.3-407.000"}
        """#

    /// The data subject is a registered participant (its own data is kept under its id).
    static func registerBudi(_ client: some TestClientProtocol, _ fixture: Fixture) async throws {
        try await client.execute(
            uri: "/v1/participants", method: .post, headers: try await fixture.bearer("op-1", .operator),
            body: ByteBuffer(string: #"{"id":"buyer-jkt-7","role":"buyer","region":"ID-JK"}"#)
        ) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
        }
    }

    @Test func eachRoleSeesItsMaskingAndAnOperatorReadIsRecordedWithItsReason() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        try await fixture.app.test(.router) { client in
            try await Self.registerBudi(client, fixture)
            try await client.execute(uri: "/v1/subjects", method: .post, headers: operatorHeaders, body: ByteBuffer(string: Self.budi)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
            let size = fixture.loop.ledger.size
            func record(_ role: Role, _ subject: String = "someone-1") async throws -> [String: Any] {
                try await client.execute(uri: "/v1/subjects/buyer-jkt-7", method: .get, headers: try await fixture.bearer(subject, role)) { response in
                    #expect(response.status == .ok, "\(role): \(String(buffer: response.body))")
                    return ServiceTests.json(response)["record"] as? [String: Any] ?? [:]
                }
            }
            let auditor = try await record(.auditor)
            #expect((auditor["name"] as? String)?.hasPrefix("psn_") == true)
            #expect(try await record(.auditor, "someone-2")["name"] as? String == auditor["name"] as? String, "a pseudonym is stable across callers of a role")
            #expect(auditor["email"] as? String == "b***@example.id")
            #expect(auditor["nik"] as? String == "[redacted]" && auditor["phone"] as? String == "[redacted]")
            #expect(auditor["address"] as? [String: String] == ["kecamatan": "Menteng", "kota": "Jakarta Pusat", "province": "DKI Jakarta"])
            let courier = try await record(.courier)
            #expect(courier["phone"] as? String == "+62 812-****-**89")
            #expect(courier["name"] as? String == "Budi Santoso")
            #expect((courier["address"] as? [String: String])?["street"] == "Jl. Kebon Sirih No. 12")
            let tax = try await record(.taxAuthority)
            #expect(tax["nik"] as? String == "317401******0001" && tax["npwp"] as? String == "09.254.294.3-407.000")
            #expect(fixture.loop.ledger.size == size, "masked reads are not access to personal data")

            // An operator must say why; the reason and the fields read are recorded first.
            try await client.execute(uri: "/v1/subjects/buyer-jkt-7", method: .get, headers: operatorHeaders) { response in
                #expect(ServiceTests.type(response) == "reasonRequired")
            }
            // The purpose is a code and the case a ticket id: there is no free text to hold a number.
            try await client.execute(uri: "/v1/subjects/buyer-jkt-7?reason=call%200812-3456-7889", method: .get, headers: operatorHeaders) { response in
                #expect(ServiceTests.type(response) == "reasonIsNotACode")
            }
            try await client.execute(uri: "/v1/subjects/buyer-jkt-7?reason=deliveryContact&ticket=0812-3456-7889", method: .get, headers: operatorHeaders) { response in
                #expect(ServiceTests.type(response) == "idIsNotPseudonymous")
            }
            #expect(fixture.loop.ledger.size == size)
            let unmasked = try await client.execute(uri: "/v1/subjects/buyer-jkt-7?reason=disputeInvestigation&ticket=dsp-77", method: .get, headers: operatorHeaders) { response in
                #expect(response.status == .ok)
                return ServiceTests.json(response)
            }
            #expect((unmasked["record"] as? [String: Any])?["nik"] as? String == "3174011203900001")
            let access = try fixture.loop.ledger.entry(UInt64(unmasked["accessSeq"] as? Int ?? -1))
            #expect(access.body.kind == "pii.accessed" && access.body.actor == "op-1")
            #expect(access.body.payload["reason"] == "disputeInvestigation" && access.body.payload["ticket"] == "dsp-77" && access.body.payload["subject"] == "buyer-jkt-7")

            // The subject's export: its data and the access, not someone else's.
            let buyer = try await fixture.bearer("buyer-jkt-7", .recipient)
            let export = try await client.execute(uri: "/v1/subjects/buyer-jkt-7/export", method: .get, headers: buyer) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            #expect((export["record"] as? [String: Any])?["name"] as? String == "Budi Santoso")
            let accesses = export["accesses"] as? [[String: Any]] ?? []
            #expect(accesses.count == 1 && accesses.first?["actor"] as? String == "op-1" && accesses.first?["reason"] as? String == "disputeInvestigation")
            try await client.execute(uri: "/v1/subjects/buyer-jkt-7/export", method: .get, headers: try await fixture.bearer("buyer-jkt-8", .recipient)) { response in
                #expect(response.status == .forbidden && ServiceTests.type(response) == "notYourData")
            }
            // Bad personal data is refused before it is stored.
            try await client.execute(
                uri: "/v1/subjects", method: .post, headers: operatorHeaders, body: ByteBuffer(string: #"{"subject":"buyer-jkt-9","nik":"9974011203900001"}"#)
            ) { response in
                #expect(ServiceTests.type(response) == "invalidNIK")
            }
        }
    }

    @Test func erasureShredsTheKeyRecordsItOnceAndTheLedgerStillVerifies() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        let buyer = try await fixture.bearer("buyer-jkt-7", .recipient)
        try await fixture.app.test(.router) { client in
            try await Self.registerBudi(client, fixture)
            try await client.execute(uri: "/v1/subjects", method: .post, headers: operatorHeaders, body: ByteBuffer(string: Self.budi)) { #expect($0.status == .created) }
            _ = try await client.execute(uri: "/v1/subjects/buyer-jkt-7?reason=subjectRequest&ticket=tkt-42", method: .get, headers: operatorHeaders) { $0.status }
            // Someone else may not erase Budi.
            try await client.execute(uri: "/v1/subjects/buyer-jkt-7", method: .delete, headers: try await fixture.bearer("buyer-jkt-8", .recipient)) { response in
                #expect(response.status == .forbidden)
            }
            let erased = try await client.execute(uri: "/v1/subjects/buyer-jkt-7", method: .delete, headers: buyer) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            let seq = try #require(erased["erasureSeq"] as? Int)
            let entry = try fixture.loop.ledger.entry(UInt64(seq))
            #expect(entry.body.kind == "subject.erased" && entry.body.payload["subject"] == "buyer-jkt-7")
            let size = fixture.loop.ledger.size
            // Repeating the erasure answers the same entry and writes nothing.
            try await client.execute(uri: "/v1/subjects/buyer-jkt-7", method: .delete, headers: buyer) { response in
                #expect(ServiceTests.json(response)["erasureSeq"] as? Int == seq)
            }
            #expect(fixture.loop.ledger.size == size)
            try await client.execute(uri: "/v1/subjects/buyer-jkt-7?reason=legalObligation", method: .get, headers: operatorHeaders) { response in
                #expect(response.status == .gone && ServiceTests.type(response) == "subjectErased")
            }
            // The export still lists who read the data, and when it was erased.
            let export = try await client.execute(uri: "/v1/subjects/buyer-jkt-7/export", method: .get, headers: buyer) { ServiceTests.json($0) }
            #expect(export["record"] == nil && export["erasedAt"] != nil)
            #expect((export["accesses"] as? [Any])?.count == 1 && (export["erasures"] as? [Any])?.count == 1)
        }
        // Nothing of Budi is left to open: no key, no record; and the ledger never held him.
        let vaultFiles = try FileManager.default.subpathsOfDirectory(atPath: fixture.path + "/vault")
        #expect(!vaultFiles.contains("keys/buyer-jkt-7") && !vaultFiles.contains("records/buyer-jkt-7"))
        _ = try await fixture.loop.ledger.checkpoint()
        let data = DataDirectory(fixture.path + "/data")
        for file in try FileManager.default.subpathsOfDirectory(atPath: data.path) {
            guard let bytes = FileManager.default.contents(atPath: data.path + "/" + file) else { continue }
            for secret in ["Budi", "3174011203900001", "812-3456", "budi.santoso", "Kebon Sirih"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) in \(file)")
            }
        }
        let verified = LedgerVerifier.verify(directory: data, key: fixture.loop.ledger.verifier, checkSignatures: true, checkBodies: true)
        #expect(verified.failure == nil)
    }
}
