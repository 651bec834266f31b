import PostgresNIO
import TroveCore

/// `CatalogStore` on PostgreSQL: warnings, the property catalog, event names (contract §4).
public struct PostgresCatalogStore: CatalogStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func warnings(account: Int64, model: Model?) async throws -> [CatalogWarning] {
        let models = model.map { [$0.rawValue] } ?? Model.allCases.map(\.rawValue)
        let rows = try await database.query(
            """
            SELECT model, prop, kind, count, first_at, last_at, example_uid, detail FROM warnings
            WHERE account_id = \(account) AND model = ANY(\(models)::text[]) ORDER BY last_at DESC, id DESC
            """)
        return try rows.map(Self.warning)
    }

    /// In the order SQLite's BINARY collation gives (`COLLATE "C"`), whatever the database's locale.
    public func properties(account: Int64, model: Model?) async throws -> [CatalogProperty] {
        let models = model.map { [$0.rawValue] } ?? Model.allCases.map(\.rawValue)
        let rows = try await database.query(
            """
            SELECT id, model, prop, name, types::text, examples::text, last_seen_at FROM properties
            WHERE account_id = \(account) AND model = ANY(\(models)::text[])
            ORDER BY model COLLATE "C", prop COLLATE "C"
            """)
        return try rows.map(Self.property)
    }

    public func eventNames(account: Int64) async throws -> [EventNameSummary] {
        let rows = try await database.query(
            "SELECT id, uid, name, count, last_seen_at FROM event_names WHERE account_id = \(account) ORDER BY count DESC, uid COLLATE \"C\"")
        return try rows.map(Self.eventName)
    }

    // Decoding kept out of the async functions (`@inline(never)`): Swift 6.3.1's release build crashes
    // (signal 11 in LLVM's coroutine splitting, emitSetAndGetSwiftErrorValueAround) when a typed-throws
    // initializer is inlined into an async function.

    @inline(never)
    static func warning(_ row: PostgresRow) throws -> CatalogWarning {
        let (model, prop, kind, count, first, last, example, detail) = try row.decode((String, String, String, Int64, Int64, Int64, String?, String?).self)
        return CatalogWarning(
            kind: kind, model: model, prop: prop, count: count, firstAt: Timestamp(milliseconds: first), lastAt: Timestamp(milliseconds: last),
            exampleUID: example, detail: detail)
    }

    @inline(never)
    static func property(_ row: PostgresRow) throws -> CatalogProperty {
        let (id, model, prop, name, types, examples, lastSeen) = try row.decode((Int64, String, String, String, String, String, Int64?).self)
        return try CatalogProperty(id: id, name: name, prop: prop, model: model, types: types, examples: examples, lastSeenAt: lastSeen)
    }

    @inline(never)
    static func eventName(_ row: PostgresRow) throws -> EventNameSummary {
        let (id, uid, name, count, lastSeen) = try row.decode((Int64, String, String, Int64, Int64?).self)
        return EventNameSummary(id: id, name: name, uid: uid, count: count, lastSeenAt: lastSeen.map(Timestamp.init(milliseconds:)))
    }
}
