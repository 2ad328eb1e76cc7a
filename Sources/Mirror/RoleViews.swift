import Compliance
import Ledger

/// Per audit role, a schema of read-only views over the mirror (`role_auditor`,
/// `role_tax_authority`, `role_carbon_trader`) and a group role that may read only that schema
/// (`pahlawan_auditor`, …), so an auditor can be given a Postgres login of their own
/// (`CREATE ROLE alice LOGIN IN ROLE pahlawan_auditor`). The mirror holds no personal data; what
/// identifies a recipient (its id, registration number and NPWP) goes through `masking.yaml`'s
/// `recipient` treatment for the role, with the very pseudonyms the HTTP API gives that role.
/// A role that does not keep recipients gets no `entries` view, since entry bodies name them.
extension Mirror {
    /// The roles that get a schema.
    public static let auditRoles = ["auditor", "tax_authority", "carbon_trader"]

    /// (Re)creates every audit role's schema and views, and grants its group role read access,
    /// in one transaction. Called at each start, so a changed `masking.yaml` takes effect.
    /// - Throws: `MirrorError` `.postgresFailed`.
    public func installRoleViews(masker: Masker) throws(MirrorError) {
        do throws(PostgresError) {
            for role in Self.auditRoles { try ensureGroupRole("pahlawan_" + role) }
            try connection.transaction { () throws(PostgresError) in
                try connection.query("CREATE SCHEMA IF NOT EXISTS mirror_private")
                try connection.query("REVOKE ALL ON SCHEMA mirror_private FROM PUBLIC")
                try connection.query("CREATE TABLE IF NOT EXISTS mirror_private.pseudonym_keys (role text PRIMARY KEY, inner_pad bytea NOT NULL, outer_pad bytea NOT NULL)")
                try connection.query("DELETE FROM mirror_private.pseudonym_keys")
                for role in Self.auditRoles {
                    let schema = "role_" + role
                    let group = "pahlawan_" + role
                    let treatment = masker.policy.treatment(field: "recipient", role: role)
                    if treatment == .pseudonym, let key = masker.pseudonymKey(role: role) {
                        // HMAC-SHA-256 by its definition, with the pads precomputed: SQL has sha256() but no HMAC.
                        let block = key + [UInt8](repeating: 0, count: 64 - key.count)
                        try connection.query(
                            "INSERT INTO mirror_private.pseudonym_keys VALUES ($1, decode($2, 'hex'), decode($3, 'hex'))",
                            [role, Hex.encode(block.map { $0 ^ 0x36 }), Hex.encode(block.map { $0 ^ 0x5C })])
                    }
                    try connection.query("DROP SCHEMA IF EXISTS \(schema) CASCADE")
                    try connection.query("CREATE SCHEMA \(schema)")
                    for view in Self.views(role: role, treatment: treatment) {
                        try connection.query("CREATE VIEW \(schema).\(view.name) WITH (security_barrier) AS \(view.sql)")
                    }
                    try connection.query("REVOKE ALL ON SCHEMA \(schema) FROM PUBLIC")
                    try connection.query("GRANT USAGE ON SCHEMA \(schema) TO \(group)")
                    try connection.query("GRANT SELECT ON ALL TABLES IN SCHEMA \(schema) TO \(group)")
                }
            }
        } catch {
            throw .postgres(error)
        }
    }

    /// Creates a group role (no login) unless it exists; two mirrors racing to create it is fine.
    private func ensureGroupRole(_ name: String) throws(PostgresError) {
        let exists = { () throws(PostgresError) -> Bool in !(try self.connection.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name])).isEmpty }
        guard try !exists() else { return }
        do throws(PostgresError) {
            try connection.query("CREATE ROLE \(name) NOLOGIN")
        } catch {
            guard try exists() else {
                throw PostgresError(
                    state: error.state,
                    message: "cannot create the group role \(name) (\(error.message)): have a superuser run CREATE ROLE \(name) NOLOGIN, or give the mirror's user CREATEROLE")
            }
        }
    }

    /// `column` as `role` may see a recipient's identity.
    static func recipient(_ column: String, role: String, treatment: MaskingPolicy.Treatment) -> String {
        switch treatment {
        case .keep:
            return column
        case .pseudonym:
            // Masker: "psn_" + hex(HMAC(key, "recipient" ‖ 0x00 ‖ canonical JSON of the value)[0..<8]).
            let message = "convert_to('recipient', 'UTF8') || '\\x00'::bytea || convert_to(to_jsonb(\(column))::text, 'UTF8')"
            return """
                (SELECT 'psn_' || encode(substr(sha256(k.outer_pad || sha256(k.inner_pad || \(message))), 1, 8), 'hex') \
                FROM mirror_private.pseudonym_keys k WHERE k.role = '\(role)')
                """
        case .redact, .mask, .generalise:
            // As the Masker: a recipient id cannot be partly shown or generalised.
            return "CASE WHEN \(column) IS NULL THEN NULL ELSE '[redacted]' END"
        }
    }

    static func views(role: String, treatment: MaskingPolicy.Treatment) -> [(name: String, sql: String)] {
        let masked = { (column: String) in recipient(column, role: role, treatment: treatment) }
        // Participants who receive food are recipients; companies, sites and couriers are not.
        let isRecipient = "role IN ('recipient', 'group', 'buyer')"
        var views: [(name: String, sql: String)] = [
            ("participants", """
                SELECT CASE WHEN \(isRecipient) THEN \(masked("participant")) ELSE participant END AS participant, seq, role, company, region,
                    CASE WHEN \(isRecipient) THEN \(masked("registration_number")) ELSE registration_number END AS registration_number,
                    \(masked("tax_number")) AS tax_number, donation_purpose
                FROM public.participants
                """),
            ("offers", "SELECT * FROM public.offers"),
            ("claims", """
                SELECT claim, seq, offer, \(masked("claimant")) AS claimant, portions, grams, price_rupiah, cancelled_seq, pickup_seq,
                    picked_up_grams, delivery_seq FROM public.claims
                """),
            ("rescues", """
                SELECT claim, seq, time_us, policy, offer, provider, \(masked("claimant")) AS recipient, category, grams_rescued,
                    portions_served, meals, lifecycle_grams_co2e, downstream_grams_co2e FROM public.rescues
                """),
            ("escrows", """
                SELECT escrow, claim, \(masked("buyer")) AS buyer, provider, held_rupiah, released_rupiah, refunded_rupiah FROM public.escrow_balances
                """),
            ("disputes", """
                SELECT dispute, seq, claim, \(masked("claimant")) AS claimant, reason, held_rupiah, resolved_seq, outcome, refund_rupiah, rule
                FROM public.disputes
                """),
            ("auctions", "SELECT * FROM public.auctions"),
            ("auction_sales", """
                SELECT seq, time_us, auction, offer, claim, \(masked("buyer")) AS buyer, portions, grams, lot_price_rupiah, price_rupiah, elapsed_us, rule
                FROM public.auction_sales
                """),
            // Coordinators are community recipients and members households: masked like recipients.
            ("groups", """
                SELECT "group", seq, \(masked("coordinator")) AS coordinator, area, offer, category, deadline, min_portions, claim, claimed_seq,
                    claimed_offer, price_rupiah, ended_seq, ended_kind FROM public.groups
                """),
            ("group_members", """
                SELECT "group", \(masked("member")) AS member, joined_seq, portions, left_seq, share_rupiah, no_show_seq FROM public.group_members
                """),
            // Evidence: scans name devices and offers or claims; couriers may be volunteers, masked like recipients.
            ("scans", "SELECT * FROM public.scans"),
            ("pos_syncs", "SELECT * FROM public.pos_syncs"),
            ("courier_legs", """
                SELECT claim, \(masked("courier")) AS courier, assigned_seq, grams, booking_sha256, pickup_seq, delivered_seq, distance_metres
                FROM public.courier_legs
                """),
            ("courier_leaderboard", "SELECT \(masked("courier")) AS courier, points, deliveries, rank FROM public.courier_leaderboard"),
            // Beneficiaries and reasons are free text the service refused to record with personal data in it.
            ("carbon_movements", "SELECT * FROM public.carbon_movements"),
            ("company_balances", "SELECT * FROM public.company_balances"),
            ("carbon_holdings", "SELECT * FROM public.carbon_holdings"),
            ("mirror_cursor", "SELECT applied, encode(last_leaf_hash, 'hex') AS last_leaf_hash FROM public.mirror_cursor"),
        ]
        if treatment == .keep {
            views.append(("entries", "SELECT seq, time_us, kind, actor, policy, leaf_hash, signature, payload, body FROM public.ledger_entries"))
        }
        return views
    }
}
