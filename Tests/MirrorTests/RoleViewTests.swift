import Compliance
import Core
import Foundation
import Ledger
import Mirror
import Rescue
import Testing

/// The role views: a login in an audit role's group reads its schema's views only, recipients
/// come masked as `masking.yaml` says for the role with the very pseudonyms the API gives, and
/// nothing else of the database is readable to it.
/// In the serialized `MirrorTests` suite: another of its tests restarts the server.
extension MirrorTests {
    static func roleLogin(_ owner: PostgresConnection, group: String, url: String) throws -> PostgresConnection {
        let name = "login_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try owner.query("CREATE ROLE \(name) LOGIN IN ROLE \(group)")
        return try PostgresConnection(url: url.replacingOccurrences(of: "//pahlawan@", with: "//\(name)@"))
    }

    @Test func eachAuditRoleReadsOnlyItsMaskedViews() throws {
        let (path, loop) = try Self.simulatedLedger(seed: 4, commands: 700)
        defer {
            loop.ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let url = try Self.freshDatabase()
        let owner = try PostgresConnection(url: url)
        let mirror = Mirror(connection: owner)
        try mirror.migrate()
        try mirror.catchUp(from: loop.ledger)
        let masker = Masker(policy: try MaskingPolicy.load(path: Self.policies + "/masking.yaml"), secret: Array("role view test secret".utf8))
        try mirror.installRoleViews(masker: masker)
        try mirror.installRoleViews(masker: masker)  // at every start: idempotent

        let claimants = Dictionary(uniqueKeysWithValues: try owner.query("SELECT claim, claimant FROM rescues").map { ($0[0]!, $0[1]!) })
        #expect(!claimants.isEmpty)

        // The auditor keeps recipients (masking.yaml) and has the entries themselves.
        let auditor = try Self.roleLogin(owner, group: "pahlawan_auditor", url: url)
        let audited = Dictionary(uniqueKeysWithValues: try auditor.query("SELECT claim, recipient FROM role_auditor.rescues").map { ($0[0]!, $0[1]!) })
        #expect(audited == claimants)
        #expect(try auditor.query("SELECT count(*) FROM role_auditor.entries").first?[0] == String(loop.ledger.size))
        for forbidden in ["SELECT 1 FROM public.ledger_entries", "SELECT 1 FROM public.rescues", "SELECT 1 FROM role_carbon_trader.rescues",
                          "SELECT 1 FROM mirror_private.pseudonym_keys"] {
            #expect(throws: PostgresError.self, "\(forbidden)") { try auditor.query(forbidden) }
            #expect((try? auditor.query(forbidden)) == nil)
        }
        do {
            try auditor.query("SELECT 1 FROM public.ledger_entries")
        } catch {
            #expect(error.state == "42501", "permission denied, not some other failure")
        }

        // The carbon trader gets the API's per-role pseudonyms, and no entry bodies naming recipients.
        let trader = try Self.roleLogin(owner, group: "pahlawan_carbon_trader", url: url)
        let pseudonymised = try trader.query("SELECT claim, recipient FROM role_carbon_trader.rescues")
        #expect(pseudonymised.count == claimants.count)
        for row in pseudonymised {
            let expected = masker.mask(field: "recipient", value: .string(claimants[row[0]!]!), role: "carbon_trader")
            #expect(row[1] == expected.stringValue, "claim \(row[0]!)")
        }
        #expect(pseudonymised.allSatisfy { $0[1]!.hasPrefix("psn_") })
        #expect(throws: PostgresError.self) { try trader.query("SELECT 1 FROM role_carbon_trader.entries") }
        // Holdings by serial range, as the registry has them (its holdings, adjacent ones of one holder joined).
        let holdings = try trader.query("SELECT vintage, first_serial, last_serial, holder, status FROM role_carbon_trader.carbon_holdings ORDER BY 1, 2")
        #expect(!holdings.isEmpty)
        let registry = loop.read { $0.carbon.holdings }
        for holding in registry {
            let covering = holdings.first { Int($0[0]!) == holding.range.vintage && Int64($0[1]!)! <= holding.range.first && holding.range.last <= Int64($0[2]!)! }
            // Retired and cancelled serials name who retired or cancelled them (the registry keeps no owner).
            switch holding.status {
            case .held(let owner): #expect(covering.map { Array($0[3...4]) } == [owner, "held"], "\(holding)")
            case .retired: #expect(covering?[4] == "retired" && covering?[3] != nil, "\(holding)")
            case .cancelled: #expect(covering?[4] == "cancelled" && covering?[3] != nil, "\(holding)")
            }
        }
        let balances = try trader.query("SELECT account, tokens FROM role_carbon_trader.company_balances")
        let world = loop.read { $0.carbon }
        for row in balances where row[0] != CarbonRegistry.bufferAccount {
            #expect(Int64(row[1]!) == world.balance(of: row[0]!), "\(row[0]!)")
        }
    }
}
