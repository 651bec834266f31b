import GRDB

/// The data-management reads (contract §4): warnings, the property catalog, event names.
public struct CatalogReader: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func warnings(account: Int64, model: Model?) async throws -> [CatalogWarning] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT model, prop, kind, count, first_at, last_at, example_uid, detail FROM warnings
                    WHERE account_id = ?1 AND (?2 IS NULL OR model = ?2) ORDER BY last_at DESC, id DESC
                    """, arguments: [account, model?.rawValue])
            return rows.map { row in
                CatalogWarning(kind: row["kind"], model: row["model"], prop: row["prop"], count: row["count"], firstAt: Timestamp(milliseconds: row["first_at"]),
                        lastAt: Timestamp(milliseconds: row["last_at"]), exampleUID: row["example_uid"], detail: row["detail"])
            }
        }
    }

    public func properties(account: Int64, model: Model?) async throws -> [CatalogProperty] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT id, model, prop, name, types, examples, last_seen_at FROM properties
                    WHERE account_id = ?1 AND (?2 IS NULL OR model = ?2) ORDER BY model, prop
                    """, arguments: [account, model?.rawValue])
            return try rows.map { row in
                try CatalogProperty(
                    id: row["id"], name: row["name"], prop: row["prop"], model: row["model"], types: row["types"], examples: row["examples"],
                    lastSeenAt: row["last_seen_at"])
            }
        }
    }

    /// The event names listings show: not those a segment registered before any event of them arrived
    /// (`SegmentCompiler.registerUnseen`).
    static let seenNames = "(last_seen_at IS NOT NULL OR count > 0)"

    /// Most frequent first.
    public func eventNames(account: Int64) async throws -> [EventNameSummary] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, uid, name, count, last_seen_at FROM event_names WHERE account_id = ? AND \(Self.seenNames) ORDER BY count DESC, uid",
                arguments: [account])
            return rows.map { row in
                EventNameSummary(id: row["id"], name: row["name"], uid: row["uid"], count: row["count"],
                          lastSeenAt: (row["last_seen_at"] as Int64?).map(Timestamp.init(milliseconds:)))
            }
        }
    }
}
