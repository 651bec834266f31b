import Foundation
import GRDB
import Logging

/// `WebhookStore` on SQLite: `webhook_endpoints` and `webhook_deliveries`.
public struct SQLiteWebhookStore: WebhookStore {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    static func stored(_ list: [String]) -> String { JSONWriter.string(.array(list.map(JSON.string))) }

    public func insert(account: Int64, _ f: WebhookEndpointChange, secret: String, now: Timestamp) async throws -> WebhookEndpoint {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO webhook_endpoints (account_id, url, name, topics, event_names, secret, enabled, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [account, f.url!, f.name ?? "", Self.stored(f.topics!), (f.eventNames ?? nil).map(Self.stored), secret, f.enabled ?? true,
                            now.milliseconds, now.milliseconds])
            return try Self.endpoint(db, account: account, id: db.lastInsertedRowID, showingSecret: true)
        }
    }

    public func endpoints(account: Int64) async throws -> [WebhookEndpoint] {
        try await database.read { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM webhook_endpoints WHERE account_id = ? ORDER BY id", arguments: [account])
            return try ids.map { try Self.endpoint(db, account: account, id: $0) }
        }
    }

    public func endpoint(account: Int64, id: Int64) async throws -> WebhookEndpoint {
        try await database.read { db in try Self.endpoint(db, account: account, id: id) }
    }

    public func update(account: Int64, id: Int64, _ f: WebhookEndpointChange, now: Timestamp) async throws -> WebhookEndpoint {
        try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: id)
            try db.execute(
                sql: """
                    UPDATE webhook_endpoints SET url = coalesce(?, url), name = coalesce(?, name), topics = coalesce(?, topics),
                        event_names = CASE WHEN ? THEN ? ELSE event_names END, enabled = coalesce(?, enabled), updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [f.url, f.name, f.topics.map(Self.stored), f.eventNames != nil, (f.eventNames ?? nil).map(Self.stored),
                            f.enabled, now.milliseconds, id])
            return try Self.endpoint(db, account: account, id: id)
        }
    }

    public func replaceSecret(account: Int64, id: Int64, secret: String, now: Timestamp) async throws -> WebhookEndpoint {
        try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: id)
            try db.execute(sql: "UPDATE webhook_endpoints SET secret = ?, updated_at = ? WHERE id = ?", arguments: [secret, now.milliseconds, id])
            return try Self.endpoint(db, account: account, id: id, showingSecret: true)
        }
    }

    public func delete(account: Int64, id: Int64) async throws {
        try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: id)
            try db.execute(sql: "DELETE FROM webhook_endpoints WHERE id = ?", arguments: [id])
        }
    }

    public func enqueue(account: Int64, endpoint id: Int64, kind: String, data: JSON, now: Timestamp) async throws -> WebhookDelivery {
        try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: id)
            let delivery = try Self.enqueue(db, endpoint: id, kind: kind, data: data, now: now)
            return try Self.delivery(db, id: delivery)
        }
    }

    public func deliveries(account: Int64, endpoint: Int64, limit: Int) async throws -> [WebhookDelivery] {
        try await database.read { db in
            _ = try Self.endpoint(db, account: account, id: endpoint)
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?", arguments: [endpoint, limit])
            return try ids.map { try Self.delivery(db, id: $0) }
        }
    }

    public func resetDelivery(account: Int64, endpoint: Int64, delivery: Int64, now: Timestamp) async throws -> WebhookDelivery {
        try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: endpoint)
            try db.execute(
                sql: "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND endpoint_id = ? AND state <> 'delivered'",
                arguments: [now.milliseconds, delivery, endpoint])
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM webhook_deliveries WHERE id = ? AND endpoint_id = ?", arguments: [delivery, endpoint]) ?? false else {
                throw WebhookError.notFound("no delivery with id \(delivery) for webhook \(endpoint)")
            }
            return try Self.delivery(db, id: delivery)
        }
    }

    public func due(now: Timestamp, room: @escaping @Sendable (Int64) -> Int) async throws -> [WebhookDue] {
        try await database.pool.read { db in
            var due: [WebhookDue] = []
            for e in try Row.fetchAll(db, sql: "SELECT id, url, secret, account_id FROM webhook_endpoints WHERE enabled = 1 ORDER BY id") {
                let endpoint: Int64 = e[0]
                let limit = room(endpoint)
                guard limit > 0 else { continue }
                due += try Row.fetchAll(db, sql: """
                    SELECT id, envelope_id, kind, data, attempts FROM webhook_deliveries
                    WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at, id LIMIT ?
                    """, arguments: [endpoint, now.milliseconds, limit]).map {
                    WebhookDue(id: $0[0], account: e[3], endpoint: endpoint, url: e[1], secret: e[2], envelopeID: $0[1], kind: $0[2], storedData: $0[3], attempts: $0[4])
                }
            }
            return due
        }
    }

    public func recordAttempt(_ d: WebhookDue, attempts: Int, status: Int?, failure: String?, retryAt next: Timestamp?, now: Timestamp) async throws {
        let wiped = try await database.pool.write { db in
            if let failure {
                try db.execute(
                    sql: """
                        UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?, state = ?, next_attempt_at = coalesce(?, next_attempt_at)
                        WHERE id = ? AND state = 'pending'
                        """,
                    arguments: [attempts, status, failure, next == nil ? "failed" : "pending", next?.milliseconds, d.id])
                try db.execute(
                    sql: "UPDATE webhook_endpoints SET last_item_at = ?, last_item_state = ?, last_item_error = ? WHERE id = ?",
                    arguments: [now.milliseconds, next == nil ? "failed" : "retrying", failure, d.endpoint])
            } else {
                try db.execute(
                    sql: "UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = NULL, state = 'delivered', delivered_at = ? WHERE id = ?",
                    arguments: [attempts, status, now.milliseconds, d.id])
                try db.execute(
                    sql: "UPDATE webhook_endpoints SET last_item_at = ?, last_item_state = 'delivered', last_item_error = NULL WHERE id = ?",
                    arguments: [now.milliseconds, d.endpoint])
            }
            return try DeletionRecords.settled(db, table: "webhook_deliveries", id: d.id, now: now)
        }
        if wiped { database.requestLogTruncation() }
    }

    // MARK: Rows

    /// A delivery row in the outbox, due now; its envelope id is fixed here for every attempt.
    @discardableResult
    static func enqueue(_ db: Database, endpoint: Int64, kind: String, data: JSON, now: Timestamp) throws -> Int64 {
        try db.execute(
            sql: """
                INSERT INTO webhook_deliveries (endpoint_id, envelope_id, kind, data, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [endpoint, WebhookDelivery.newEnvelopeID(), kind, JSONWriter.string(data), now.milliseconds, now.milliseconds])
        return db.lastInsertedRowID
    }

    static func endpoint(_ db: Database, account: Int64, id: Int64, showingSecret: Bool = false) throws -> WebhookEndpoint {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_endpoints WHERE account_id = ? AND id = ?", arguments: [account, id]) else {
            throw WebhookError.notFound("no webhook with id \(PublicID.encode(id))")
        }
        return try WebhookEndpoint(
            id: id, url: row["url"], name: row["name"], topics: row["topics"], eventNames: row["event_names"],
            secret: showingSecret ? row["secret"] : nil, enabled: row["enabled"], lastItemAt: row["last_item_at"], lastItemState: row["last_item_state"],
            lastItemError: row["last_item_error"], createdAt: row["created_at"])
    }

    static func delivery(_ db: Database, id: Int64) throws -> WebhookDelivery {
        let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [id])!
        return try WebhookDelivery(
            id: id, envelopeID: row["envelope_id"], kind: row["kind"], state: row["state"], attempts: row["attempts"],
            nextAttemptAt: row["next_attempt_at"], lastStatus: row["last_status"], lastError: row["last_error"])
    }
}

extension WebhookDeliverer {
    /// On the SQLite engine.
    public init(database: AppDatabase, clock: TroveClock = .system, transport: any OutgoingTransport, policy: WebhookAddressPolicy,
                logger: Logger = Logger(label: "trove.webhooks")) {
        self.init(store: SQLiteWebhookStore(database: database), clock: clock, transport: transport, policy: policy, logger: logger)
    }
}

extension Webhooks {
    /// On the SQLite engine.
    public init(database: AppDatabase, clock: TroveClock = .system, policy: WebhookAddressPolicy = WebhookAddressPolicy()) {
        self.init(store: SQLiteWebhookStore(database: database), clock: clock, policy: policy)
    }
}
