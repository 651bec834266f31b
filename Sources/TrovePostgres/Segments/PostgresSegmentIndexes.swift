import PostgresNIO
import TroveCore

/// `SegmentIndex` on PostgreSQL: each built `CONCURRENTLY`, outside any transaction, so ingest goes on
/// while it builds; one left invalid by an interrupted build is dropped and built again.
struct PostgresSegmentIndexes {
    let database: PostgresAppDatabase

    /// Creates the missing ones and gathers the statistics of their tables (the planner's estimates for a
    /// property expression come from them). Returns how many it created.
    @discardableResult
    func ensure(_ indexes: Set<SegmentIndex>) async throws -> Int {
        let existing = try await self.existing()
        var tables: Set<String> = []
        var created = 0
        for index in indexes.sorted(by: { $0.name < $1.name }) where existing[index.name] != true {
            if existing[index.name] == false { try await database.query(PostgresQuery(unsafeSQL: "DROP INDEX CONCURRENTLY IF EXISTS \"\(index.name)\"")) }
            try await database.query(PostgresQuery(unsafeSQL: PostgresDialect().createSQL(index)))
            switch index.kind {
            case .profileProperties: tables.insert("profiles")
            case .companyProperty: tables.insert("companies")
            case .eventName: break
            }
            created += 1
        }
        for table in tables.sorted() { try await database.query(PostgresQuery(unsafeSQL: "ANALYZE \(table)")) }
        return created
    }

    /// Drops the managed indexes no dynamic segment of any account needs: each costs every insert into
    /// its table. Returns the names dropped.
    @discardableResult
    func reconcile(now: Timestamp) async throws -> [String] {
        var needed: Set<String> = []
        for row in try await database.query("SELECT id FROM accounts ORDER BY id") {
            let account = try row.decode(Int64.self)
            let run: PostgresCompiling.Run = { try await database.query($0) }
            let segments = try await PostgresCompiling.segments(account: account, run)
            for segment in segments where segment.kind == .dynamic {
                // A definition that no longer compiles (a segment it refers to is gone) cannot be evaluated.
                guard let filter = try segment.filter(),
                      let compiler = try? await PostgresCompiling.compiler(for: filter, segment: segment.id, account: account, now: now,
                                                                           segments: segments, run),
                      let output = try? compiler.compile(filter, segment: segment.id)
                else { continue }
                needed.formUnion(output.indexes.map(\.name))
            }
        }
        let dropped = try await existing().keys.filter { !needed.contains($0) }.sorted()
        for name in dropped { try await database.query(PostgresQuery(unsafeSQL: "DROP INDEX CONCURRENTLY IF EXISTS \"\(name)\"")) }
        return dropped
    }

    /// The managed indexes there are, and whether each is valid (usable).
    func existing() async throws -> [String: Bool] {
        let rows = try await database.query(
            """
            SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relname::text ^@ ANY(\(SegmentIndex.managedPrefixes))
            """)
        var names: [String: Bool] = [:]
        for row in rows {
            let (name, valid) = try row.decode((String, Bool).self)
            names[name] = valid
        }
        return names
    }
}
