import PostgresNIO
import TroveCore

/// `UpkeepStore` on PostgreSQL. The accounts (a reference table) drive every statement that spans them,
/// so each reaches the account tables through `account_id`.
public struct PostgresUpkeepStore: UpkeepStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func overview(account: Int64) async throws -> AccountOverview {
        let (profiles, companies, events, names, segments, warnings) = try await database.query(
            """
            SELECT (SELECT count(*) FROM profiles WHERE account_id = \(account)),
                   (SELECT count(*) FROM companies WHERE account_id = \(account)),
                   (SELECT coalesce(sum(count), 0)::bigint FROM event_names WHERE account_id = \(account)),
                   (SELECT count(*) FROM event_names WHERE account_id = \(account)),
                   (SELECT count(*) FROM segments WHERE account_id = \(account)),
                   (SELECT coalesce(sum(count), 0)::bigint FROM warnings WHERE account_id = \(account))
            """)[0].decode((Int64, Int64, Int64, Int64, Int64, Int64).self)
        return AccountOverview(profiles: profiles, companies: companies, events: events, eventNames: names, segments: segments, warnings: warnings)
    }

    /// No event watermark on PostgreSQL: what membership trails is the marks not yet taken (ingest's mark rows
    /// count each profile they name, folded or not), and their age.
    public func backlog(now: Timestamp) async throws -> TroveMetrics.Backlog {
        let (dirty, oldest, webhooks, customerio, exports) = try await database.query(
            """
            SELECT coalesce(sum(m.n) FILTER (WHERE m.dynamic), 0)::bigint, min(m.oldest) FILTER (WHERE m.dynamic),
                   coalesce(sum(o.webhooks), 0)::bigint, coalesce(sum(o.customerio), 0)::bigint, coalesce(sum(o.exports), 0)::bigint
            FROM accounts a,
            LATERAL (SELECT d.n + k.n AS n, least(d.oldest, k.oldest) AS oldest,
                            EXISTS (SELECT 1 FROM segments s WHERE s.account_id = a.id AND s.kind = 'dynamic') AS dynamic
                     FROM (SELECT count(*) AS n, min(marked_at) AS oldest FROM membership_dirty WHERE account_id = a.id) d,
                          (SELECT coalesce(sum(cardinality(object_ids)), 0) AS n, min(marked_at) AS oldest
                           FROM membership_marks WHERE account_id = a.id) k) m,
            LATERAL (SELECT (SELECT count(*) FROM webhook_deliveries w WHERE w.account_id = a.id AND w.state = 'pending') AS webhooks,
                            (SELECT count(*) FROM customerio_deliveries c WHERE c.account_id = a.id AND c.state = 'pending') AS customerio,
                            (SELECT count(*) FROM exports x WHERE x.account_id = a.id AND x.status = 'pending') AS exports) o
            """)[0].decode((Int64, Int64?, Int64, Int64, Int64).self)
        var b = TroveMetrics.Backlog()
        b.membershipDirtyRows = dirty
        if let oldest { b.membershipLagSeconds = max(0, Double(now.milliseconds - oldest) / 1000) }
        b.outboxDepth = ["webhook": webhooks, "customerio": customerio, "export": exports]
        return b
    }

    public func pruneDelivered(before: Timestamp) async throws -> Int {
        let accounts = try await database.query("SELECT id FROM accounts").map { try $0.decode(Int64.self) }
        guard !accounts.isEmpty else { return 0 }
        return try await database.query(
            """
            WITH w AS (DELETE FROM webhook_deliveries WHERE account_id = ANY(\(accounts)) AND state = 'delivered' AND delivered_at < \(before.milliseconds) RETURNING 1),
                 c AS (DELETE FROM customerio_deliveries WHERE account_id = ANY(\(accounts)) AND state = 'delivered' AND delivered_at < \(before.milliseconds) RETURNING 1)
            SELECT (SELECT count(*) FROM w) + (SELECT count(*) FROM c)
            """)[0].decode(Int.self)
    }

    /// One node at a time runs upkeep (`work_claims`, kind `upkeep`, scope 0), when the last round of any node
    /// ended `every` ago: a node taking it over from one that died keeps the pace that one set.
    public func claimUpkeep(every: Duration) async throws -> Bool {
        guard try await database.claim("upkeep", [0]).contains(0) else { return false }
        return try await database.roundDue("upkeep", scope: 0, every: every)
    }

    /// Also forgets the nodes that stopped saying they are alive a day ago or more (killed, never back: a
    /// restarted process is a new node), with what they still held.
    public func upkeepDone() async throws {
        try await database.roundDone("upkeep", scope: 0)
        try await database.forgetDeadNodes(after: .seconds(86_400))
    }

    /// No step lists on PostgreSQL: the funnel reads the log (`PostgresFunnelReportStore`).
    public func stepReportLists(now: Timestamp) async throws -> Bool { false }

    public func dropUnusedReportLists(now: Timestamp) async throws -> Int { 0 }
}
