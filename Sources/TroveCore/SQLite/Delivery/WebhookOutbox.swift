import GRDB

/// Deliveries enqueued by the changes that cause them, inside their transactions (contract §10): the outbox
/// row commits with the change or not at all.
public enum WebhookOutbox {
    /// Whether any enabled endpoint of any account takes one of `topics`, or may (its stored topics do not
    /// parse: `checkEndpoints` then says whose); cheap, checked before the set-based inserts below.
    static func anyEndpoint(_ db: Database, for topics: [String]) throws -> Bool {
        let list = topics.map { "'\($0)'" }.joined(separator: ", ")
        // Cached: the ingest writer asks once per transaction.
        let statement = try db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM webhook_endpoints w, json_each(\(topicsSQL)) t WHERE w.enabled = 1 AND t.value IN (\(list)))
                OR EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.enabled = 1 AND NOT json_valid(w.topics))
            """)
        return try Bool.fetchOne(statement) ?? false
    }

    /// An endpoint's topics as the queries here read them: a stored list that does not parse is read by none
    /// of them (one broken row must not stop every account's writes) and raised by `checkEndpoints` where
    /// it concerns the account being written.
    static let topicsSQL = "CASE WHEN json_valid(w.topics) THEN w.topics END"

    /// Throws the `StoredDataError` of an enabled endpoint whose topics or event names do not parse, when it
    /// belongs to one of the accounts `accounts` selects. One cached look at the (few) endpoints otherwise.
    static func checkEndpoints(_ db: Database, accounts: String, _ arguments: StatementArguments) throws {
        let broken = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT id, account_id, topics, event_names FROM webhook_endpoints w
            WHERE enabled = 1 AND (NOT json_valid(topics) OR (event_names IS NOT NULL AND NOT json_valid(event_names)))
            """))
        guard !broken.isEmpty else { return }
        let concerned = Set(try Int64.fetchAll(db, sql: accounts, arguments: arguments))
        for row in broken where concerned.contains(row["account_id"]) {
            let id: Int64 = row["id"]
            _ = try StoredJSON.strings(row["topics"], "webhook_endpoints", "topics", id: id)
            if let names: String = row["event_names"] { _ = try StoredJSON.strings(names, "webhook_endpoints", "event_names", id: id) }
        }
    }

    /// `segment.entered` / `segment.exited` for every ledger row after `ledgerID`, to every enabled
    /// endpoint of the segment's account that takes the topic: `data: {segment, profile}`.
    static func enqueueSegmentChanges(_ db: Database, after ledgerID: Int64, now: Timestamp) throws {
        guard try anyEndpoint(db, for: ["segment.entered", "segment.exited"]) else { return }
        try checkEndpoints(db, accounts: "SELECT DISTINCT s.account_id FROM segment_changes c JOIN segments s ON s.id = c.segment_id WHERE c.id > ?", [ledgerID])
        try db.execute(
            sql: """
                INSERT INTO webhook_deliveries (endpoint_id, envelope_id, kind, data, next_attempt_at, created_at)
                SELECT w.id, 'whd_' || lower(hex(randomblob(12))), k.kind,
                    json_object(
                        'segment', json_object('id', printf('%024x', s.id), 'name', s.name),
                        'profile', json_object('id', printf('%024x', c.profile_id), 'uid', p.uid, 'email', p.email),
                        'at', \(Timestamp.iso8601SQL("c.at")), 'version', c.version),
                    ?1, ?1
                FROM segment_changes c
                JOIN segments s ON s.id = c.segment_id
                JOIN (SELECT 1 AS entered, 'segment.entered' AS kind UNION ALL SELECT 0, 'segment.exited') k ON k.entered = c.entered
                JOIN webhook_endpoints w ON w.account_id = s.account_id AND w.enabled = 1
                    AND EXISTS (SELECT 1 FROM json_each(\(topicsSQL)) t WHERE t.value = k.kind)
                LEFT JOIN profiles p ON p.id = c.profile_id
                WHERE c.id > ?2
                ORDER BY c.id, w.id
                """, arguments: [now.milliseconds, ledgerID])
    }

    /// `export.finished` with `data: {export}` to the account's endpoints that take it.
    static func enqueueExportFinished(_ db: Database, account: Int64, export: Export, now: Timestamp) throws {
        try checkEndpoints(db, accounts: "SELECT ?", [account])
        let ids = try Int64.fetchAll(db, sql: """
            SELECT w.id FROM webhook_endpoints w WHERE w.account_id = ? AND w.enabled = 1
              AND EXISTS (SELECT 1 FROM json_each(\(topicsSQL)) t WHERE t.value = 'export.finished') ORDER BY w.id
            """, arguments: [account])
        for id in ids { try SQLiteWebhookStore.enqueue(db, endpoint: id, kind: "export.finished", data: ["export": exportData(export)], now: now) }
    }

    /// An export as `export.finished` carries it (contract §10): the object the App API shows (§7), which its
    /// encoder takes from here so the two never drift. Trove has no per-user logins, so `user_email` and
    /// `user_id` are null.
    public static func exportData(_ export: Export) -> JSON {
        .object([
            JSONMember("id", .int(export.id)),
            JSONMember("deduplicate_id", .string("\(export.id):\(export.updatedAt.seconds)")),
            JSONMember("description", .string(export.description)),
            JSONMember("downloads", .int(export.downloads)),
            JSONMember("failed", .bool(export.status == .failed)),
            JSONMember("status", .string(export.status.rawValue)),
            JSONMember("total", .int(export.total)),
            JSONMember("type", .string(export.type)),
            JSONMember("user_email", .null),
            JSONMember("user_id", .null),
            JSONMember("created_at", .int(export.createdAt.seconds)),
            JSONMember("updated_at", .int(export.updatedAt.seconds)),
        ])
    }

    /// `event.created` with `data: {event, profile}` for the events `from…through` (one write transaction's,
    /// consecutive ids) to every enabled endpoint of their account that takes the topic and, when it has an
    /// `event_names` filter, the event's name. One look at the endpoints when nobody subscribes.
    static func enqueueEventsCreated(_ db: Database, from first: Int64, through last: Int64, now: Timestamp) throws {
        guard try anyEndpoint(db, for: ["event.created"]) else { return }
        try checkEndpoints(db, accounts: "SELECT DISTINCT account_id FROM events WHERE id BETWEEN ? AND ?", [first, last])
        try db.execute(
            sql: """
                INSERT INTO webhook_deliveries (endpoint_id, envelope_id, kind, data, next_attempt_at, created_at)
                SELECT w.id, 'whd_' || lower(hex(randomblob(12))), 'event.created',
                    json_object(
                        'event', json_object(
                            'id', printf('%024x', e.id), 'name', coalesce(e.display_name, n.name), 'name_uid', n.uid,
                            'timestamp', \(Timestamp.iso8601SQL("e.timestamp")), 'received_at', \(Timestamp.iso8601SQL("e.received_at")),
                            'source', \(sourceName("e.source")), 'properties', json(coalesce(e.properties, '{}'))),
                        'profile', json_object('id', printf('%024x', p.id), 'uid', p.uid, 'email', p.email)),
                    ?1, ?1
                FROM events e
                JOIN event_names n ON n.id = e.name_id
                JOIN profiles p ON p.id = e.profile_id
                JOIN webhook_endpoints w ON w.account_id = e.account_id AND w.enabled = 1
                    AND EXISTS (SELECT 1 FROM json_each(\(topicsSQL)) t WHERE t.value = 'event.created')
                    AND (w.event_names IS NULL OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(w.event_names) THEN w.event_names END) x WHERE x.value = n.uid))
                WHERE e.id BETWEEN ?2 AND ?3
                ORDER BY e.id, w.id
                """, arguments: [now.milliseconds, first, last])
    }

    /// `events.source` as its name.
    public static func sourceName(_ column: String) -> String {
        "CASE \(column) " + EventSource.allCases.map { "WHEN \($0.rawValue) THEN '\($0.name)'" }.joined(separator: " ") + " END"
    }
}
