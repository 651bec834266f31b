import PostgresNIO
import TroveCore

/// `CatalogStore` on PostgreSQL: warnings, the property catalog, event names (contract §4).
public struct PostgresCatalogStore: CatalogStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func warnings(account: Int64, model: Model?) async throws -> [CatalogWarning] {
        try await database.query(
            """
            SELECT model, prop, kind, count, first_at, last_at, example_uid, detail FROM warnings
            WHERE account_id = \(account) AND (\(model?.rawValue)::text IS NULL OR model = \(model?.rawValue)) ORDER BY last_at DESC, id DESC
            """
        ).map { row in
            let (model, prop, kind, count, first, last, example, detail) = try row.decode((String, String, String, Int64, Int64, Int64, String?, String?).self)
            return CatalogWarning(
                kind: kind, model: model, prop: prop, count: count, firstAt: Timestamp(milliseconds: first), lastAt: Timestamp(milliseconds: last),
                exampleUID: example, detail: detail)
        }
    }

    /// In the order SQLite's BINARY collation gives (`COLLATE "C"`), whatever the database's locale.
    public func properties(account: Int64, model: Model?) async throws -> [CatalogProperty] {
        try await database.query(
            """
            SELECT id, model, prop, name, types::text, examples::text, last_seen_at FROM properties
            WHERE account_id = \(account) AND (\(model?.rawValue)::text IS NULL OR model = \(model?.rawValue))
            ORDER BY model COLLATE "C", prop COLLATE "C"
            """
        ).map { row in
            let (id, model, prop, name, types, examples, lastSeen) = try row.decode((Int64, String, String, String, String, String, Int64?).self)
            return try CatalogProperty(id: id, name: name, prop: prop, model: model, types: types, examples: examples, lastSeenAt: lastSeen)
        }
    }

    public func eventNames(account: Int64) async throws -> [EventNameSummary] {
        try await database.query(
            "SELECT id, uid, name, count, last_seen_at FROM event_names WHERE account_id = \(account) ORDER BY count DESC, uid COLLATE \"C\""
        ).map { row in
            let (id, uid, name, count, lastSeen) = try row.decode((Int64, String, String, Int64, Int64?).self)
            return EventNameSummary(id: id, name: name, uid: uid, count: count, lastSeenAt: lastSeen.map(Timestamp.init(milliseconds:)))
        }
    }
}
