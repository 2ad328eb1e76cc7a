import Compliance
import Ledger

/// The reports of `Compliance.Reports`, computed by SQL on the mirror's typed projections at a
/// given checkpoint: only rows with seqs below the checkpoint's size count, even when the
/// mirror is further ahead. Lines, totals and sections are built by PostgreSQL as JSON; nothing
/// of the ledger's own report code runs, so a test holding both equal checks each against the
/// other (`MirrorReportTests`).
public struct MirrorReports {
    private let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The report `request` asks for at the checkpoint (`checkpointSize`, `checkpointRoot`). With
    /// `lastLeafHash` (hex, of seq `checkpointSize − 1`) a mirror of another ledger is refused.
    /// - Throws: `MirrorError` `.behindCheckpoint` (catch the mirror up first), `.anotherLedger`,
    ///   `.reportQueryFailed`; `Reports.Refusal` for a report that cannot be computed;
    ///   `PostgresError` when PostgreSQL fails.
    public func report(
        _ request: ReportRequest, checkpointSize: UInt64, checkpointRoot: String, lastLeafHash: String? = nil,
        tiers: [(name: String, tokens: Int64)] = [], sign: (String) throws -> String = { $0 }
    ) throws -> Report {
        try request.checkParameters()
        let cursor = try connection.query("SELECT applied FROM mirror_cursor").first?[0] ?? nil
        let applied = cursor.flatMap { UInt64($0) } ?? 0
        guard applied >= checkpointSize else {
            throw MirrorError(.behindCheckpoint, "the mirror holds \(applied) entries and the checkpoint \(checkpointSize): catch it up first (pahlawan mirror --once)")
        }
        if let lastLeafHash, checkpointSize > 0 {
            let stored = try connection.query("SELECT encode(leaf_hash, 'hex') FROM ledger_entries WHERE seq = $1", [String(checkpointSize - 1)]).first?[0] ?? nil
            guard stored == lastLeafHash else { throw MirrorError(.anotherLedger, "the mirror's entry \(checkpointSize - 1) is not this ledger's: it mirrors another ledger") }
        }
        let at = At(size: String(checkpointSize), root: checkpointRoot)
        let report: Report
        do {
            switch request {
            case .csr(let company, let site, let from, let until): report = try csr(at, company: company, site: site, from: from, until: until)
            case .tax(let company, let year, let income): report = try tax(at, company: company, year: year, income: income)
            case .carbon(let company): report = try carbon(at, company: company)
            case .retirements: report = try retirements(at)
            case .certificate(let company):
                report = try ImpactCertificate.make(
                    csr: try csr(at, company: company, site: nil, from: nil, until: nil), carbon: try carbon(at, company: company), tiers: tiers, sign: sign)
            }
        }
        // Checked just after the read: a report cites only entries its checkpoint covers.
        guard report.seqs.allSatisfy({ $0 < checkpointSize }) else {
            throw MirrorError(.reportQueryFailed, "a report query cited a seq at or beyond the checkpoint \(checkpointSize)")
        }
        return report
    }


    /// The report `request` asks for at the latest checkpoint of `ledger`, which must be the
    /// ledger this database mirrors.
    /// - Throws: as `report(_:checkpointSize:…)`, and `LedgerError` `.notFound` before the first checkpoint.
    public func report(
        _ request: ReportRequest, atLatestCheckpointOf ledger: Ledger, tiers: [(name: String, tokens: Int64)] = [],
        sign: (String) throws -> String = { $0 }
    ) throws -> Report {
        guard let checkpoint = ledger.latestCheckpoint?.checkpoint else { throw LedgerError(.notFound, "the ledger has no checkpoint yet") }
        return try report(
            request, checkpointSize: checkpoint.size, checkpointRoot: checkpoint.root.hex,
            lastLeafHash: checkpoint.size == 0 ? nil : try ledger.leafHash(checkpoint.size - 1).hex, tiers: tiers, sign: sign)
    }

    private struct At {
        let size: String
        let root: String
        var sizeValue: UInt64 { UInt64(size)! }
    }

    /// Runs a query whose one row and column is a JSON object, parsed. PostgreSQL sums integers
    /// as `numeric`, exactly; a sum beyond ±(2^53 − 1) cannot be read back as a report's integer,
    /// and that refuses the report as the ledger's side does (`Reports.add`): every figure of an
    /// entry is within that bound, so only a total can pass it.
    private func object(_ sql: String, _ parameters: [String?]) throws -> [String: JSONValue] {
        guard let text = try connection.query(sql, parameters).first?[0] ?? nil else { throw MirrorError(.reportQueryFailed, "a report query returned nothing") }
        let value: JSONValue
        do {
            value = try CanonicalJSON.parse(Array(text.utf8))
        } catch let error where error.reason == .integerOutOfRange {
            throw Reports.Refusal.totalIsOutOfRange
        }
        guard let object = value.objectValue else { throw MirrorError(.reportQueryFailed, "a report query returned no object") }
        return object
    }

    private func requireCompany(_ at: At, _ company: String) throws {
        let found = try connection.query("SELECT 1 FROM participants WHERE participant = $2 AND role = 'company' AND seq < $1", [at.size, company])
        guard !found.isEmpty else { throw Reports.Refusal.companyNotFound }
    }

    private static func seqs(_ value: JSONValue?) -> [UInt64] {
        (value?.arrayValue ?? []).compactMap { $0.integerValue.map(UInt64.init) }
    }

    private static func lines(_ value: JSONValue?) -> [[String: JSONValue]] {
        (value?.arrayValue ?? []).compactMap(\.objectValue)
    }

    /// A rescue's dispute as the reports see it at the checkpoint: '' (none), 'open' (not
    /// resolved below the checkpoint) or the outcome. Used inside the queries below.
    private static let disputeOutcome = """
        CASE WHEN d.dispute IS NULL THEN '' WHEN d.resolved_seq IS NULL OR d.resolved_seq >= $1 THEN 'open' ELSE d.outcome END
        """

    /// The counting rule (`Reports.rescueCounts`), written once in SQL over the `outcome`
    /// column (`disputeOutcome`): a rescue counts iff it has no dispute or its dispute was
    /// resolved in the provider's favour (`noRefund`, `noRefundRelist`); an open dispute or any
    /// refund outcome (`fullRefund`, `partialRefund` of any amount, 0 included) keeps it out.
    private static let rescueCounts = "(outcome IN ('', 'noRefund', 'noRefundRelist'))"

    /// The registration seqs of the participants `ids` (a SQL expression of text values).
    private static func registrations(_ ids: String) -> String {
        "SELECT seq FROM participants WHERE seq < $1 AND participant IN (\(ids))"
    }

    /// How a rescue's food left its provider (`ReportFacts.channel`), from the rescue `r`, its claim
    /// `c`, its sale `s` and its offer's conversion `v` (`channelJoins`), at the report's size $1.
    static let channel = """
        CASE WHEN coalesce(c.price_rupiah, 0) > 0 THEN CASE WHEN s.seq IS NOT NULL THEN 'soldAtAuction' ELSE 'sold' END
            WHEN v.closed_seq IS NOT NULL THEN 'donatedAfterAuction' ELSE 'donated' END
        """
    static let channelSeq = "CASE WHEN coalesce(c.price_rupiah, 0) > 0 THEN s.seq ELSE v.closed_seq END"
    static let channelJoins = """
        LEFT JOIN auction_sales s ON s.claim = r.claim AND s.seq < $1
        LEFT JOIN auctions v ON v.offer = r.offer AND v.closed_kind = 'auction.converted' AND v.closed_seq < $1
        """

    // MARK: CSR donation report

    private func csr(_ at: At, company: String, site: String?, from: Int64?, until: Int64?) throws -> Report {
        try requireCompany(at, company)
        let providers = "SELECT $2::text AS provider UNION SELECT participant FROM participants WHERE role = 'site' AND company = $2 AND seq < $1"
        if let site {
            let found = try connection.query("SELECT 1 FROM (\(providers)) p WHERE provider = $3", [at.size, company, site])
            guard !found.isEmpty else { throw Reports.Refusal.siteIsNotTheCompanys }
        }
        // $5 is the one site asked for, or NULL for all of the company's providers.
        let scope = "SELECT provider FROM (\(providers)) p WHERE $5::text IS NULL OR provider = $5"
        let result = try object("""
            WITH refunds AS (
                -- By claim: a group claim's refunds are its members' escrows' (FORMAT §7.13).
                SELECT e.claim AS escrow, sum(m.rupiah) AS rupiah, array_agg(m.seq) AS seqs
                FROM escrow_movements m JOIN escrows e ON e.escrow = m.escrow
                WHERE m.kind = 'escrow.refunded' AND m.seq < $1 GROUP BY e.claim
            ), l AS (
                SELECT r.*, c.price_rupiah, d.dispute, d.seq AS dispute_seq,
                    CASE WHEN d.resolved_seq < $1 THEN d.resolved_seq END AS resolved_seq, \(Self.disputeOutcome) AS outcome,
                    coalesce(f.rupiah, 0) AS refund, f.seqs AS refund_seqs, \(Self.channel) AS channel, \(Self.channelSeq) AS channel_seq,
                    po.seq AS till_seq, coalesce(po.body_sha256, '') AS till_body,
                    (SELECT min(sc.score) FROM scans sc WHERE sc.claim = r.claim AND sc.stage = 'pickup' AND sc.seq < $1) AS attested_score,
                    (SELECT array_agg(sc.seq) FROM scans sc WHERE sc.claim = r.claim AND sc.stage = 'pickup' AND sc.seq < $1) AS scan_seqs,
                    (SELECT coalesce(string_agg(cl.courier || ':' || cl.grams, ';' ORDER BY cl.delivered_seq), '') FROM courier_legs cl
                        WHERE cl.claim = r.claim AND cl.delivered_seq < $1) AS couriers,
                    (SELECT array_agg(cl.delivered_seq) FROM courier_legs cl WHERE cl.claim = r.claim AND cl.delivered_seq < $1) AS courier_seqs
                FROM rescues r LEFT JOIN claims c ON c.claim = r.claim LEFT JOIN disputes d ON d.claim = r.claim AND d.seq < $1
                    LEFT JOIN refunds f ON f.escrow = r.claim LEFT JOIN pos_offers po ON po.offer = r.offer AND po.seq < $1 \(Self.channelJoins)
                WHERE r.seq < $1 AND r.provider IN (\(scope)) AND r.time_us BETWEEN $3 AND $4
            ), t AS (
                SELECT *, \(Self.rescueCounts) AS in_totals FROM l
            ), tokens AS (
                SELECT * FROM carbon_movements WHERE seq < $1 AND time_us BETWEEN $3 AND $4 AND owner = $2
                    AND (kind = 'carbon.minted' OR kind = 'carbon.retired')
            )
            SELECT jsonb_build_object(
                'lines', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'seq', seq, 'time', time_us, 'site', provider, 'claim', claim, 'offer', offer, 'recipient', claimant, 'category', category,
                    'destination', 'people', 'gramsRescued', grams_rescued, 'portionsServed', portions_served, 'meals', meals,
                    'lifecycleGramsCO2e', lifecycle_grams_co2e, 'downstreamGramsCO2e', downstream_grams_co2e,
                    'paid', coalesce(price_rupiah, 0) > 0, 'channel', channel, 'dispute', coalesce(dispute, ''), 'disputeOutcome', outcome,
                    'refundRupiah', refund, 'inTotals', in_totals, 'tillBodySha256', till_body,
                    'attestedScore', coalesce(to_jsonb(attested_score), '""'::jsonb), 'couriers', couriers) ORDER BY seq) FROM t), '[]'),
                'totals', (SELECT jsonb_build_object(
                    'rescues', count(*) FILTER (WHERE in_totals),
                    'gramsRescued', coalesce(sum(grams_rescued) FILTER (WHERE in_totals), 0),
                    'portionsServed', coalesce(sum(portions_served) FILTER (WHERE in_totals), 0),
                    'meals', coalesce(sum(meals) FILTER (WHERE in_totals), 0),
                    'lifecycleGramsCO2e', coalesce(sum(lifecycle_grams_co2e) FILTER (WHERE in_totals), 0),
                    'downstreamGramsCO2e', coalesce(sum(downstream_grams_co2e) FILTER (WHERE in_totals), 0),
                    'gramsByDestination', jsonb_build_object('people', coalesce(sum(grams_rescued) FILTER (WHERE in_totals), 0)),
                    'gramsByChannel', coalesce((SELECT jsonb_object_agg(channel, grams) FROM (
                        SELECT channel, sum(grams_rescued) AS grams FROM t WHERE in_totals GROUP BY channel) c), '{}'),
                    'recipients', count(DISTINCT claimant) FILTER (WHERE in_totals),
                    'excludedRescues', count(*) FILTER (WHERE NOT in_totals),
                    'excludedGrams', coalesce(sum(grams_rescued) FILTER (WHERE NOT in_totals), 0),
                    'refundsRupiah', coalesce(sum(refund), 0),
                    'gramsByCategory', coalesce((SELECT jsonb_object_agg(category, grams) FROM (
                        SELECT category, sum(grams_rescued) AS grams FROM t WHERE in_totals GROUP BY category) c), '{}'),
                    'byMonth', coalesce((SELECT jsonb_object_agg(month, jsonb_build_object(
                        'gramsRescued', grams, 'lifecycleGramsCO2e', lifecycle, 'downstreamGramsCO2e', downstream)) FROM (
                        SELECT to_char(date '1970-01-01' + floor((time_us + 25200000000)::numeric / 86400000000)::integer, 'YYYY-MM') AS month,
                            sum(grams_rescued) AS grams, sum(lifecycle_grams_co2e) AS lifecycle, sum(downstream_grams_co2e) AS downstream
                        FROM t WHERE in_totals GROUP BY 1) m), '{}'),
                    'factorSets', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'policy', policy, 'rescues', rescues, 'carbonPolicyFile', coalesce((SELECT carbon_policy_file FROM policy_activations a
                            WHERE a.policy = p.policy AND a.seq < $1 ORDER BY a.seq DESC LIMIT 1), '')) ORDER BY policy)
                        FROM (SELECT policy, count(*) AS rescues FROM t WHERE in_totals GROUP BY policy) p), '[]'),
                    'tokensMinted', (SELECT coalesce(sum(tokens), 0) FROM tokens WHERE kind = 'carbon.minted' AND part = 'range'),
                    'bufferTokens', (SELECT coalesce(sum(tokens), 0) FROM tokens WHERE kind = 'carbon.minted' AND part = 'buffer'),
                    'tokensRetired', (SELECT coalesce(sum(tokens), 0) FROM tokens WHERE kind = 'carbon.retired')
                ) FROM t),
                'seqs', coalesce((SELECT jsonb_agg(s) FROM (
                    SELECT seq AS s FROM t UNION SELECT dispute_seq FROM t WHERE dispute_seq IS NOT NULL
                    UNION SELECT resolved_seq FROM t WHERE resolved_seq IS NOT NULL UNION SELECT unnest(refund_seqs) FROM t
                    UNION SELECT channel_seq FROM t WHERE channel_seq IS NOT NULL UNION SELECT seq FROM tokens
                    UNION SELECT till_seq FROM t WHERE till_seq IS NOT NULL UNION SELECT unnest(scan_seqs) FROM t UNION SELECT unnest(courier_seqs) FROM t
                    UNION \(Self.registrations("SELECT $2::text UNION SELECT $5::text UNION SELECT provider FROM t UNION SELECT claimant FROM t"))
                    UNION SELECT max(seq) FROM policy_activations WHERE seq < $1 AND policy IN (SELECT policy FROM t WHERE in_totals) GROUP BY policy
                    ) s), '[]'))
            """, [at.size, company, String(from ?? Int64.min), String(until ?? Int64.max), site])
        var parameters: [String: JSONValue] = ["company": .string(company)]
        parameters["site"] = site.map(JSONValue.string)
        parameters["from"] = from.map(JSONValue.integer)
        parameters["until"] = until.map(JSONValue.integer)
        return Report(
            kind: "csr", parameters: parameters, checkpointSize: at.sizeValue, checkpointRoot: at.root, columns: Reports.csrColumns,
            lines: Self.lines(result["lines"]), totals: result["totals"]?.objectValue ?? [:], seqs: Self.seqs(result["seqs"]))
    }

    // MARK: Tax donation evidence register

    private func tax(_ at: At, company: String, year: Int, income: Int64?) throws -> Report {
        try requireCompany(at, company)
        let result = try object("""
            WITH l AS (
                SELECT r.seq, r.claim, r.provider, r.claimant, r.category, r.grams_rescued, r.portions_served, o.seq AS offer_seq,
                    c.seq AS claim_seq, CASE WHEN c.pickup_seq < $1 THEN c.pickup_seq END AS pickup_seq,
                    CASE WHEN c.delivery_seq < $1 THEN c.delivery_seq END AS delivery_seq,
                    p.seq AS recipient_seq, p.registration_number, p.tax_number, p.donation_purpose,
                    floor(o.cost_rupiah::numeric * r.grams_rescued / o.grams)::bigint AS cost,
                    d.seq AS dispute_seq, CASE WHEN d.resolved_seq < $1 THEN d.resolved_seq END AS resolved_seq, \(Self.disputeOutcome) AS outcome,
                    \(Self.channel) AS channel, \(Self.channelSeq) AS channel_seq,
                    to_char(date '1970-01-01' + floor((r.time_us + 25200000000)::numeric / 86400000000)::integer, 'YYYY-MM-DD') AS day
                FROM rescues r JOIN claims c ON c.claim = r.claim JOIN offers o ON o.offer = r.offer
                    LEFT JOIN participants p ON p.participant = r.claimant AND p.seq < $1
                    LEFT JOIN disputes d ON d.claim = r.claim AND d.seq < $1 \(Self.channelJoins)
                WHERE r.seq < $1 AND c.price_rupiah = 0 AND r.provider IN (
                    SELECT $2::text UNION SELECT participant FROM participants WHERE role = 'site' AND company = $2 AND seq < $1)
            ), y AS (
                SELECT *, \(Self.rescueCounts) AS in_totals, array_remove(ARRAY[
                    CASE WHEN tax_number IS NULL THEN 'recipientHasNoTaxNumber' END,
                    CASE WHEN donation_purpose IS NULL THEN 'recipientPurposeIsNotListed' END,
                    CASE WHEN cost IS NULL THEN 'costIsNotDeclared' END,
                    CASE WHEN outcome = 'open' THEN 'disputeIsOpen' WHEN NOT \(Self.rescueCounts) THEN 'disputeRefunded' END
                ], NULL) AS reasons FROM l WHERE substr(day, 1, 4) = $3
            ), e AS (
                SELECT coalesce(sum(cost) FILTER (WHERE cardinality(reasons) = 0), 0) AS eligible FROM y
            )
            SELECT jsonb_build_object(
                'lines', coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                    'date', day, 'seq', seq, 'offerSeq', offer_seq, 'claimSeq', claim_seq, 'pickupSeq', pickup_seq, 'deliverySeq', delivery_seq,
                    'site', provider, 'recipient', claimant, 'recipientRegistration', coalesce(registration_number, ''),
                    'recipientTaxNumber', coalesce(tax_number, ''), 'recipientPurpose', coalesce(donation_purpose, ''), 'recipientSeq', recipient_seq,
                    'goods', category, 'gramsRescued', grams_rescued, 'portionsServed', portions_served, 'costRupiah', cost, 'channel', channel, 'inTotals', in_totals,
                    'eligible', cardinality(reasons) = 0, 'reasons', to_jsonb(reasons))) ORDER BY seq) FROM y), '[]'),
                'totals', (SELECT jsonb_strip_nulls(jsonb_build_object(
                    'donations', count(*) FILTER (WHERE in_totals),
                    'gramsRescued', coalesce(sum(grams_rescued) FILTER (WHERE in_totals), 0),
                    'declaredCostRupiah', coalesce(sum(cost) FILTER (WHERE in_totals), 0),
                    'excludedRescues', count(*) FILTER (WHERE NOT in_totals),
                    'excludedGrams', coalesce(sum(grams_rescued) FILTER (WHERE NOT in_totals), 0),
                    'eligibleDonations', count(*) FILTER (WHERE cardinality(reasons) = 0), 'eligibleCostRupiah', (SELECT eligible FROM e),
                    'capRupiah', $4::bigint / 20,
                    'deductibleRupiah', CASE WHEN $4::bigint IS NOT NULL THEN least($4::bigint / 20, (SELECT eligible FROM e)) END,
                    'capExceeded', (SELECT eligible FROM e) > $4::bigint / 20)) FROM y),
                'seqs', coalesce((SELECT jsonb_agg(s) FROM (
                    SELECT seq AS s FROM y UNION SELECT offer_seq FROM y UNION SELECT claim_seq FROM y
                    UNION SELECT pickup_seq FROM y WHERE pickup_seq IS NOT NULL UNION SELECT delivery_seq FROM y WHERE delivery_seq IS NOT NULL
                    UNION SELECT dispute_seq FROM y WHERE dispute_seq IS NOT NULL UNION SELECT resolved_seq FROM y WHERE resolved_seq IS NOT NULL
                    UNION SELECT recipient_seq FROM y WHERE recipient_seq IS NOT NULL UNION SELECT channel_seq FROM y WHERE channel_seq IS NOT NULL
                    UNION \(Self.registrations("SELECT $2::text UNION SELECT provider FROM y"))) s), '[]'))
            """, [at.size, company, String(year), income.map { String($0) }])
        var parameters: [String: JSONValue] = ["company": .string(company), "year": .integer(Int64(year))]
        let donor = try connection.query("SELECT tax_number FROM participants WHERE participant = $2 AND seq < $1", [at.size, company]).first?[0] ?? nil
        parameters["companyTaxNumber"] = donor.map(JSONValue.string)
        parameters["priorYearNetIncomeRupiah"] = income.map(JSONValue.integer)
        return Report(
            kind: "tax", parameters: parameters, checkpointSize: at.sizeValue, checkpointRoot: at.root, columns: Reports.taxColumns,
            lines: Self.lines(result["lines"]), totals: result["totals"]?.objectValue ?? [:], seqs: Self.seqs(result["seqs"]))
    }

    // MARK: Carbon statement and retirement register

    /// Merges ranges (vintage, f, l) of the relation `source` into maximal runs: a range starts a
    /// new run unless it touches or overlaps the ranges before it in its vintage.
    private static func merged(_ source: String) -> String {
        """
        SELECT vintage, min(f) AS f, max(l) AS l FROM (
            SELECT vintage, f, l, sum(starts) OVER (PARTITION BY vintage ORDER BY f, l) AS run FROM (
                SELECT vintage, f, l, CASE WHEN f <= max(l) OVER (PARTITION BY vintage ORDER BY f, l
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1 THEN 0 ELSE 1 END AS starts FROM (\(source)) s
            ) g
        ) r GROUP BY vintage, run
        """
    }

    private func carbon(_ at: At, company: String) throws -> Report {
        try requireCompany(at, company)
        let result = try object("""
            WITH m AS (
                SELECT seq, part, time_us, kind, owner, to_owner, vintage, first_serial AS f, last_serial AS l, tokens, beneficiary, reason
                FROM carbon_movements WHERE seq < $1
            ), mine AS (
                SELECT * FROM m WHERE (kind = 'carbon.minted' AND part = 'range' AND owner = $2)
                    OR (kind = 'carbon.transferred' AND (owner = $2 OR to_owner = $2))
                    OR (kind IN ('carbon.retired', 'carbon.cancelled') AND owner = $2)
            ), holdings AS (
                SELECT vintage, first_serial AS f, last_serial AS l FROM carbon_holdings_at($1) WHERE holder = $2 AND status = 'held'
            ), retired AS (
                \(Self.merged("SELECT vintage, f, l FROM m WHERE kind = 'carbon.retired' AND owner = $2"))
            ), histories AS (
                SELECT h.*, (SELECT jsonb_agg(DISTINCT m.seq ORDER BY m.seq) FROM m WHERE m.vintage = h.vintage AND m.f <= h.l AND h.f <= m.l) AS seqs
                FROM (SELECT 0 AS ord, 'held' AS status, * FROM holdings UNION ALL SELECT 1, 'retired', * FROM retired) h
            ), buffer AS (
                SELECT * FROM m WHERE kind = 'carbon.minted' AND part = 'buffer' AND owner = $2
            )
            SELECT jsonb_build_object(
                'lines', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'seq', seq, 'time', time_us, 'kind', kind, 'vintage', vintage, 'first', f, 'last', l, 'tokens', tokens,
                    'from', CASE WHEN kind = 'carbon.minted' THEN '' ELSE owner END,
                    'to', CASE kind WHEN 'carbon.minted' THEN owner WHEN 'carbon.transferred' THEN to_owner ELSE '' END,
                    'beneficiary', coalesce(beneficiary, ''), 'reason', coalesce(reason, ''),
                    'attestedRescues', CASE WHEN kind = 'carbon.minted' THEN (
                        SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM scans sc WHERE sc.claim = r.claim AND sc.stage = 'pickup' AND sc.seq < $1))
                            || ' of ' || count(*)
                        FROM ledger_entries e CROSS JOIN LATERAL jsonb_array_elements_text(e.payload->'basedOn') b(rescue)
                            LEFT JOIN rescues r ON r.seq = b.rescue::bigint
                        WHERE e.seq = mine.seq) ELSE '' END) ORDER BY seq) FROM mine), '[]'),
                'totals', jsonb_build_object(
                    'minted', (SELECT coalesce(sum(tokens), 0) FROM mine WHERE kind = 'carbon.minted'),
                    'received', (SELECT coalesce(sum(tokens), 0) FROM mine WHERE kind = 'carbon.transferred' AND to_owner = $2),
                    'sent', (SELECT coalesce(sum(tokens), 0) FROM mine WHERE kind = 'carbon.transferred' AND owner = $2),
                    'retired', (SELECT coalesce(sum(tokens), 0) FROM mine WHERE kind = 'carbon.retired'),
                    'cancelled', (SELECT coalesce(sum(tokens), 0) FROM mine WHERE kind = 'carbon.cancelled'),
                    'balance', (SELECT coalesce(sum(l - f + 1), 0) FROM holdings),
                    'bufferTokens', (SELECT coalesce(sum(tokens), 0) FROM buffer)),
                'sections', jsonb_build_object(
                    'holdings', coalesce((SELECT jsonb_agg(jsonb_build_object('vintage', vintage, 'first', f, 'last', l, 'tokens', l - f + 1)
                        ORDER BY vintage, f) FROM holdings), '[]'),
                    'bufferContributions', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', seq, 'vintage', vintage, 'first', f, 'last', l,
                        'tokens', tokens) ORDER BY seq) FROM buffer), '[]'),
                    'retirements', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', seq, 'time', time_us, 'vintage', vintage, 'first', f,
                        'last', l, 'tokens', tokens, 'beneficiary', beneficiary, 'reason', reason) ORDER BY seq)
                        FROM mine WHERE kind = 'carbon.retired'), '[]'),
                    'serialHistories', coalesce((SELECT jsonb_agg(jsonb_build_object('vintage', vintage, 'first', f, 'last', l,
                        'tokens', l - f + 1, 'status', status, 'seqs', seqs) ORDER BY ord, vintage, f) FROM histories), '[]')),
                'seqs', coalesce((SELECT jsonb_agg(s) FROM (
                    SELECT seq AS s FROM mine UNION SELECT seq FROM buffer
                    UNION SELECT jsonb_array_elements(seqs)::text::bigint FROM histories
                    UNION \(Self.registrations("SELECT $2::text"))) s), '[]'))
            """, [at.size, company])
        return Report(
            kind: "carbon", parameters: ["company": .string(company)], checkpointSize: at.sizeValue, checkpointRoot: at.root,
            columns: Reports.carbonColumns, lines: Self.lines(result["lines"]), totals: result["totals"]?.objectValue ?? [:],
            sections: result["sections"]?.objectValue ?? [:], seqs: Self.seqs(result["seqs"]))
    }

    private func retirements(_ at: At) throws -> Report {
        let result = try object("""
            WITH r AS (SELECT * FROM carbon_movements WHERE seq < $1 AND kind = 'carbon.retired')
            SELECT jsonb_build_object(
                'lines', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', seq, 'time', time_us, 'owner', owner, 'vintage', vintage,
                    'first', first_serial, 'last', last_serial, 'tokens', tokens, 'beneficiary', beneficiary, 'reason', reason) ORDER BY seq) FROM r), '[]'),
                'totals', (SELECT jsonb_build_object('retirements', count(*), 'tokens', coalesce(sum(tokens), 0)) FROM r),
                'seqs', coalesce((SELECT jsonb_agg(seq) FROM r), '[]'))
            """, [at.size])
        return Report(
            kind: "retirements", parameters: [:], checkpointSize: at.sizeValue, checkpointRoot: at.root, columns: Reports.retirementColumns,
            lines: Self.lines(result["lines"]), totals: result["totals"]?.objectValue ?? [:], seqs: Self.seqs(result["seqs"]))
    }
}
