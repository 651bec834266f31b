import PostgresNIO
import TroveCore

/// Every outbox that hears of membership changes (webhooks, Customer.io), fed from the ledger rows of one
/// account that a transaction wrote after `ledgerID`: the evaluator and manual segment edits call it
/// before they commit, holding the account's ledger lock.
enum PostgresSegmentChangeOutbox {
    static func lastLedgerID(account: Int64, _ run: PostgresCompiling.Run) async throws -> Int64 {
        try await run("SELECT coalesce(max(id), 0) FROM segment_changes WHERE account_id = \(account)")[0].decode(Int64.self)
    }

    static func enqueue(account: Int64, after ledgerID: Int64, now: Timestamp, _ run: PostgresCompiling.Run) async throws {
        try await enqueueWebhooks(account: account, after: ledgerID, now: now, run)
        try await enqueueCustomerIO(account: account, after: ledgerID, now: now, run)
    }

    /// `segment.entered` / `segment.exited` to each enabled endpoint of the account that takes it, in
    /// ledger order. An endpoint whose stored topics do not parse stops the write (as on SQLite).
    static func enqueueWebhooks(account: Int64, after ledgerID: Int64, now: Timestamp, _ run: PostgresCompiling.Run) async throws {
        let takers = try await endpointsByTopic(account: account, run)
        guard takers["segment.entered"] != nil || takers["segment.exited"] != nil else { return }
        let changes = try await run(
            """
            SELECT c.segment_id, s.name, c.profile_id, p.uid, p.email, c.entered, c.at, c.version FROM segment_changes c
            JOIN segments s ON s.account_id = c.account_id AND s.id = c.segment_id
            LEFT JOIN profiles p ON p.account_id = c.account_id AND p.id = c.profile_id
            WHERE c.account_id = \(account) AND c.id > \(ledgerID) ORDER BY c.id
            """)
        var endpoints: [Int64] = [], envelopes: [String] = [], kinds: [String] = [], data: [String] = []
        for row in changes {
            let (segment, name, profile, uid, email, entered, at, version) = try row.decode((Int64, String, Int64, String?, String?, Bool, Int64, Int64).self)
            let kind = entered ? "segment.entered" : "segment.exited"
            let body = JSONWriter.string(Webhooks.segmentChangeData(segment: segment, name: name, profile: profile, uid: uid, email: email,
                                                                    at: Timestamp(milliseconds: at), version: version))
            for endpoint in takers[kind] ?? [] {
                endpoints.append(endpoint)
                envelopes.append(WebhookDelivery.newEnvelopeID())
                kinds.append(kind)
                data.append(body)
            }
        }
        guard !endpoints.isEmpty else { return }
        _ = try await run(
            """
            INSERT INTO webhook_deliveries (account_id, endpoint_id, envelope_id, kind, data, next_attempt_at, created_at)
            SELECT \(account), u.endpoint, u.envelope, u.kind, u.data::jsonb, \(now.milliseconds), \(now.milliseconds)
            FROM unnest(\(endpoints)::bigint[], \(envelopes)::text[], \(kinds)::text[], \(data)::text[]) WITH ORDINALITY AS u(endpoint, envelope, kind, data, n)
            ORDER BY u.n
            """)
    }

    /// The account's enabled endpoints by the topics they take, in id order. A stored list that does not
    /// parse stops the write (as on SQLite).
    static func endpointsByTopic(account: Int64, _ run: PostgresCompiling.Run) async throws -> [String: [Int64]] {
        var takers: [String: [Int64]] = [:]
        for row in try await run("SELECT id, topics::text FROM webhook_endpoints WHERE account_id = \(account) AND enabled ORDER BY id") {
            let (id, topics) = try row.decode((Int64, String).self)
            for topic in try StoredJSON.strings(topics, "webhook_endpoints", "topics", id: id) { takers[topic, default: []].append(id) }
        }
        return takers
    }

    /// `segment_add` / `segment_remove` for the ledger rows of segments synced to a Customer.io segment.
    static func enqueueCustomerIO(account: Int64, after ledgerID: Int64, now: Timestamp, _ run: PostgresCompiling.Run) async throws {
        let rows = try await run("SELECT config::text FROM integrations WHERE account_id = \(account) AND name = 'customerio-destination'")
        guard let text = try rows.first?.decode(String.self) else { return }
        let destination = try CustomerIODestination.fromStored(text, account: account)
        guard !destination.syncSegments.isEmpty else { return }
        let c = destination.identified(PostgresDialect())
        _ = try await run(
            """
            INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, target, state, last_error, next_attempt_at, created_at)
            SELECT c.account_id, c.profile_id, CASE WHEN c.entered THEN 'segment_add' ELSE 'segment_remove' END, \(unescaped: c.identifier),
                m.target, \(unescaped: c.state), \(unescaped: c.error), \(now.milliseconds), \(now.milliseconds)
            FROM segment_changes c
            JOIN unnest(\(destination.syncSegments.map(\.segmentID))::bigint[], \(destination.syncSegments.map(\.customerIOSegmentID))::text[])
                AS m(segment_id, target) ON m.segment_id = c.segment_id
            LEFT JOIN profiles p ON p.account_id = c.account_id AND p.id = c.profile_id
            WHERE c.account_id = \(account) AND c.id > \(ledgerID)
            ORDER BY c.id
            """)
    }
}
