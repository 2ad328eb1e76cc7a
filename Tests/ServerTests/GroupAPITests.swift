import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Rescue
import Server
import Testing

/// An RT/RW group buy over HTTP, as a coordinator and its neighbours would do it (FORMAT §7.13).
@Suite struct GroupAPITests {
    typealias Fixture = ServiceTests.Fixture

    @Test func aCoordinatorFormsAGroupNeighboursJoinAndOneClaimHoldsEachShare() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let operatorHeaders = try await fixture.bearer("op-1", .operator)
            for body in [#"{"id":"kom-melati","role":"group","region":"ID-JK"}"#, #"{"id":"hh-1","role":"buyer","region":"ID-JK"}"#,
                         #"{"id":"hh-2","role":"buyer","region":"ID-JK"}"#, #"{"id":"hh-3","role":"buyer","region":"ID-JK"}"#] {
                try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: body)) {
                    #expect($0.status == .created, "\(String(buffer: $0.body))")
                }
            }
            let provider = try await fixture.bearer("site-jkt-1", .provider)
            let offer = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ServiceTests.surplusBody(portions: 7, priceRupiah: 100_000)) {
                ServiceTests.json($0)["offer"] as? String ?? ""
            }
            let coordinator = try await fixture.bearer("kom-melati", .recipient)
            let deadline = Ledger.wallClockMicroseconds() + 1_800_000_000
            // An address instead of an RT/RW code is refused before anything is written.
            try await client.execute(uri: "/v1/groups", method: .post, headers: coordinator,
                                     body: ByteBuffer(string: #"{"area":"Jl. Melati 5 RT 03","offer":"\#(offer)","deadline":\#(deadline),"minPortions":5}"#)) {
                #expect($0.status == .badRequest && ServiceTests.type($0) == "areaIsNotAnRTRWCode")
            }
            let group = try await client.execute(uri: "/v1/groups", method: .post, headers: coordinator,
                                                  body: ByteBuffer(string: #"{"id":"grp-melati","area":"3174031002.rw07.rt03","offer":"\#(offer)","deadline":\#(deadline),"minPortions":5}"#)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)["group"] as? String ?? ""
            }
            for (member, portions) in [("hh-1", 3), ("hh-2", 3), ("hh-3", 1)] {
                let headers = try await fixture.bearer(member, .recipient)
                try await client.execute(uri: "/v1/groups/\(group)/members", method: .post, headers: headers, body: ByteBuffer(string: #"{"portions":\#(portions)}"#)) {
                    #expect($0.status == .created, "\(String(buffer: $0.body))")
                }
            }
            let household = try await fixture.bearer("hh-1", .recipient)
            try await client.execute(uri: "/v1/groups/\(group)/claim", method: .post, headers: household, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .forbidden && ServiceTests.type($0) == "actorIsNotTheCoordinator")
            }
            let claimed = try await client.execute(uri: "/v1/groups/\(group)/claim", method: .post, headers: coordinator, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return ServiceTests.json(response)
            }
            let shares = (claimed["shares"] as? [[String: Any]] ?? []).compactMap { $0["rupiah"] as? Int }
            #expect(claimed["priceRupiah"] as? Int == 100_000 && shares == [42_857, 42_857, 14_286])
            #expect((claimed["pickupCode"] as? String ?? "").count == 8)
            let claim = claimed["claim"] as? String ?? ""
            let held = fixture.loop.read { world in world.escrowIDs(ofClaim: claim).compactMap { world.escrows.escrows[$0]?.heldRupiah } }
            #expect(held == [42_857, 42_857, 14_286])
            let read = try await client.execute(uri: "/v1/groups/\(group)", method: .get, headers: household) { ServiceTests.json($0) }
            #expect(read["status"] as? String == "claimed" && read["portions"] as? Int == 7 && read["claim"] as? String == claim)
            try await client.execute(uri: "/v1/groups/\(group)/leave", method: .post, headers: household, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .conflict && ServiceTests.type($0) == "groupIsNotForming")
            }
        }
    }
}
