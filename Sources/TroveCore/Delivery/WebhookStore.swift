import Foundation
import GRDB

/// Webhook endpoints and their deliveries as `/v3/edit/webhooks` shows them (SPEC §10). Deliveries are
/// enqueued here (ping, retry by hand) and by the changes that cause them, in their own transactions;
/// `WebhookDeliverer` sends them.
public struct WebhookStore: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    public let policy: WebhookAddressPolicy

    public init(database: AppDatabase, clock: TroveClock = .system, policy: WebhookAddressPolicy = WebhookAddressPolicy()) {
        self.database = database
        self.clock = clock
        self.policy = policy
    }

    public static let topics = ["ping", "segment.entered", "segment.exited", "export.finished", "event.created"]

    struct Fields {
        var url: String?
        var name: String?
        var topics: [String]?
        var eventNames: [String]??
        var enabled: Bool?
    }

    func fields(_ body: JSON, creating: Bool) throws -> Fields {
        guard case .object = body else { throw WebhookError.invalid("body: expected a JSON object {url, topics, name}") }
        var f = Fields()
        switch body["url"] {
        case nil where !creating: break
        case .string(let url)?:
            do { _ = try policy.check(url: url) } catch { throw WebhookError.invalid(error.description) }
            f.url = url
        default: throw WebhookError.invalid("url: required, an https URL")
        }
        switch body["name"] {
        case nil, .null?: break
        case .string(let name)? where name.utf8.count <= 255: f.name = name
        default: throw WebhookError.invalid("name: must be a string of at most 255 bytes")
        }
        switch body["topics"] {
        case nil where !creating: break
        case .array(let values)?:
            var topics: [String] = []
            for (i, value) in values.enumerated() {
                guard case .string(let topic) = value, Self.topics.contains(topic) else {
                    throw WebhookError.invalid("topics[\(i)]: must be one of \(Self.topics.joined(separator: ", "))")
                }
                if !topics.contains(topic) { topics.append(topic) }
            }
            guard !topics.isEmpty else { throw WebhookError.invalid("topics: at least one topic") }
            f.topics = topics
        default: throw WebhookError.invalid("topics: required, an array of \(Self.topics.joined(separator: ", "))")
        }
        switch body["event_names"] {
        case nil: break
        case .null?: f.eventNames = .some(nil)
        case .array(let values)?:
            var names: [String] = []
            for (i, value) in values.enumerated() {
                guard case .string(let name) = value, !NameNormalizer.normalize(name).isEmpty else {
                    throw WebhookError.invalid("event_names[\(i)]: must be an event name")
                }
                names.append(NameNormalizer.normalize(name))
            }
            f.eventNames = .some(names)
        default: throw WebhookError.invalid("event_names: must be an array of event names (or null for all)")
        }
        switch body["enabled"] {
        case nil: break
        case .bool(let b)?: f.enabled = b
        default: throw WebhookError.invalid("enabled: must be true or false")
        }
        return f
    }

    /// `POST /v3/edit/webhooks`: the only reply that shows the secret.
    public func create(account: Int64, body: JSON) async throws -> JSON {
        let f = try fields(body, creating: true)
        let now = clock.now()
        let secret = "whsec_" + Credentials.randomToken(bytes: 24)
        return try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO webhook_endpoints (account_id, url, name, topics, event_names, secret, enabled, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [account, f.url!, f.name ?? "", JSONWriter.string(.array(f.topics!.map(JSON.string))),
                            (f.eventNames ?? nil).map { JSONWriter.string(.array($0.map(JSON.string))) }, secret, f.enabled ?? true,
                            now.milliseconds, now.milliseconds])
            return ["webhook": try Self.endpoint(db, account: account, id: db.lastInsertedRowID, showingSecret: true)]
        }
    }

    public func list(account: Int64) async throws -> JSON {
        try await database.read { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM webhook_endpoints WHERE account_id = ? ORDER BY id", arguments: [account])
            return ["webhooks": .array(try ids.map { try Self.endpoint(db, account: account, id: $0) })]
        }
    }

    public func get(account: Int64, id: Int64) async throws -> JSON {
        try await database.read { db in ["webhook": try Self.endpoint(db, account: account, id: id)] }
    }

    /// `PATCH /v3/edit/webhooks/:id {url?, topics?, enabled?, name?, event_names?}`.
    public func update(account: Int64, id: Int64, body: JSON) async throws -> JSON {
        let f = try fields(body, creating: false)
        let now = clock.now()
        return try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: id)
            try db.execute(
                sql: """
                    UPDATE webhook_endpoints SET url = coalesce(?, url), name = coalesce(?, name), topics = coalesce(?, topics),
                        event_names = CASE WHEN ? THEN ? ELSE event_names END, enabled = coalesce(?, enabled), updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [f.url, f.name, f.topics.map { JSONWriter.string(.array($0.map(JSON.string))) },
                            f.eventNames != nil, (f.eventNames ?? nil).map { JSONWriter.string(.array($0.map(JSON.string))) },
                            f.enabled, now.milliseconds, id])
            return ["webhook": try Self.endpoint(db, account: account, id: id)]
        }
    }

    /// `POST /:id/rotate_secret`: a new secret, shown once; deliveries from now on are signed with it.
    public func rotateSecret(account: Int64, id: Int64) async throws -> JSON {
        let now = clock.now()
        return try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: id)
            try db.execute(sql: "UPDATE webhook_endpoints SET secret = ?, updated_at = ? WHERE id = ?",
                           arguments: ["whsec_" + Credentials.randomToken(bytes: 24), now.milliseconds, id])
            return ["webhook": try Self.endpoint(db, account: account, id: id, showingSecret: true)]
        }
    }

    public func delete(account: Int64, id: Int64) async throws {
        try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: id)
            try db.execute(sql: "DELETE FROM webhook_endpoints WHERE id = ?", arguments: [id])
        }
    }

    /// `POST /:id/ping`: a `ping` delivery, due now.
    public func ping(account: Int64, id: Int64) async throws -> JSON {
        let now = clock.now()
        return try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: id)
            let delivery = try Self.enqueue(db, endpoint: id, kind: "ping", data: ["webhook_id": .string(PublicID.encode(id))], now: now)
            return ["delivery": try Self.delivery(db, id: delivery)]
        }
    }

    /// `GET /:id/deliveries`: newest first.
    public func deliveries(account: Int64, endpoint: Int64, limit: Int) async throws -> JSON {
        try await database.read { db in
            _ = try Self.endpoint(db, account: account, id: endpoint)
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?", arguments: [endpoint, limit])
            return ["deliveries": .array(try ids.map { try Self.delivery(db, id: $0) })]
        }
    }

    /// `POST /:id/deliveries/:delivery_id/retry`: a failed (or pending) delivery is due again now, with a
    /// fresh set of retries.
    public func retry(account: Int64, endpoint: Int64, delivery: Int64) async throws -> JSON {
        let now = clock.now()
        return try await database.write { db in
            _ = try Self.endpoint(db, account: account, id: endpoint)
            try db.execute(
                sql: "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND endpoint_id = ? AND state <> 'delivered'",
                arguments: [now.milliseconds, delivery, endpoint])
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM webhook_deliveries WHERE id = ? AND endpoint_id = ?", arguments: [delivery, endpoint]) ?? false else {
                throw WebhookError.notFound("no delivery with id \(delivery) for webhook \(endpoint)")
            }
            return ["delivery": try Self.delivery(db, id: delivery)]
        }
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
            arguments: [endpoint, "whd_" + Credentials.randomToken(bytes: 12), kind, JSONWriter.string(data), now.milliseconds, now.milliseconds])
        return db.lastInsertedRowID
    }

    static func endpoint(_ db: Database, account: Int64, id: Int64, showingSecret: Bool = false) throws -> JSON {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_endpoints WHERE account_id = ? AND id = ?", arguments: [account, id]) else {
            throw WebhookError.notFound("no webhook with id \(PublicID.encode(id))")
        }
        var members: [JSONMember] = [
            JSONMember("id", .string(PublicID.encode(id))),
            JSONMember("uid", .string(row["url"] as String)),
            JSONMember("name", .string(row["name"] as String)),
            JSONMember("topics", try StoredJSON.parse(row["topics"], "webhook_endpoints", "topics", id: id)),
            JSONMember("event_names", try (row["event_names"] as String?).map { try StoredJSON.parse($0, "webhook_endpoints", "event_names", id: id) } ?? .null),
        ]
        if showingSecret { members.append(JSONMember("secret", .string(row["secret"] as String))) }
        members += [
            JSONMember("enabled", .bool(row["enabled"])),
            JSONMember("last_item_at", ObjectReader.time(row["last_item_at"])),
            JSONMember("last_item_state", .string(row["last_item_state"] as String?)),
            JSONMember("last_item_error", .string(row["last_item_error"] as String?)),
            JSONMember("created_at", ObjectReader.time(row["created_at"])),
        ]
        return .object(members)
    }

    static func delivery(_ db: Database, id: Int64) throws -> JSON {
        let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [id])!
        return .object([
            JSONMember("id", .string(PublicID.encode(id))),
            JSONMember("envelope_id", .string(row["envelope_id"] as String)),
            JSONMember("kind", .string(row["kind"] as String)),
            JSONMember("state", .string(row["state"] as String)),
            JSONMember("attempts", .int(row["attempts"])),
            JSONMember("next_attempt_at", (row["state"] as String) == "pending" ? ObjectReader.time(row["next_attempt_at"]) : .null),
            JSONMember("last_status", (row["last_status"] as Int64?).map(JSON.int) ?? .null),
            JSONMember("last_error", .string(row["last_error"] as String?)),
        ])
    }
}
