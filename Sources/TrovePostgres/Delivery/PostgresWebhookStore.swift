import PostgresNIO
import TroveCore

/// `WebhookStore` on PostgreSQL: `webhook_endpoints` and `webhook_deliveries`. Every statement names the
/// account; the sender's side reads all accounts' endpoints with `account_id = ANY(…)` (the accounts table is
/// a reference table), so each statement still routes by the distribution column under Citus.
public struct PostgresWebhookStore: WebhookStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    static let endpointColumns = """
        id, url, name, topics::text, event_names::text, secret, enabled, last_item_at, last_item_state, last_item_error, created_at
        """
    static let deliveryColumns = "id, envelope_id, kind, state, attempts, next_attempt_at, last_status, last_error"

    static func list(_ names: [String]) -> String { JSONWriter.string(.array(names.map(JSON.string))) }

    @inline(never)
    static func endpoint(_ row: PostgresRow, showingSecret: Bool = false) throws -> WebhookEndpoint {
        let (id, url, name, topics, eventNames, secret, enabled, lastAt, lastState, lastError, created) =
            try row.decode((Int64, String, String, String, String?, String, Bool, Int64?, String?, String?, Int64).self)
        return try WebhookEndpoint(
            id: id, url: url, name: name, topics: topics, eventNames: eventNames, secret: showingSecret ? secret : nil, enabled: enabled,
            lastItemAt: lastAt, lastItemState: lastState, lastItemError: lastError, createdAt: created)
    }

    @inline(never)
    static func delivery(_ row: PostgresRow) throws -> WebhookDelivery {
        let (id, envelope, kind, state, attempts, next, status, error) =
            try row.decode((Int64, String, String, String, Int64, Int64, Int64?, String?).self)
        return try WebhookDelivery(id: id, envelopeID: envelope, kind: kind, state: state, attempts: attempts, nextAttemptAt: next, lastStatus: status, lastError: error)
    }

    static func notFound(_ id: Int64) -> WebhookError { .notFound("no webhook with id \(PublicID.encode(id))") }

    public func insert(account: Int64, _ f: WebhookEndpointChange, secret: String, now: Timestamp) async throws -> WebhookEndpoint {
        let row = try await database.query(
            """
            INSERT INTO webhook_endpoints (account_id, url, name, topics, event_names, secret, enabled, created_at, updated_at)
            VALUES (\(account), \(f.url!), \(f.name ?? ""), \(Self.list(f.topics!))::jsonb, \((f.eventNames ?? nil).map(Self.list))::jsonb, \(secret),
                    \(f.enabled ?? true), \(now.milliseconds), \(now.milliseconds))
            RETURNING \(unescaped: Self.endpointColumns)
            """
        ).first!
        return try Self.endpoint(row, showingSecret: true)
    }

    public func endpoints(account: Int64) async throws -> [WebhookEndpoint] {
        try await database.query("SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE account_id = \(account) ORDER BY id")
            .map { try Self.endpoint($0) }
    }

    public func endpoint(account: Int64, id: Int64) async throws -> WebhookEndpoint {
        guard let row = try await database.query(
            "SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE account_id = \(account) AND id = \(id)"
        ).first else { throw Self.notFound(id) }
        return try Self.endpoint(row)
    }

    public func update(account: Int64, id: Int64, _ f: WebhookEndpointChange, now: Timestamp) async throws -> WebhookEndpoint {
        guard let row = try await database.query(
            """
            UPDATE webhook_endpoints SET url = coalesce(\(f.url), url), name = coalesce(\(f.name), name),
                topics = coalesce(\(f.topics.map(Self.list))::jsonb, topics),
                event_names = CASE WHEN \(f.eventNames != nil) THEN \((f.eventNames ?? nil).map(Self.list))::jsonb ELSE event_names END,
                enabled = coalesce(\(f.enabled), enabled), updated_at = \(now.milliseconds)
            WHERE account_id = \(account) AND id = \(id)
            RETURNING \(unescaped: Self.endpointColumns)
            """
        ).first else { throw Self.notFound(id) }
        return try Self.endpoint(row)
    }

    public func replaceSecret(account: Int64, id: Int64, secret: String, now: Timestamp) async throws -> WebhookEndpoint {
        guard let row = try await database.query(
            """
            UPDATE webhook_endpoints SET secret = \(secret), updated_at = \(now.milliseconds) WHERE account_id = \(account) AND id = \(id)
            RETURNING \(unescaped: Self.endpointColumns)
            """
        ).first else { throw Self.notFound(id) }
        return try Self.endpoint(row, showingSecret: true)
    }

    public func delete(account: Int64, id: Int64) async throws {
        guard try await database.query("DELETE FROM webhook_endpoints WHERE account_id = \(account) AND id = \(id) RETURNING id").first != nil else {
            throw Self.notFound(id)
        }
    }

    public func enqueue(account: Int64, endpoint id: Int64, kind: String, data: JSON, now: Timestamp) async throws -> WebhookDelivery {
        guard let row = try await database.query(
            """
            INSERT INTO webhook_deliveries (account_id, endpoint_id, envelope_id, kind, data, next_attempt_at, created_at)
            SELECT account_id, id, \(WebhookDelivery.newEnvelopeID()), \(kind), \(JSONWriter.string(data))::jsonb, \(now.milliseconds), \(now.milliseconds)
            FROM webhook_endpoints WHERE account_id = \(account) AND id = \(id)
            RETURNING \(unescaped: Self.deliveryColumns)
            """
        ).first else { throw Self.notFound(id) }
        return try Self.delivery(row)
    }

    public func deliveries(account: Int64, endpoint: Int64, limit: Int) async throws -> [WebhookDelivery] {
        _ = try await self.endpoint(account: account, id: endpoint)
        return try await database.query(
            """
            SELECT \(unescaped: Self.deliveryColumns) FROM webhook_deliveries WHERE account_id = \(account) AND endpoint_id = \(endpoint)
            ORDER BY id DESC LIMIT \(Int64(limit))
            """
        ).map(Self.delivery)
    }

    public func resetDelivery(account: Int64, endpoint: Int64, delivery: Int64, now: Timestamp) async throws -> WebhookDelivery {
        _ = try await self.endpoint(account: account, id: endpoint)
        try await database.query(
            """
            UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = \(now.milliseconds)
            WHERE account_id = \(account) AND id = \(delivery) AND endpoint_id = \(endpoint) AND state <> 'delivered'
            """)
        guard let row = try await database.query(
            """
            SELECT \(unescaped: Self.deliveryColumns) FROM webhook_deliveries WHERE account_id = \(account) AND id = \(delivery) AND endpoint_id = \(endpoint)
            """
        ).first else { throw WebhookError.notFound("no delivery with id \(delivery) for webhook \(endpoint)") }
        return try Self.delivery(row)
    }

    public func due(now: Timestamp, room: @escaping @Sendable (Int64) -> Int) async throws -> [WebhookDue] {
        let accounts = try await database.query("SELECT id FROM accounts ORDER BY id").map { try $0.decode(Int64.self) }
        guard !accounts.isEmpty else { return [] }
        var endpoints: [(account: Int64, id: Int64, url: String, secret: String, limit: Int64)] = []
        for row in try await database.query(
            "SELECT account_id, id, url, secret FROM webhook_endpoints WHERE account_id = ANY(\(accounts)::bigint[]) AND enabled ORDER BY id")
        {
            let (account, id, url, secret) = try row.decode((Int64, Int64, String, String).self)
            let limit = room(id)
            if limit > 0 { endpoints.append((account, id, url, secret, Int64(limit))) }
        }
        guard !endpoints.isEmpty else { return [] }
        let byID = Dictionary(uniqueKeysWithValues: endpoints.map { ($0.id, $0) })
        try await database.keepAlive()
        let me = database.node.id
        // Claimed for this node in the same statement: rows no node claimed, or one that is no longer alive;
        // its own claims too (the deliverer skips those in flight), so a claim whose record failed is not stuck.
        return try await database.query(
            """
            WITH picked AS (
                SELECT e.account_id, d.id FROM unnest(\(endpoints.map(\.account))::bigint[], \(endpoints.map(\.id))::bigint[],
                                                      \(endpoints.map(\.limit))::bigint[]) AS e(account_id, id, room)
                CROSS JOIN LATERAL (
                    SELECT w.id FROM webhook_deliveries w
                    WHERE w.account_id = e.account_id AND w.endpoint_id = e.id AND w.state = 'pending' AND w.next_attempt_at <= \(now.milliseconds)
                      AND (w.claimed_by = \(me) OR \(unescaped: PostgresNode.notAlive("w.claimed_by")))
                    ORDER BY w.next_attempt_at, w.id LIMIT e.room FOR UPDATE SKIP LOCKED
                ) d
            )
            UPDATE webhook_deliveries w SET claimed_by = \(me) FROM picked p WHERE w.account_id = p.account_id AND w.id = p.id
            RETURNING w.account_id, w.endpoint_id, w.id, w.envelope_id, w.kind, w.data::text, w.attempts, w.next_attempt_at
            """
        ).map { row -> (WebhookDue, Int64) in
            let (account, endpoint, id, envelope, kind, data, attempts, next) =
                try row.decode((Int64, Int64, Int64, String, String, String, Int64, Int64).self)
            let e = byID[endpoint]!
            return (WebhookDue(
                id: id, account: account, endpoint: endpoint, url: e.url, secret: e.secret, envelopeID: envelope, kind: kind, storedData: data,
                attempts: Int(attempts)), next)
        }
        // An UPDATE returns rows in no set order: each endpoint's earliest first, as picked.
        .sorted { ($0.0.endpoint, $0.1, $0.0.id) < ($1.0.endpoint, $1.1, $1.0.id) }.map(\.0)
    }

    public func release(_ deliveries: [WebhookDue]) async throws {
        guard !deliveries.isEmpty else { return }
        try await database.query(
            """
            UPDATE webhook_deliveries SET claimed_by = NULL
            WHERE account_id = ANY(\(deliveries.map(\.account))::bigint[]) AND id = ANY(\(deliveries.map(\.id))::bigint[])
              AND claimed_by = \(database.node.id)
            """)
    }

    public func recordAttempt(_ d: WebhookDue, attempts: Int, status: Int?, failure: String?, retryAt next: Timestamp?, now: Timestamp) async throws {
        let status64 = status.map(Int64.init)
        try await database.transaction { connection in
            if let failure {
                try await connection.query(
                    """
                    UPDATE webhook_deliveries SET attempts = \(Int64(attempts)), last_status = \(status64), last_error = \(failure),
                        state = \(next == nil ? "failed" : "pending"), next_attempt_at = coalesce(\(next?.milliseconds), next_attempt_at), claimed_by = NULL
                    WHERE account_id = \(d.account) AND id = \(d.id) AND state = 'pending'
                    """, logger: database.logger)
                try await connection.query(
                    """
                    UPDATE webhook_endpoints SET last_item_at = \(now.milliseconds), last_item_state = \(next == nil ? "failed" : "retrying"),
                        last_item_error = \(failure)
                    WHERE account_id = \(d.account) AND id = \(d.endpoint)
                    """, logger: database.logger)
            } else {
                try await connection.query(
                    """
                    UPDATE webhook_deliveries SET attempts = \(Int64(attempts)), last_status = \(status64), last_error = NULL, state = 'delivered',
                        delivered_at = \(now.milliseconds), claimed_by = NULL
                    WHERE account_id = \(d.account) AND id = \(d.id)
                    """, logger: database.logger)
                try await connection.query(
                    """
                    UPDATE webhook_endpoints SET last_item_at = \(now.milliseconds), last_item_state = 'delivered', last_item_error = NULL
                    WHERE account_id = \(d.account) AND id = \(d.endpoint)
                    """, logger: database.logger)
            }
            try await PostgresDeletionRecords.settled(connection, table: .webhooks, account: d.account, id: d.id, now: now, logger: database.logger)
        }
    }
}
