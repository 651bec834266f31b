import PostgresNIO
import TroveCore

/// `SegmentStore` on PostgreSQL: `segments`. A filter is checked by compiling it against the account's
/// segments (a segment it names must exist, none may use itself), in the transaction that writes it.
public struct PostgresSegmentStore: SegmentStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    static func tags(_ tags: [String]) -> String { JSONWriter.string(.array(tags.map(JSON.string))) }

    public func insert(account: Int64, _ s: NewSegment, now: Timestamp) async throws -> Segment {
        try await database.transaction { connection in
            let run = connection.collecting(database.logger)
            if let filter = s.definition?.filter {
                let segments = try await PostgresCompiling.segments(account: account, run)
                _ = try PostgresCompiling.checker(account: account, now: now, segments: segments).compile(filter)
            }
            let definition = s.definition.map { JSONWriter.string($0.document) }
            let rows = try await run(
                """
                INSERT INTO segments (account_id, name, description, kind, grammar, definition, tags, built_version, created_at, updated_at)
                VALUES (\(account), \(s.name), \(s.description), \(s.kind.rawValue), \(s.grammar?.rawValue), \(definition)::jsonb,
                        \(Self.tags(s.tags))::jsonb, \(Int64(s.kind == .manual ? 1 : 0)), \(now.milliseconds), \(now.milliseconds))
                RETURNING id
                """)
            let id = try rows[0].decode(Int64.self)
            return try PostgresRows.segment(
                try await run("SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) AND s.id = \(id)")[0])
        }
    }

    public func update(account: Int64, id: Int64, now: Timestamp,
                       _ decide: @escaping @Sendable (Segment) throws(SegmentError) -> SegmentChange) async throws -> Segment {
        try await database.transaction { connection in
            let run = connection.collecting(database.logger)
            // Every segment of the account, locked: a new definition is checked against the others as they stay.
            let segments = try await run(
                "SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) ORDER BY s.id FOR UPDATE"
            ).map(PostgresRows.segment)
            guard let current = segments.first(where: { $0.id == id }) else { throw SegmentError.notFound("no segment with id \(id)") }
            let change = try decide(current)
            let checker = PostgresCompiling.checker(account: account, now: now, segments: segments)
            if let filter = change.definition?.filter { _ = try checker.compile(filter, segment: id) }
            let definition = (change.definition?.document ?? current.definition).map(JSONWriter.string)
            _ = try await run(
                """
                UPDATE segments SET name = \(change.name ?? current.name), description = \(change.description ?? current.description),
                    tags = \(Self.tags(change.tags ?? current.tags))::jsonb, definition = \(definition)::jsonb,
                    version = version + \(Int64(change.definition == nil ? 0 : 1)), updated_at = \(now.milliseconds)
                WHERE account_id = \(account) AND id = \(id)
                """)
            if change.definition != nil {
                let dependents = try checker.dependents(of: id, among: segments).map(\.id)
                if !dependents.isEmpty {
                    _ = try await run("UPDATE segments SET version = version + 1 WHERE account_id = \(account) AND id = ANY(\(dependents))")
                }
            }
            return try PostgresRows.segment(
                try await run("SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) AND s.id = \(id)")[0])
        }
    }

    public func delete(account: Int64, id: Int64, now: Timestamp) async throws -> [Segment] {
        let users = try await database.transaction { connection in
            let run = connection.collecting(database.logger)
            let segments = try await run(
                "SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) ORDER BY s.id FOR UPDATE"
            ).map(PostgresRows.segment)
            guard segments.contains(where: { $0.id == id }) else { throw SegmentError.notFound("no segment with id \(id)") }
            let users = try PostgresCompiling.checker(account: account, now: now, segments: segments).dependents(of: id, among: segments)
            guard users.isEmpty else { return users }
            _ = try await run("DELETE FROM segments WHERE account_id = \(account) AND id = \(id)")
            return []
        }
        if users.isEmpty { _ = try await PostgresSegmentIndexes(database: database).reconcile(now: now) }
        return users
    }

    public func segment(account: Int64, id: Int64) async throws -> Segment {
        guard let row = try await database.query(
            "SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) AND s.id = \(id)"
        ).first else { throw SegmentError.notFound("no segment with id \(id)") }
        return try PostgresRows.segment(row)
    }

    public func segments(account: Int64) async throws -> [Segment] {
        try await PostgresCompiling.segments(account: account) { try await database.query($0) }
    }
}

extension PostgresConnection {
    /// Runs statements on this connection (in its transaction), each one's rows collected.
    func collecting(_ logger: Logger) -> PostgresCompiling.Run {
        { query in try await self.query(query, logger: logger).collect() }
    }
}
