import Compliance
import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Rescue
import Server
import Testing

/// The write API beyond the happy path of `ServiceTests`: idempotent retries (also after a
/// restart), matches declined and accepted, disputes, carbon refusals of personal data.
@Suite struct WriteAPITests {
    typealias Fixture = ServiceTests.Fixture

    struct Claimed: Sendable {
        let claim: String
        let code: String
        let seqs: [Int]
    }

    @Test func aRetryUnderTheSameKeyGetsTheOriginalAnswerAndWritesNothingAlsoAfterARestart() async throws {
        let first = try await Fixture()
        let path = first.path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let provider = try await first.bearer("site-jkt-1", .provider)
        var keyedNGO = try await first.bearer("ngo-jkt-1", .recipient)
        keyedNGO[.init("Idempotency-Key")!] = "claim-attempt-1"
        let ngo = keyedNGO
        let offerBody = ServiceTests.surplusBody(portions: 10)
        let (claimAnswer, sizeAfterClaim, offer) = try await first.app.test(.router) { client in
            try await ServiceTests.registerCity(client, first)
            var keyed = provider
            keyed[.init("Idempotency-Key")!] = "post-1"
            let posted = try await client.execute(uri: "/v1/surplus", method: .post, headers: keyed, body: offerBody) { ServiceTests.json($0) }
            let size = first.loop.ledger.size
            let again = try await client.execute(uri: "/v1/surplus", method: .post, headers: keyed, body: offerBody) { response in
                #expect(response.status == .created)
                return ServiceTests.json(response)
            }
            #expect(again["offer"] as? String == posted["offer"] as? String)
            #expect(first.loop.ledger.size == size, "a retry writes nothing")
            // The same key for a different request is refused.
            try await client.execute(uri: "/v1/surplus", method: .post, headers: keyed, body: ServiceTests.surplusBody(portions: 11)) { response in
                #expect(response.status == .unprocessableContent)
                #expect(ServiceTests.type(response) == "idempotencyKeyReused")
            }
            let offer = posted["offer"] as? String ?? ""
            let claimBody = ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":1,"portions":4}"#)
            let answer = try await client.execute(uri: "/v1/claims", method: .post, headers: ngo, body: claimBody) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            let seqs = (answer["entries"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
            return (Claimed(claim: answer["claim"] as? String ?? "", code: answer["pickupCode"] as? String ?? "", seqs: seqs), first.loop.ledger.size, offer)
        }
        first.stop()

        // After a restart the key is known from the ledger alone: same claim, same pickup code.
        let second = try await Fixture(reopening: path)
        defer { second.stop() }
        #expect(second.loop.ledger.size == sizeAfterClaim, "the same policies are not activated again")
        let sizeBefore = second.loop.ledger.size
        try await second.app.test(.router) { client in
            let claimBody = ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":1,"portions":4}"#)
            let again = try await client.execute(uri: "/v1/claims", method: .post, headers: ngo, body: claimBody) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            #expect(again["claim"] as? String == claimAnswer.claim && !claimAnswer.claim.isEmpty)
            #expect(again["pickupCode"] as? String == claimAnswer.code)
            #expect((again["entries"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int } == claimAnswer.seqs)
        }
        #expect(second.loop.ledger.size == sizeBefore, "the retry after a restart wrote nothing")
        // The key is in the entry, as a digest: the client's own string is not.
        let claimSeq = UInt64(claimAnswer.seqs.first ?? 0)
        let body = String(decoding: try second.loop.ledger.entry(claimSeq).bodyBytes, as: UTF8.self)
        #expect(body.contains(#""idempotency":{"#) && !body.contains("claim-attempt-1"))
    }

    /// A claim's stage is one kind of refusal however it is reached: cancelling twice was 422
    /// while cancelling after pickup was 409; both are 409 now, and a wrong pickup code stays 422.
    @Test func cancellingTwiceAndCancellingAfterPickupAreBothConflicts() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let provider = try await fixture.bearer("site-jkt-1", .provider)
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            var claims: [(claim: String, code: String, claimant: HTTPFields)] = []
            for _ in 0..<2 {
                let posted = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ServiceTests.surplusBody(portions: 6)) { ServiceTests.json($0) }
                let offer = try #require(posted["offer"] as? String)
                let claimant = try await fixture.bearer(try #require(posted["offeredTo"] as? String), .recipient)
                let accepted = try await client.execute(uri: "/v1/matches/\(offer)/accept", method: .post, headers: claimant) { response in
                    #expect(response.status == .created, "\(String(buffer: response.body))")
                    return ServiceTests.json(response)
                }
                claims.append((try #require(accepted["claim"] as? String), try #require(accepted["pickupCode"] as? String), claimant))
            }
            let cancelled = claims[0]
            try await client.execute(uri: "/v1/claims/\(cancelled.claim)/cancel", method: .post, headers: cancelled.claimant) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/v1/claims/\(cancelled.claim)/cancel", method: .post, headers: cancelled.claimant) { response in
                #expect(response.status == .conflict && ServiceTests.type(response) == "claimAlreadyCancelled", "\(String(buffer: response.body))")
            }
            let picked = claims[1]
            try await client.execute(uri: "/v1/claims/\(picked.claim)/pickup", method: .post, headers: provider, body: ByteBuffer(string: #"{"pickupCode":"WRONG123","grams":2520}"#)) { response in
                #expect(response.status == .unprocessableContent && ServiceTests.type(response) == "pickupCodeIsWrong", "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/v1/claims/\(picked.claim)/pickup", method: .post, headers: provider, body: ByteBuffer(string: #"{"pickupCode":"\#(picked.code)","grams":2520}"#)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/v1/claims/\(picked.claim)/cancel", method: .post, headers: picked.claimant) { response in
                #expect(response.status == .conflict && ServiceTests.type(response) == "claimIsAlreadyPickedUp", "\(String(buffer: response.body))")
            }
        }
    }

    @Test func aDeclinedMatchEscalatesAndTheNextRecipientAcceptsItWithAWorkingPickupCode() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let provider = try await fixture.bearer("site-jkt-1", .provider)
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let posted = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ServiceTests.surplusBody(portions: 6)) { ServiceTests.json($0) }
            let offer = try #require(posted["offer"] as? String)
            let first = try #require(posted["offeredTo"] as? String)
            let second = first == "ngo-jkt-1" ? "ngo-jkt-2" : "ngo-jkt-1"
            // Only the offered recipient may answer; the other is refused while it is reserved.
            try await client.execute(uri: "/v1/matches/\(offer)/accept", method: .post, headers: try await fixture.bearer(second, .recipient)) { response in
                #expect(ServiceTests.type(response) == "offerIsReservedForAnotherRecipient", "\(String(buffer: response.body))")
                // Not this caller's to answer: 403, like every refusal of what is someone else's (it was 409).
                #expect(response.status == .forbidden)
            }
            let declined = try await client.execute(uri: "/v1/matches/\(offer)/decline", method: .post, headers: try await fixture.bearer(first, .recipient)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            #expect(declined["escalatedTo"] as? String == second)
            let accepted = try await client.execute(uri: "/v1/matches/\(offer)/accept", method: .post, headers: try await fixture.bearer(second, .recipient)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            let claim = try #require(accepted["claim"] as? String)
            let code = try #require(accepted["pickupCode"] as? String)
            #expect(fixture.loop.read { $0.offers.claims[claim]?.portions } == 6)
            try await client.execute(uri: "/v1/claims/\(claim)/pickup", method: .post, headers: provider, body: ByteBuffer(string: #"{"pickupCode":"\#(code.lowercased())","grams":2520}"#)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
        }
    }

    @Test func disputesOpenAndAreDecidedAndEvidenceWithPersonalDataIsRefused() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let provider = try await fixture.bearer("site-jkt-1", .provider)
        let ngo = try await fixture.bearer("ngo-jkt-1", .recipient)
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let offer = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ServiceTests.surplusBody(portions: 4)) {
                ServiceTests.json($0)["offer"] as? String ?? ""
            }
            // Whoever was offered it declines until the offer is open to everyone.
            for recipient in ["ngo-jkt-1", "ngo-jkt-2"] {
                _ = try await client.execute(uri: "/v1/matches/\(offer)/decline", method: .post, headers: try await fixture.bearer(recipient, .recipient)) { $0.status }
            }
            let version = try #require(fixture.loop.read { $0.offers.offers[offer]?.version })
            let claimed = try await client.execute(
                uri: "/v1/claims", method: .post, headers: ngo, body: ByteBuffer(string: #"{"offer":"\#(offer)","seenVersion":\#(version),"portions":4}"#)
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            let claim = try #require(claimed["claim"] as? String)
            let size = fixture.loop.ledger.size
            for (evidence, type) in [
                ("call me on 0812-3456-7889", "evidenceIsNotAReference"), ("budi.santoso@example.id", "personalDataInFreeText"),
                ("NIK:3174011203900001", "personalDataInFreeText"), ("sha256:9f2c", "evidenceIsNotAReference"),
            ] {
                try await client.execute(
                    uri: "/v1/disputes", method: .post, headers: ngo,
                    body: ByteBuffer(string: #"{"claim":"\#(claim)","reason":"providerNoShow","evidence":["\#(evidence)"]}"#)
                ) { response in
                    #expect((400..<500).contains(Int(response.status.code)))
                    #expect(ServiceTests.type(response) == type, "\(evidence)")
                }
            }
            #expect(fixture.loop.ledger.size == size)
            let opened = try await client.execute(
                uri: "/v1/disputes", method: .post, headers: ngo,
                body: ByteBuffer(string: #"{"claim":"\#(claim)","reason":"providerNoShow","evidence":["sha256:9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c"]}"#)
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            // Evidence is recorded as the service's keyed digest of the reference, never the reference.
            #expect((opened["evidence"] as? [String])?.first?.hasPrefix("hmac:") == true)
            let dispute = try #require(opened["dispute"] as? String)
            let kinds = (opened["entries"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(kinds.first == "dispute.opened")
            if opened["outcome"] == nil {
                try await client.execute(
                    uri: "/v1/disputes/\(dispute)/decision", method: .post, headers: operatorHeaders, body: ByteBuffer(string: #"{"outcome":"noRefundRelist"}"#)
                ) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    #expect(ServiceTests.json(response)["outcome"] as? String == "noRefundRelist")
                }
            }
            #expect(fixture.loop.read { $0.disputes.disputes[dispute]?.resolution } != nil)
            // A decision names only the outcomes there are; refunds only with partialRefund.
            try await client.execute(
                uri: "/v1/disputes/\(dispute)/decision", method: .post, headers: operatorHeaders,
                body: ByteBuffer(string: #"{"outcome":"fullRefund","refundRupiah":5}"#)
            ) { response in
                #expect(ServiceTests.type(response) == "unknownOutcome")
            }
        }
    }

    @Test func carbonWritesRefuseBadRangesAndPersonalDataAndRangesNotHeld() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let trader = try await fixture.bearer("cmp-jkt-1", .carbonTrader)
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let size = fixture.loop.ledger.size
            for (body, type) in [
                (#"{"range":{"vintage":2026,"first":5,"last":1},"beneficiary":"cmp-jkt-1","reason":"csrCommitment"}"#, "badSerialRange"),
                (#"{"range":{"vintage":2026,"first":1,"last":1},"beneficiary":"Ibu Sari +62 812-3456-7889","reason":"csrCommitment"}"#, "beneficiaryIsNotAnID"),
                (#"{"range":{"vintage":2026,"first":1,"last":1},"beneficiary":"cmp-jkt-1","reason":"CSR 2026"}"#, "reasonIsNotACode"),
                (#"{"range":{"vintage":2026,"first":1,"last":1},"beneficiary":"cmp-jkt-1","reason":"csrCommitment"}"#, "rangeNotIssuedAsOneHolding"),
                (#"{"range":{"vintage":2026,"first":1,"last":1},"beneficiary":"budi-santoso","reason":"onBehalfOfBeneficiary"}"#, "beneficiaryIsNotKnown"),
            ] {
                try await client.execute(uri: "/v1/carbon/retirements", method: .post, headers: trader, body: ByteBuffer(string: body)) { response in
                    #expect(ServiceTests.type(response) == type, "\(String(buffer: response.body))")
                }
            }
            #expect(fixture.loop.ledger.size == size)
        }
    }
}
