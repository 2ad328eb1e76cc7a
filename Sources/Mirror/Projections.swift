/// The typed projections of the mirror (migration 2): offers, claims, rescues, escrows,
/// disputes, carbon movements, participants and policy activations, derived *by SQL* from the
/// payloads `ledger_entries` already holds. They are filled in the same transaction as the rows
/// they come from (`apply(from:to:)`), so they are exactly as far as the cursor; each row keeps
/// the seq of the entry it rests on. Deriving them in SQL rather than in Swift is deliberate: the
/// SQL reports (`MirrorReports`) then share no decoding with the ledger's own reports, and a
/// test that holds the two equal checks one against the other.
enum Projections {
    /// The tables, created by migration 2.
    static let schema = """
        CREATE TABLE participants (
            participant text PRIMARY KEY, seq bigint NOT NULL, role text NOT NULL, company text, region text NOT NULL,
            registration_number text, tax_number text, donation_purpose text
        );
        CREATE INDEX participants_company ON participants (company);
        CREATE TABLE offers (
            offer text PRIMARY KEY, seq bigint NOT NULL, provider text NOT NULL, category text NOT NULL, grams bigint NOT NULL,
            portions bigint NOT NULL, price_rupiah bigint NOT NULL, cost_rupiah bigint, posted_at bigint NOT NULL, expires_at bigint NOT NULL
        );
        CREATE TABLE claims (
            claim text PRIMARY KEY, seq bigint NOT NULL, offer text NOT NULL, claimant text NOT NULL, portions bigint NOT NULL,
            grams bigint NOT NULL, price_rupiah bigint NOT NULL, cancelled_seq bigint, pickup_seq bigint, picked_up_grams bigint,
            delivery_seq bigint
        );
        CREATE TABLE rescues (
            claim text PRIMARY KEY, seq bigint NOT NULL UNIQUE, time_us bigint NOT NULL, policy text NOT NULL, offer text NOT NULL,
            provider text NOT NULL, claimant text NOT NULL, category text NOT NULL, grams_rescued bigint NOT NULL,
            portions_served bigint NOT NULL, meals bigint NOT NULL, lifecycle_grams_co2e bigint NOT NULL, downstream_grams_co2e bigint NOT NULL
        );
        CREATE INDEX rescues_provider ON rescues (provider, seq);
        CREATE TABLE escrows (
            escrow text PRIMARY KEY, seq bigint NOT NULL, claim text NOT NULL, buyer text NOT NULL, provider text NOT NULL, held_rupiah bigint NOT NULL
        );
        CREATE TABLE escrow_movements (
            seq bigint PRIMARY KEY, escrow text NOT NULL, kind text NOT NULL, rupiah bigint NOT NULL, rule text
        );
        CREATE INDEX escrow_movements_escrow ON escrow_movements (escrow);
        CREATE TABLE disputes (
            dispute text PRIMARY KEY, seq bigint NOT NULL, claim text NOT NULL, claimant text NOT NULL, reason text NOT NULL,
            held_rupiah bigint NOT NULL, resolved_seq bigint, outcome text, refund_rupiah bigint, rule text
        );
        CREATE INDEX disputes_claim ON disputes (claim);
        CREATE TABLE carbon_movements (
            seq bigint NOT NULL, part text NOT NULL CHECK (part IN ('range', 'buffer')), time_us bigint NOT NULL, kind text NOT NULL,
            owner text NOT NULL, to_owner text, vintage integer NOT NULL, first_serial bigint NOT NULL, last_serial bigint NOT NULL,
            tokens bigint NOT NULL CHECK (tokens = last_serial - first_serial + 1), beneficiary text, reason text,
            PRIMARY KEY (seq, part)
        );
        CREATE INDEX carbon_movements_serials ON carbon_movements (vintage, first_serial);
        CREATE TABLE policy_activations (
            seq bigint PRIMARY KEY, policy text NOT NULL, carbon_policy_file text
        );
        CREATE VIEW escrow_balances AS
            SELECT e.escrow, e.claim, e.buyer, e.provider, e.held_rupiah,
                coalesce(sum(m.rupiah) FILTER (WHERE m.kind = 'escrow.released'), 0) AS released_rupiah,
                coalesce(sum(m.rupiah) FILTER (WHERE m.kind = 'escrow.refunded'), 0) AS refunded_rupiah
            FROM escrows e LEFT JOIN escrow_movements m ON m.escrow = e.escrow GROUP BY e.escrow;
        CREATE VIEW company_balances AS
            SELECT account, sum(delta) AS tokens FROM (
                SELECT to_owner AS account, tokens AS delta FROM carbon_movements WHERE kind IN ('carbon.minted', 'carbon.transferred')
                UNION ALL SELECT owner, -tokens FROM carbon_movements WHERE kind <> 'carbon.minted'
            ) moves GROUP BY account
        """

    /// Who holds which serials at a tree size (migration 3; for retired or cancelled serials, who
    /// retired or cancelled them): each serial's state is that of the
    /// last movement covering it below `size` (movement ends cut the serials into segments that
    /// are wholly inside or outside every movement), and adjacent segments of one holder and
    /// status are joined. `carbon_holdings` is the same for the whole mirror.
    static let holdings = """
        CREATE FUNCTION carbon_holdings_at(size bigint)
        RETURNS TABLE (vintage integer, first_serial bigint, last_serial bigint, tokens bigint, holder text, status text)
        -- As its owner: the role views call it for logins that may not read carbon_movements.
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            WITH m AS (
                SELECT seq, kind, owner, to_owner, vintage, first_serial AS f, last_serial AS l FROM carbon_movements WHERE seq < size
            ), points AS (
                SELECT vintage, f AS p FROM m UNION SELECT vintage, l + 1 FROM m
            ), segments AS (
                SELECT vintage, p AS f, lead(p) OVER (PARTITION BY vintage ORDER BY p) - 1 AS l FROM points
            ), states AS (
                SELECT s.vintage, s.f, s.l,
                    CASE WHEN last.kind IN ('carbon.minted', 'carbon.transferred') THEN last.to_owner ELSE last.owner END AS holder,
                    CASE last.kind WHEN 'carbon.retired' THEN 'retired' WHEN 'carbon.cancelled' THEN 'cancelled' ELSE 'held' END AS status
                FROM segments s CROSS JOIN LATERAL (
                    SELECT kind, owner, to_owner FROM m WHERE m.vintage = s.vintage AND m.f <= s.f AND s.l <= m.l ORDER BY m.seq DESC LIMIT 1
                ) last WHERE s.l IS NOT NULL
            ), runs AS (
                SELECT *, sum(starts) OVER (PARTITION BY vintage, holder, status ORDER BY f) AS run FROM (
                    SELECT *, CASE WHEN f = lag(l) OVER (PARTITION BY vintage, holder, status ORDER BY f) + 1 THEN 0 ELSE 1 END AS starts FROM states
                ) marked
            )
            SELECT vintage, min(f), max(l), max(l) - min(f) + 1, holder, status FROM runs GROUP BY vintage, holder, status, run
        $$;
        CREATE VIEW carbon_holdings AS SELECT * FROM carbon_holdings_at((SELECT applied FROM mirror_cursor))
        """

    /// Tables the projections write, in the order `rebuild` empties them.
    static let tables = [
        "participants", "offers", "claims", "rescues", "escrows", "escrow_movements", "disputes", "carbon_movements", "policy_activations", "auctions",
        "auction_sales", "groups", "group_members", "scans", "pos_syncs", "pos_offers", "courier_legs", "courier_points",
    ]

    /// The evidence behind a rescue (migration 6; FORMAT §7.14–7.16): each attested scan, each
    /// till sync, each courier leg, and each points award, with the leaderboard as a view:
    /// `SELECT * FROM courier_leaderboard` ranks couriers by points (balances are the sum).
    static let evidenceSchema = """
        CREATE TABLE scans (
            scan text PRIMARY KEY, seq bigint NOT NULL, device text NOT NULL, offer text, claim text, stage text NOT NULL, score bigint NOT NULL,
            scanned_at bigint NOT NULL
        );
        CREATE TABLE pos_syncs (
            seq bigint PRIMARY KEY, connection text NOT NULL, vendor_event text NOT NULL, body_sha256 text NOT NULL, offers bigint NOT NULL,
            UNIQUE (connection, vendor_event)
        );
        CREATE TABLE pos_offers (offer text PRIMARY KEY, seq bigint NOT NULL, body_sha256 text NOT NULL);
        CREATE TABLE courier_legs (
            claim text NOT NULL, courier text NOT NULL, assigned_seq bigint NOT NULL, grams bigint NOT NULL, booking_sha256 text, pickup_seq bigint,
            delivered_seq bigint, distance_metres bigint, PRIMARY KEY (claim, courier, assigned_seq)
        );
        CREATE TABLE courier_points (
            seq bigint PRIMARY KEY, courier text NOT NULL, claim text NOT NULL, points bigint NOT NULL, kg_points bigint NOT NULL,
            km_points bigint NOT NULL, cold_chain_points bigint NOT NULL, near_expiry_points bigint NOT NULL
        );
        CREATE VIEW courier_leaderboard AS
            SELECT courier, sum(points)::bigint AS points, count(*)::bigint AS deliveries, rank() OVER (ORDER BY sum(points) DESC) AS rank
            FROM courier_points GROUP BY courier
        """

    /// Statements that project the evidence entries with seqs `$1 ..< $2` (part of `apply`).
    static let evidenceApply: [String] = [
        """
        INSERT INTO scans SELECT payload->>'scan', seq, payload->>'device', payload->>'offer', payload->>'claim', payload->>'stage',
            (payload->>'score')::bigint, (payload->>'scannedAt')::bigint
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'scan.attested'
        """,
        """
        INSERT INTO pos_syncs SELECT seq, payload->>'connection', payload->>'vendorEvent', payload->>'bodySha256',
            (SELECT count(*) FROM jsonb_array_elements(payload->'lines') l WHERE l ? 'offer')
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'pos.synced'
        """,
        """
        INSERT INTO pos_offers SELECT l->>'offer', seq, payload->>'bodySha256'
        FROM ledger_entries CROSS JOIN LATERAL jsonb_array_elements(payload->'lines') l
        WHERE seq >= $1 AND seq < $2 AND kind = 'pos.synced' AND l ? 'offer'
        """,
        """
        INSERT INTO courier_legs SELECT payload->>'claim', payload->>'courier', seq, (payload->>'grams')::bigint, payload->>'bookingSha256', NULL, NULL, NULL
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'courier.assigned'
        """,
        """
        UPDATE courier_legs l SET pickup_seq = e.seq FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'courier.pickup' AND l.claim = e.payload->>'claim' AND l.courier = e.payload->>'courier'
            AND l.pickup_seq IS NULL AND l.assigned_seq < e.seq
        """,
        """
        UPDATE courier_legs l SET delivered_seq = e.seq, distance_metres = (e.payload->>'distanceMetres')::bigint FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'courier.delivered' AND l.claim = e.payload->>'claim' AND l.courier = e.payload->>'courier'
            AND l.delivered_seq IS NULL AND l.pickup_seq < e.seq
        """,
        """
        INSERT INTO courier_points SELECT seq, payload->>'courier', payload->>'claim', (payload->>'points')::bigint, (payload->>'kgPoints')::bigint,
            (payload->>'kmPoints')::bigint, (payload->>'coldChainPoints')::bigint, (payload->>'nearExpiryPoints')::bigint
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'points.awarded'
        """,
    ]

    /// RT/RW group buys (migration 5; FORMAT §7.13): each group, how it ended, and each member
    /// with its portions, its share of the group's claim and its escrow (NULL before the claim).
    static let groupSchema = """
        CREATE TABLE groups (
            "group" text PRIMARY KEY, seq bigint NOT NULL, coordinator text NOT NULL, area text NOT NULL, offer text, category text,
            deadline bigint NOT NULL, min_portions bigint NOT NULL, claim text, claimed_seq bigint, claimed_offer text, price_rupiah bigint,
            ended_seq bigint, ended_kind text
        );
        CREATE TABLE group_members (
            "group" text NOT NULL, member text NOT NULL, joined_seq bigint NOT NULL, portions bigint NOT NULL, left_seq bigint,
            share_rupiah bigint, escrow text, no_show_seq bigint, PRIMARY KEY ("group", member, joined_seq)
        )
        """

    /// Statements that project the group entries with seqs `$1 ..< $2` (part of `apply`).
    static let groupApply: [String] = [
        """
        INSERT INTO groups SELECT payload->>'group', seq, payload->>'coordinator', payload->>'area', payload->>'offer', payload->>'category',
            (payload->>'deadline')::bigint, (payload->>'minPortions')::bigint, NULL, NULL, NULL, NULL, NULL, NULL
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'group.formed'
        """,
        """
        INSERT INTO group_members SELECT payload->>'group', payload->>'member', seq, (payload->>'portions')::bigint, NULL, NULL, NULL, NULL
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'group.joined'
        """,
        """
        UPDATE group_members m SET left_seq = e.seq FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'group.left' AND e.payload->>'reason' = 'left' AND m."group" = e.payload->>'group'
            AND m.member = e.payload->>'member' AND m.left_seq IS NULL AND m.joined_seq < e.seq
        """,
        """
        UPDATE group_members m SET no_show_seq = e.seq FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'group.left' AND e.payload->>'reason' = 'noShow' AND m."group" = e.payload->>'group'
            AND m.member = e.payload->>'member' AND m.left_seq IS NULL
        """,
        """
        UPDATE groups g SET claim = e.payload->>'claim', claimed_seq = e.seq, claimed_offer = e.payload->>'offer',
            price_rupiah = (e.payload->>'priceRupiah')::bigint
        FROM ledger_entries e WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'group.claimed' AND g."group" = e.payload->>'group'
        """,
        """
        UPDATE group_members m SET share_rupiah = (s->>'rupiah')::bigint, escrow = s->>'escrow'
        FROM ledger_entries e CROSS JOIN LATERAL jsonb_array_elements(e.payload->'shares') s
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'group.claimed' AND m."group" = e.payload->>'group' AND m.member = s->>'member'
            AND m.left_seq IS NULL
        """,
        """
        UPDATE groups g SET ended_seq = e.seq, ended_kind = e.kind FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind IN ('group.expired', 'group.closed') AND g."group" = e.payload->>'group'
        """,
    ]

    /// Flash Ludes auctions (migration 4; FORMAT §7.12): each auction with its curve and how it
    /// closed (`closed_kind`: `auction.sold`, `auction.converted` or `auction.cancelled`, with the
    /// seq; NULL while open), and each sale.
    static let auctionSchema = """
        CREATE TABLE auctions (
            auction text PRIMARY KEY, seq bigint NOT NULL, offer text NOT NULL, provider text NOT NULL, curve text NOT NULL, shape text NOT NULL,
            start_rupiah bigint NOT NULL, floor_rupiah bigint NOT NULL, duration_us bigint NOT NULL, step_us bigint, drop_permille bigint,
            half_life_us bigint, portions bigint NOT NULL, grams bigint NOT NULL, offer_price_rupiah bigint NOT NULL, started_at bigint NOT NULL,
            ends_at bigint NOT NULL, end_rule text NOT NULL, closed_seq bigint, closed_kind text, converted_portions bigint, converted_grams bigint
        );
        CREATE INDEX auctions_offer ON auctions (offer);
        CREATE TABLE auction_sales (
            seq bigint PRIMARY KEY, time_us bigint NOT NULL, auction text NOT NULL, offer text NOT NULL, claim text NOT NULL UNIQUE,
            buyer text NOT NULL, portions bigint NOT NULL, grams bigint NOT NULL, lot_price_rupiah bigint NOT NULL, price_rupiah bigint NOT NULL,
            elapsed_us bigint NOT NULL, rule text NOT NULL
        );
        CREATE INDEX auction_sales_auction ON auction_sales (auction)
        """

    /// Statements that project the auction entries with seqs `$1 ..< $2` (part of `apply`).
    static let auctionApply: [String] = [
        """
        INSERT INTO auctions SELECT payload->>'auction', seq, payload->>'offer', payload->>'provider', payload->>'curve', payload->>'shape',
            (payload->>'startRupiah')::bigint, (payload->>'floorRupiah')::bigint, (payload->>'durationMicroseconds')::bigint,
            (payload->>'stepMicroseconds')::bigint, (payload->>'dropPermille')::bigint, (payload->>'halfLifeMicroseconds')::bigint,
            (payload->>'portions')::bigint, (payload->>'grams')::bigint, (payload->>'offerPriceRupiah')::bigint, time_us,
            (payload->>'endsAt')::bigint, payload->>'endRule', NULL, NULL, NULL, NULL
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'auction.started'
        """,
        """
        INSERT INTO auction_sales SELECT seq, time_us, payload->>'auction', payload->>'offer', payload->>'claim', payload->>'buyer',
            (payload->>'portions')::bigint, (payload->>'grams')::bigint, (payload->>'lotPriceRupiah')::bigint, (payload->>'priceRupiah')::bigint,
            (payload->>'elapsedMicroseconds')::bigint, payload->>'rule'
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'auction.sold'
        """,
        // A lot is sold when its sales add up to it (one sale unless part lots are allowed).
        """
        UPDATE auctions a SET closed_seq = s.last, closed_kind = 'auction.sold'
        FROM (SELECT auction, max(seq) AS last, sum(portions) AS sold FROM auction_sales GROUP BY auction) s
        WHERE a.auction = s.auction AND a.closed_seq IS NULL AND s.sold >= a.portions AND s.last >= $1 AND s.last < $2
        """,
        """
        UPDATE auctions a SET closed_seq = e.seq, closed_kind = e.kind,
            converted_portions = CASE e.kind WHEN 'auction.converted' THEN (e.payload->>'portions')::bigint END,
            converted_grams = CASE e.kind WHEN 'auction.converted' THEN (e.payload->>'grams')::bigint END
        FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind IN ('auction.converted', 'auction.cancelled') AND a.auction = e.payload->>'auction'
        """,
    ]

    /// Statements that project the entries with seqs `$1 ..< $2` (already in `ledger_entries`).
    /// Inserts come first, then the updates of rows the same batch may just have inserted.
    static var apply: [String] { coreApply + auctionApply + groupApply + evidenceApply }

    /// The projections of migration 2 (its backfill runs only these: later tables do not exist yet).
    static let coreApply: [String] = [
        """
        INSERT INTO participants SELECT payload->>'participant', seq, payload->>'role', payload->>'company', payload->>'region',
            payload->>'registrationNumber', payload->>'taxNumber', payload->>'donationPurpose'
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'participant.registered'
        """,
        """
        INSERT INTO offers SELECT payload->>'offer', seq, payload->>'provider', payload->>'category', (payload->>'grams')::bigint,
            (payload->>'portions')::bigint, (payload->>'priceRupiah')::bigint, (payload->>'costRupiah')::bigint,
            (payload->>'postedAt')::bigint, (payload->>'expiresAt')::bigint
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'surplus.posted'
        """,
        """
        INSERT INTO claims (claim, seq, offer, claimant, portions, grams, price_rupiah)
        SELECT payload->>'claim', seq, payload->>'offer', payload->>'claimant', (payload->>'portions')::bigint,
            (payload->>'grams')::bigint, (payload->>'priceRupiah')::bigint
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'claim.placed'
        """,
        """
        INSERT INTO rescues SELECT payload->>'claim', seq, time_us, policy, payload->>'offer', payload->>'provider', payload->>'claimant',
            payload->>'category', (payload->>'gramsRescued')::bigint, (payload->>'portionsServed')::bigint, (payload->>'meals')::bigint,
            (payload->>'lifecycleGramsCO2e')::bigint, (payload->>'downstreamGramsCO2e')::bigint
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'rescue.completed'
        """,
        """
        INSERT INTO escrows SELECT payload->>'escrow', seq, payload->>'claim', payload->>'buyer', payload->>'provider', (payload->>'rupiah')::bigint
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'escrow.held'
        """,
        """
        INSERT INTO escrow_movements SELECT seq, payload->>'escrow', kind, (payload->>'rupiah')::bigint, payload->>'rule'
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind IN ('escrow.released', 'escrow.refunded')
        """,
        """
        INSERT INTO disputes (dispute, seq, claim, claimant, reason, held_rupiah)
        SELECT payload->>'dispute', seq, payload->>'claim', payload->>'claimant', payload->>'reason', (payload->>'heldRupiah')::bigint
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'dispute.opened'
        """,
        // A mint writes up to two rows: the company's range and the buffer's.
        """
        INSERT INTO carbon_movements
        SELECT seq, part, time_us, kind, payload->>'company', CASE part WHEN 'range' THEN payload->>'company' ELSE 'buffer' END,
            (payload->part->>'vintage')::integer, (payload->part->>'first')::bigint, (payload->part->>'last')::bigint,
            (payload->part->>'last')::bigint - (payload->part->>'first')::bigint + 1, NULL, NULL
        FROM ledger_entries CROSS JOIN (VALUES ('range'), ('buffer')) AS parts (part)
        WHERE seq >= $1 AND seq < $2 AND kind = 'carbon.minted' AND payload ? part
        """,
        """
        INSERT INTO carbon_movements
        SELECT seq, 'range', time_us, kind, coalesce(payload->>'from', payload->>'owner'), payload->>'to',
            (payload->'range'->>'vintage')::integer, (payload->'range'->>'first')::bigint, (payload->'range'->>'last')::bigint,
            (payload->'range'->>'last')::bigint - (payload->'range'->>'first')::bigint + 1, payload->>'beneficiary', payload->>'reason'
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind IN ('carbon.transferred', 'carbon.retired', 'carbon.cancelled')
        """,
        """
        INSERT INTO policy_activations SELECT seq, payload->>'policy', payload->'files'->>'carbon.yaml'
        FROM ledger_entries WHERE seq >= $1 AND seq < $2 AND kind = 'policy.activated'
        """,
        """
        UPDATE claims c SET cancelled_seq = e.seq FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'claim.cancelled' AND c.claim = e.payload->>'claim'
        """,
        """
        UPDATE claims c SET pickup_seq = e.seq, picked_up_grams = (e.payload->>'grams')::bigint FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'pickup.confirmed' AND c.claim = e.payload->>'claim'
        """,
        """
        UPDATE claims c SET delivery_seq = e.seq FROM ledger_entries e
        WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'delivery.confirmed' AND c.claim = e.payload->>'claim'
        """,
        """
        UPDATE disputes d SET resolved_seq = e.seq, outcome = e.payload->>'outcome', refund_rupiah = (e.payload->>'refundRupiah')::bigint,
            rule = e.payload->>'rule'
        FROM ledger_entries e WHERE e.seq >= $1 AND e.seq < $2 AND e.kind = 'dispute.resolved' AND d.dispute = e.payload->>'dispute'
        """,
    ]
}
