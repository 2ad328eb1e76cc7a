import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Rescue
import Server
import Testing

/// Pahlawan-Scan over HTTP with real Ed25519 keys (FORMAT §7.14): a provider's phone signs
/// freshness scans; forged, altered, re-targeted, replayed, stale, future, foreign and
/// revoked-device scans are refused and write nothing; a declared score never decides a dispute
/// and an attested one does; poultry is not handed over without a passing scan.
@Suite struct ScanAPITests {
    typealias Fixture = ServiceTests.Fixture

    /// A phone: its key and how it signs a scan document.
    struct Phone {
        let key: SigningKey
        var publicKey: String { Base64.encode(key.verifier.publicKey) }

        init(_ byte: UInt8) throws { key = try SigningKey(name: "phone", seed: [UInt8](repeating: byte, count: 32)) }

        /// The body of `POST /v1/scans`: `document` signed by this phone (or `tamper`ed after signing).
        func scan(
            device: String, claim: String? = nil, offer: String? = nil, score: Int64, at scannedAt: Int64 = Ledger.wallClockMicroseconds(),
            image: String = String(repeating: "ab", count: 32), tamper: (inout [String: JSONValue]) -> Void = { _ in }
        ) -> ByteBuffer {
            let scan = DeviceBook.Scan(
                id: "", device: device, subject: claim.map { .claim($0) } ?? .offer(offer ?? ""), score: score, model: "freshnet", modelVersion: "2.3.1",
                imageSha256: image, scannedAt: scannedAt, signature: "")
            var document = ScanDocument.members(of: scan)
            let signature = Base64.encode(key.sign(ScanDocument.message(of: scan)))
            tamper(&document)
            return ByteBuffer(bytes: CanonicalJSON.encode(.object(["document": .object(document), "signature": .string(signature)])))
        }
    }

    static func surplus(_ category: String, priceRupiah: Int, portions: Int = 4) -> ByteBuffer {
        let expiresAt = Ledger.wallClockMicroseconds() + 3_600_000_000
        return ByteBuffer(
            string: #"{"category":"\#(category)","grams":\#(portions * 400),"portions":\#(portions),"latitude":-6208800,"longitude":106845600,"temperature":"chilled","expiresAt":\#(expiresAt),"priceRupiah":\#(priceRupiah)}"#)
    }

    @Test func scansAreAttestedOnlyWhenSignedByARegisteredDeviceOfTheRightHolder() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let operatorHeaders = try await fixture.bearer("op-1", .operator)
            for body in [
                #"{"id":"buyer-1","role":"buyer","region":"ID-JK"}"#, #"{"id":"cmp-sby-1","role":"company","region":"ID-JI"}"#,
                #"{"id":"site-sby-1","role":"site","company":"cmp-sby-1","region":"ID-JI","latitude":-7257500,"longitude":112752100}"#,
            ] {
                try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: body)) {
                    #expect($0.status == .created, "\(String(buffer: $0.body))")
                }
            }
            let site = try await fixture.bearer("site-jkt-1", .provider)
            let company = try await fixture.bearer("cmp-jkt-1", .provider)
            let otherSite = try await fixture.bearer("site-sby-1", .provider)
            let phone = try Phone(1), otherPhone = try Phone(2), forger = try Phone(3)
            // A company registers its site's phone; another company's site cannot.
            try await client.execute(uri: "/v1/devices", method: .post, headers: otherSite,
                                     body: ByteBuffer(string: #"{"id":"dev-x","holder":"site-jkt-1","publicKey":"\#(phone.publicKey)"}"#)) {
                #expect($0.status == .forbidden && ServiceTests.type($0) == "actorMayNotRegisterForThisHolder", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/devices", method: .post, headers: company,
                                     body: ByteBuffer(string: #"{"id":"dev-a","holder":"site-jkt-1","publicKey":"\#(phone.publicKey)"}"#)) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/devices", method: .post, headers: otherSite,
                                     body: ByteBuffer(string: #"{"id":"dev-b","publicKey":"\#(phone.publicKey)"}"#)) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "publicKeyAlreadyRegistered", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/devices", method: .post, headers: otherSite,
                                     body: ByteBuffer(string: #"{"id":"dev-b","publicKey":"\#(otherPhone.publicKey.dropLast(2))xx"}"#)) {
                #expect($0.status == .badRequest && ServiceTests.type($0) == "publicKeyIsMalformed", "\(String(buffer: $0.body))")
            }
            // All zeros is 32 bytes of base64 but a small-order point: no device can sign under it.
            try await client.execute(uri: "/v1/devices", method: .post, headers: otherSite,
                                     body: ByteBuffer(string: #"{"id":"dev-z","publicKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#)) {
                #expect($0.status == .unprocessableContent && ServiceTests.type($0) == "publicKeyIsMalformed", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/devices", method: .post, headers: otherSite, body: ByteBuffer(string: #"{"id":"dev-b","publicKey":"\#(otherPhone.publicKey)"}"#)) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }

            // A paid poultry lot, bought by a household.
            let offer = try await client.execute(uri: "/v1/surplus", method: .post, headers: site, body: Self.surplus("poultry", priceRupiah: 40_000)) {
                ServiceTests.json($0)["offer"] as? String ?? ""
            }
            let buyer = try await fixture.bearer("buyer-1", .recipient)
            let claimed = try await client.execute(uri: "/v1/claims", method: .post, headers: buyer,
                                                   body: ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":1,"portions":4}"#)) { ServiceTests.json($0) }
            let claim = claimed["claim"] as? String ?? "", code = claimed["pickupCode"] as? String ?? ""
            let pickup = ByteBuffer(string: #"{"pickupCode":"\#(code)","grams":1600,"declaredFreshnessScore":99}"#)
            // Poultry is not handed over on a declared score.
            try await client.execute(uri: "/v1/claims/\(claim)/pickup", method: .post, headers: site, body: pickup) {
                #expect($0.status == .unprocessableContent && ServiceTests.type($0) == "attestedScanIsRequired", "\(String(buffer: $0.body))")
            }
            let size = fixture.loop.ledger.size
            let refused: [(String, HTTPFields, ByteBuffer, HTTPResponse.Status, String)] = [
                ("signed by another key", site, forger.scan(device: "dev-a", claim: claim, score: 90), .unprocessableContent, "scanSignatureIsInvalid"),
                ("score raised after signing", site, phone.scan(device: "dev-a", claim: claim, score: 50) { $0["score"] = .integer(95) },
                 .unprocessableContent, "scanSignatureIsInvalid"),
                ("re-targeted to another claim", site, phone.scan(device: "dev-a", claim: claim, score: 90) { $0["claim"] = .string("clm-other") },
                 .unprocessableContent, "scanSignatureIsInvalid"),
                ("an unknown device", site, phone.scan(device: "dev-zz", claim: claim, score: 90), .notFound, "deviceNotFound"),
                ("two hours old", site, phone.scan(device: "dev-a", claim: claim, score: 90, at: Ledger.wallClockMicroseconds() - 7_200_000_000),
                 .unprocessableContent, "scanIsStale"),
                ("an hour ahead", site, phone.scan(device: "dev-a", claim: claim, score: 90, at: Ledger.wallClockMicroseconds() + 3_600_000_000),
                 .unprocessableContent, "scanIsFromTheFuture"),
                ("another provider's food", otherSite, otherPhone.scan(device: "dev-b", claim: claim, score: 10), .forbidden, "deviceMayNotScanThis"),
                ("someone else's phone", otherSite, phone.scan(device: "dev-a", claim: claim, score: 90), .forbidden, "actorMayNotUseThisDevice"),
                ("no such claim", site, phone.scan(device: "dev-a", claim: "clm-none", score: 90), .notFound, "scanSubjectNotFound"),
                ("a score of 101", site, phone.scan(device: "dev-a", claim: claim, score: 101), .badRequest, "fieldOutOfRange"),
                ("an image that is not a digest", site, phone.scan(device: "dev-a", claim: claim, score: 90, image: "photo.jpg"), .badRequest, "scanIsMalformed"),
            ]
            for (what, headers, body, status, type) in refused {
                try await client.execute(uri: "/v1/scans", method: .post, headers: headers, body: body) {
                    #expect($0.status == status && ServiceTests.type($0) == type, "\(what): \(String(buffer: $0.body))")
                }
            }
            #expect(fixture.loop.ledger.size == size, "a refused scan wrote something")

            // A fresh scan by the site's phone: attested at stage pickup; its replay is refused.
            let fresh = phone.scan(device: "dev-a", claim: claim, score: 88)
            try await client.execute(uri: "/v1/scans", method: .post, headers: site, body: fresh) {
                #expect($0.status == .created && ServiceTests.json($0)["stage"] as? String == "pickup", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/scans", method: .post, headers: site, body: fresh) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "scanAlreadyAttested", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/claims/\(claim)/pickup", method: .post, headers: site, body: pickup) {
                #expect($0.status == .ok || $0.status == .created, "\(String(buffer: $0.body))")
            }
            // After the handover a scan is evidence of the delivery stage.
            try await client.execute(uri: "/v1/scans", method: .post, headers: site, body: phone.scan(device: "dev-a", claim: claim, score: 70)) {
                #expect($0.status == .created && ServiceTests.json($0)["stage"] as? String == "delivery", "\(String(buffer: $0.body))")
            }

            // The phone is lost: revoked, and nothing it signs counts any more, whatever time it claims.
            let signedBefore = phone.scan(device: "dev-a", claim: claim, score: 90, at: Ledger.wallClockMicroseconds() - 60_000_000)
            try await client.execute(uri: "/v1/devices/dev-a/revoke", method: .post, headers: otherSite, body: ByteBuffer(string: #"{"reason":"lost"}"#)) {
                #expect($0.status == .forbidden && ServiceTests.type($0) == "actorMayNotUseThisDevice", "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/devices/dev-a/revoke", method: .post, headers: company, body: ByteBuffer(string: #"{"reason":"lost"}"#)) {
                #expect($0.status == .ok, "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/scans", method: .post, headers: site, body: signedBefore) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "deviceIsRevoked", "\(String(buffer: $0.body))")
            }
            let auditor = try await fixture.bearer("aud-1", .auditor)
            try await client.execute(uri: "/v1/devices/dev-a", method: .get, headers: auditor) {
                #expect($0.status == .ok && ServiceTests.json($0)["revoked"] as? Bool == true, "\(String(buffer: $0.body))")
            }
            // The ledger holds the digest of the photo and the signature, never the photo.
            let kinds = try (0..<fixture.loop.ledger.size).map { try fixture.loop.ledger.entry($0).body.kind }
            #expect(kinds.filter { $0 == "scan.attested" }.count == 2 && kinds.contains("device.revoked"))
        }
    }

    /// A dispute's freshness rule reads only attested scores: a provider's declared 10 decides
    /// nothing, a device's 50 before the handover refunds in full.
    @Test func onlyAnAttestedScoreDecidesADispute() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            try await client.execute(uri: "/v1/participants", method: .post, headers: try await fixture.bearer("op-1", .operator),
                                     body: ByteBuffer(string: #"{"id":"buyer-1","role":"buyer","region":"ID-JK"}"#)) { #expect($0.status == .created) }
            let site = try await fixture.bearer("site-jkt-1", .provider)
            let buyer = try await fixture.bearer("buyer-1", .recipient)
            let phone = try Phone(7)
            try await client.execute(uri: "/v1/devices", method: .post, headers: site, body: ByteBuffer(string: #"{"id":"dev-a","publicKey":"\#(phone.publicKey)"}"#)) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }
            var outcomes: [String] = []
            for attested in [nil, 50] as [Int64?] {
                let offer = try await client.execute(uri: "/v1/surplus", method: .post, headers: site, body: Self.surplus("mixedMeals", priceRupiah: 30_000)) {
                    ServiceTests.json($0)["offer"] as? String ?? ""
                }
                let claimed = try await client.execute(uri: "/v1/claims", method: .post, headers: buyer,
                                                       body: ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":1,"portions":4}"#)) { ServiceTests.json($0) }
                let claim = claimed["claim"] as? String ?? ""
                if let attested {
                    try await client.execute(uri: "/v1/scans", method: .post, headers: site, body: phone.scan(device: "dev-a", claim: claim, score: attested)) {
                        #expect($0.status == .created, "\(String(buffer: $0.body))")
                    }
                }
                try await client.execute(uri: "/v1/claims/\(claim)/pickup", method: .post, headers: site,
                                         body: ByteBuffer(string: #"{"pickupCode":"\#(claimed["pickupCode"] as? String ?? "")","grams":1600,"declaredFreshnessScore":10}"#)) {
                    #expect($0.status == .ok || $0.status == .created, "\(String(buffer: $0.body))")
                }
                let dispute = try await client.execute(uri: "/v1/disputes", method: .post, headers: buyer,
                                                       body: ByteBuffer(string: #"{"claim":"\#(claim)","reason":"spoiled","evidence":[]}"#)) { response in
                    #expect(response.status == .created, "\(String(buffer: response.body))")
                    return ServiceTests.json(response)
                }
                outcomes.append(dispute["outcome"] as? String ?? "open")
            }
            #expect(outcomes == ["open", "fullRefund"])
            let rules = try (0..<fixture.loop.ledger.size).compactMap { seq -> String? in
                let body = try fixture.loop.ledger.entry(seq).body
                guard body.kind == "dispute.resolved", case .string(let rule)? = body.payload["rule"] else { return nil }
                return rule
            }
            #expect(rules == ["auto.freshnessBelowThreshold"])
        }
    }

    /// An offer of a category that requires it is posted with its scan, attested right after
    /// the `surplus.posted` it is about.
    @Test func anOfferCarriesItsScan() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let site = try await fixture.bearer("site-jkt-1", .provider)
            let phone = try Phone(9)
            try await client.execute(uri: "/v1/devices", method: .post, headers: site, body: ByteBuffer(string: #"{"id":"dev-a","publicKey":"\#(phone.publicKey)"}"#)) {
                #expect($0.status == .created)
            }
            let scan = String(buffer: phone.scan(device: "dev-a", offer: "off-ayam-1", score: 91))
            let expiresAt = Ledger.wallClockMicroseconds() + 3_600_000_000
            let body = #"{"id":"off-ayam-1","category":"poultry","grams":1600,"portions":4,"latitude":-6208800,"longitude":106845600,"temperature":"chilled","expiresAt":\#(expiresAt),"priceRupiah":0,"scan":\#(scan)}"#
            let answer = try await client.execute(uri: "/v1/surplus", method: .post, headers: site, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            let kinds = (answer["entries"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(Array(kinds.prefix(2)) == ["surplus.posted", "scan.attested"] && answer["scan"] is String)
            // A scan naming another offer cannot be attached.
            let other = String(buffer: phone.scan(device: "dev-a", offer: "off-ayam-9", score: 91))
            let second = #"{"id":"off-ayam-2","category":"poultry","grams":1600,"portions":4,"latitude":-6208800,"longitude":106845600,"temperature":"chilled","expiresAt":\#(expiresAt),"priceRupiah":0,"scan":\#(other)}"#
            try await client.execute(uri: "/v1/surplus", method: .post, headers: site, body: ByteBuffer(string: second)) {
                #expect($0.status == .forbidden && ServiceTests.type($0) == "deviceMayNotScanThis", "\(String(buffer: $0.body))")
            }
        }
    }
}
