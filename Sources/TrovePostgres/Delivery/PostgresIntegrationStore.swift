import PostgresNIO
import TroveCore

/// `IntegrationStore` on PostgreSQL: `integrations` (a row per account and integration) and the Customer.io
/// outbox `customerio_deliveries`.
public struct PostgresIntegrationStore: IntegrationStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    static let destination = "customerio-destination"
    static let source = "customerio-source"
    static let notSetUp = DestinationError.notFound("no Customer.io destination is set up")
    static let deliveryColumns = """
        d.id, d.kind, d.profile_id, p.uid, d.identifier, d.target, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error,
        d.created_at, d.delivered_at
        """

    // MARK: Destination

    public func saveDestination(account: Int64, now: Timestamp,
                                _ make: @escaping @Sendable (CustomerIODestination?) throws -> CustomerIODestination) async throws
        -> CustomerIODestinationSettings.State
    {
        try await database.transaction { connection in
            // The account's settings row is locked for the read-decide-write (created here when there is none).
            let current = try await Self.load(connection, account: account, database: database, lock: true)
            let destination = try make(current)
            for sync in destination.syncSegments {
                let found = try await connection.query(
                    "SELECT 1 FROM segments WHERE account_id = \(account) AND id = \(sync.segmentID)", logger: database.logger).collect()
                guard !found.isEmpty else { throw DestinationError.invalid("sync_segments: no segment with id \(PublicID.encode(sync.segmentID))") }
            }
            try await Self.upsert(connection, account: account, name: Self.destination, config: JSONWriter.string(destination.stored), now: now, database: database)
            return try await Self.shown(connection, account: account, database: database)
        }
    }

    public func destinationState(account: Int64) async throws -> CustomerIODestinationSettings.State {
        try await database.transaction { connection in try await Self.shown(connection, account: account, database: database) }
    }

    public func deleteDestination(account: Int64, now: Timestamp) async throws {
        try await database.transaction { connection in
            let deleted = try await connection.query(
                "DELETE FROM integrations WHERE account_id = \(account) AND name = \(Self.destination) RETURNING 1", logger: database.logger).collect()
            guard !deleted.isEmpty else { throw Self.notSetUp }
            try await connection.query(
                """
                UPDATE customerio_deliveries SET state = 'failed', last_error = 'destination removed', next_attempt_at = \(now.milliseconds)
                WHERE account_id = \(account) AND state = 'pending'
                """, logger: database.logger)
        }
    }

    public func destinationDeliveries(account: Int64, state: WebhookDelivery.State?, limit: Int) async throws -> [CustomerIODelivery] {
        let states = state.map { [$0.rawValue] } ?? ["pending", "delivered", "failed"]
        let rows = try await database.query(
            """
            SELECT \(unescaped: Self.deliveryColumns) FROM customerio_deliveries d
            LEFT JOIN profiles p ON p.account_id = d.account_id AND p.id = d.profile_id
            WHERE d.account_id = \(account) AND d.state = ANY(\(states)::text[]) ORDER BY d.id DESC LIMIT \(Int64(limit))
            """)
        return try rows.map(Self.delivery)
    }

    public func retryDestinationDelivery(account: Int64, delivery: Int64, now: Timestamp) async throws -> CustomerIODelivery {
        try await database.transaction { connection in
            guard try await Self.load(connection, account: account, database: database, lock: false) != nil else { throw Self.notSetUp }
            try await connection.query(
                """
                UPDATE customerio_deliveries SET state = 'pending', attempts = 0, next_attempt_at = \(now.milliseconds), created_at = \(now.milliseconds)
                WHERE account_id = \(account) AND id = \(delivery) AND state = 'failed' AND identifier IS NOT NULL
                """, logger: database.logger)
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.deliveryColumns) FROM customerio_deliveries d
                LEFT JOIN profiles p ON p.account_id = d.account_id AND p.id = d.profile_id
                WHERE d.account_id = \(account) AND d.id = \(delivery)
                """, logger: database.logger
            ).collect()
            guard let row = rows.first else { throw DestinationError.notFound("no Customer.io delivery with id \(PublicID.encode(delivery))") }
            return try Self.delivery(row)
        }
    }

    @inline(never)
    static func delivery(_ row: PostgresRow) throws -> CustomerIODelivery {
        let (id, kind, profile, uid, identifier, target, state, attempts, next, status, error, created, delivered) =
            try row.decode((Int64, String, Int64, String?, String?, String?, String, Int64, Int64, Int64?, String?, Int64, Int64?).self)
        return try CustomerIODelivery(
            id: id, kind: kind, profileID: profile, profileUID: uid, identifier: identifier, target: target, state: state, attempts: attempts,
            nextAttemptAt: next, lastStatus: status, lastError: error, createdAt: created, deliveredAt: delivered)
    }

    static func load(_ connection: PostgresConnection, account: Int64, database: PostgresAppDatabase, lock: Bool) async throws -> CustomerIODestination? {
        let query: PostgresQuery = lock
            ? "SELECT config::text FROM integrations WHERE account_id = \(account) AND name = \(Self.destination) FOR UPDATE"
            : "SELECT config::text FROM integrations WHERE account_id = \(account) AND name = \(Self.destination)"
        let rows = try await connection.query(query, logger: database.logger).collect()
        guard let text = try rows.first?.decode(String.self) else { return nil }
        return try CustomerIODestination.fromStored(text, account: account)
    }

    static func upsert(_ connection: PostgresConnection, account: Int64, name: String, config: String, now: Timestamp, database: PostgresAppDatabase) async throws {
        try await connection.query(
            """
            INSERT INTO integrations (account_id, name, config, updated_at) VALUES (\(account), \(name), \(config)::jsonb, \(now.milliseconds))
            ON CONFLICT (account_id, name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
            """, logger: database.logger)
    }

    static func shown(_ connection: PostgresConnection, account: Int64, database: PostgresAppDatabase) async throws -> CustomerIODestinationSettings.State {
        let rows = try await connection.query(
            "SELECT config::text, updated_at FROM integrations WHERE account_id = \(account) AND name = \(Self.destination)", logger: database.logger
        ).collect()
        guard let row = rows.first else { throw Self.notSetUp }
        let (text, updated) = try row.decode((String, Int64).self)
        let destination = try CustomerIODestination.fromStored(text, account: account)
        let counts = try await connection.query(
            "SELECT state, count(*) FROM customerio_deliveries WHERE account_id = \(account) GROUP BY state", logger: database.logger
        ).collect().map { row in
            let (state, count) = try row.decode((String, Int64).self)
            return (state: state, count: Int(count))
        }
        return try CustomerIODestinationSettings.State(destination: destination, counts: counts, updatedAt: updated)
    }

    // MARK: Customer.io outbox

    public func dueCustomerIO(now: Timestamp, limit: Int, open: @escaping @Sendable (Int64) -> Bool) async throws
        -> (rows: [CustomerIOQueued], destinations: [Int64: CustomerIODestination])
    {
        let accounts = try await database.query("SELECT id FROM accounts ORDER BY id").map { try $0.decode(Int64.self) }
        guard !accounts.isEmpty else { return ([], [:]) }
        var destinations: [Int64: CustomerIODestination] = [:]
        for row in try await database.query(
            "SELECT account_id, config::text FROM integrations WHERE account_id = ANY(\(accounts)::bigint[]) AND name = \(Self.destination)")
        {
            let (account, text) = try row.decode((Int64, String).self)
            // One whose stored settings do not parse is left out: its rows wait (as on SQLite).
            if let parsed = try? CustomerIODestination.fromStored(text, account: account) { destinations[account] = parsed }
        }
        // An account's calls go from one node at a time (several Trove nodes on this database): a profile's
        // rows in order, and a 429's pause, are the account's.
        let mine = try await database.claim("customerio", destinations.keys.sorted())
        var due: [CustomerIOQueued] = []
        for account in destinations.keys.sorted() where mine.contains(account) && open(account) {
            for row in try await database.query(
                """
                SELECT d.id, d.account_id, d.profile_id, d.kind, d.identifier, d.target, d.body::text, d.attempts, d.created_at
                FROM customerio_deliveries d
                WHERE d.account_id = \(account) AND d.state = 'pending' AND d.next_attempt_at <= \(now.milliseconds)
                  AND NOT EXISTS (SELECT 1 FROM customerio_deliveries x
                                  WHERE x.account_id = d.account_id AND x.profile_id = d.profile_id AND x.state = 'pending' AND x.id < d.id)
                ORDER BY d.next_attempt_at, d.id LIMIT \(Int64(limit))
                """)
            {
                due.append(try Self.queued(row))
            }
        }
        return (due, destinations)
    }

    @inline(never)
    static func queued(_ row: PostgresRow) throws -> CustomerIOQueued {
        let (id, account, profile, kind, identifier, target, body, attempts, created) =
            try row.decode((Int64, Int64, Int64, String, String, String?, String?, Int64, Int64).self)
        return CustomerIOQueued(
            id: id, account: account, profile: profile, kind: kind, identifier: identifier, target: target, body: body, attempts: Int(attempts), createdAt: created)
    }

    public func recordCustomerIO(_ attempts: [CustomerIOAttempt], now: Timestamp) async throws {
        try await database.transaction { connection in
            for a in attempts {
                let status = a.status.map(Int64.init)
                if a.error == nil {
                    try await connection.query(
                        """
                        UPDATE customerio_deliveries SET state = 'delivered', attempts = \(Int64(a.attempts)), last_status = \(status), last_error = NULL,
                            delivered_at = \(now.milliseconds)
                        WHERE account_id = \(a.account) AND id = \(a.id)
                        """, logger: database.logger)
                } else {
                    try await connection.query(
                        """
                        UPDATE customerio_deliveries SET state = \(a.retryAt == nil ? "failed" : "pending"), attempts = \(Int64(a.attempts)),
                            last_status = \(status), last_error = \(a.error), next_attempt_at = coalesce(\(a.retryAt?.milliseconds), next_attempt_at)
                        WHERE account_id = \(a.account) AND id = \(a.id) AND state = 'pending'
                        """, logger: database.logger)
                }
                try await PostgresDeletionRecords.settled(connection, table: .customerIO, account: a.account, id: a.id, now: now, logger: database.logger)
            }
        }
    }

    // MARK: Source

    public func saveSourceSigningKey(account: Int64, _ key: String?, now: Timestamp) async throws -> CustomerIOSourceSettings.State {
        try await database.transaction { connection in
            if let key {
                try await Self.upsert(connection, account: account, name: Self.source, config: JSONWriter.string(["signing_key": .string(key)]), now: now,
                                      database: database)
            } else {
                try await connection.query("DELETE FROM integrations WHERE account_id = \(account) AND name = \(Self.source)", logger: database.logger)
            }
        }
        return try await sourceState(account: account)
    }

    public func sourceState(account: Int64) async throws -> CustomerIOSourceSettings.State {
        let row = try await database.query(
            "SELECT config ->> 'signing_key', updated_at FROM integrations WHERE account_id = \(account) AND name = \(Self.source)").first
        let (key, updated) = try row?.decode((String?, Int64).self) ?? (nil, nil)
        return CustomerIOSourceSettings.State(signingKey: key, updatedAt: updated.map(Timestamp.init(milliseconds:)))
    }

    public func sourceSigningKey(account: Int64) async throws -> String? {
        try await database.query(
            "SELECT config ->> 'signing_key' FROM integrations WHERE account_id = \(account) AND name = \(Self.source)").first?.decode(String?.self)
    }
}
