import Foundation
import GRDB

/// `trove copy` on a SQLite file. Several SQLite tables reach their account through a parent row (the
/// file holds one id space per table, so they never needed the column); here each table is read in
/// `CopyTable`'s shape, `account_id` joined in, and written back without the columns SQLite lacks.
struct SQLiteCopyStore: CopyStore {
    let database: AppDatabase

    /// Where a table without `account_id` finds it: a join to the parent row (`a`).
    private static let accountJoins: [String: String] = [
        "profile_activity": "JOIN profiles a ON a.id = t.profile_id",
        "event_counts": "JOIN event_names a ON a.id = t.name_id",
        "segment_members": "JOIN segments a ON a.id = t.segment_id",
        "segment_changes": "JOIN segments a ON a.id = t.segment_id",
        "webhook_deliveries": "JOIN webhook_endpoints a ON a.id = t.endpoint_id",
        "membership_dirty": """
            JOIN (SELECT 0 AS kind, id, account_id FROM profiles UNION ALL SELECT 1, id, account_id FROM companies) a
                ON a.kind = t.kind AND a.id = t.object_id
            """,
    ]

    func accountIDs() async throws -> [Int64] {
        try await database.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM accounts ORDER BY id") }
    }

    func count(_ table: CopyTable, account: Int64?) async throws -> Int {
        try await database.read { db in
            let (from, condition, arguments) = try Self.scope(table, account: account, db)
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM \(from) WHERE \(condition)", arguments: arguments) ?? 0
        }
    }

    func lastKey(_ table: CopyTable, account: Int64?) async throws -> [CopyValue]? {
        try await database.read { db in
            let (from, condition, arguments) = try Self.scope(table, account: account, db)
            let key = table.key.map { "t.\($0)" }
            let sql = "SELECT \(key.joined(separator: ", ")) FROM \(from) WHERE \(condition) ORDER BY \(key.map { $0 + " DESC" }.joined(separator: ", ")) LIMIT 1"
            return try Row.fetchOne(db, sql: sql, arguments: arguments).map { row in try (0..<row.count).map { try Self.value(row[$0] as DatabaseValue) } }
        }
    }

    func rows(_ table: CopyTable, account: Int64?, after: [CopyValue]?, limit: Int) async throws -> [CopyRow] {
        try await database.read { db in
            var (from, condition, arguments) = try Self.scope(table, account: account, db)
            let key = table.key.map { "t.\($0)" }
            if let after {
                condition += " AND (\(key.joined(separator: ", "))) > (\(key.map { _ in "?" }.joined(separator: ", ")))"
                for v in after { arguments += [Self.databaseValue(v)] }
            }
            arguments += [limit]
            let sql = "SELECT \(try Self.columns(table, db)) FROM \(from) WHERE \(condition) ORDER BY \(key.joined(separator: ", ")) LIMIT ?"
            return try Self.fetch(db, sql, arguments)
        }
    }

    func rows(_ table: CopyTable, account: Int64?, keys: [[CopyValue]]) async throws -> [CopyRow] {
        try await database.read { db in
            var found: [CopyRow] = []
            for key in keys {
                var (from, condition, arguments) = try Self.scope(table, account: account, db)
                for (name, v) in zip(table.key, key) {
                    condition += " AND t.\(name) = ?"
                    arguments += [Self.databaseValue(v)]
                }
                found += try Self.fetch(db, "SELECT \(try Self.columns(table, db)) FROM \(from) WHERE \(condition)", arguments)
            }
            return found
        }
    }

    func insert(_ table: CopyTable, rows: [CopyRow]) async throws {
        try await database.write { db in
            let stored = Set(try db.columns(in: table.name).map(\.name))
            let kept = table.columns.indices.filter { stored.contains(table.columns[$0].name) }
            let placeholders = "(" + kept.map { _ in "?" }.joined(separator: ", ") + ")"
            let chunk = max(1, 30_000 / kept.count)
            for start in stride(from: 0, to: rows.count, by: chunk) {
                let slice = rows[start..<min(rows.count, start + chunk)]
                var arguments = StatementArguments()
                for row in slice {
                    for i in kept { arguments += [try Self.stored(row[i], table.columns[i])] }
                }
                try db.execute(
                    sql: "INSERT INTO \(table.name) (\(kept.map { table.columns[$0].name }.joined(separator: ", "))) VALUES "
                        + Array(repeating: placeholders, count: slice.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING",
                    arguments: arguments)
            }
        }
    }

    /// Every event copied is already counted and its activity applied (the other engine keeps both
    /// current as it writes; the copy brought them over): the rollups' watermarks move to the newest event.
    func finishDestination() async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE event_rollups SET through_event_id = (SELECT coalesce(max(id), 0) FROM events)")
        }
    }

    func schema() async throws -> [String: [String]] {
        try await database.read { db in
            var tables: [String: [String]] = [:]
            for name in try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'") {
                tables[name] = try db.columns(in: name).map(\.name)
            }
            return tables
        }
    }

    // MARK: Mapping

    /// The FROM clause, the account condition and its argument.
    private static func scope(_ table: CopyTable, account: Int64?, _ db: Database) throws -> (String, String, StatementArguments) {
        guard table.perAccount, let account else { return ("\(table.name) t", "true", []) }
        if let join = accountJoins[table.name] { return ("\(table.name) t \(join)", "a.account_id = ?", [account]) }
        return ("\(table.name) t", "t.account_id = ?", [account])
    }

    /// The select list in `CopyTable`'s order; a column SQLite does not keep reads as its default.
    private static func columns(_ table: CopyTable, _ db: Database) throws -> String {
        let stored = Set(try db.columns(in: table.name).map(\.name))
        return table.columns.map { column in
            if stored.contains(column.name) { return "t.\(column.name)" }
            if column.name == "account_id" { return "a.account_id" }
            return "0"  // membership_dirty.marked_at: PostgreSQL's only
        }.joined(separator: ", ")
    }

    private static func fetch(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> [CopyRow] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in try (0..<row.count).map { try value(row[$0] as DatabaseValue) } }
    }

    private static func value(_ stored: DatabaseValue) throws -> CopyValue {
        switch stored.storage {
        case .null: return .null
        case .int64(let n): return .integer(n)
        case .string(let s): return .text(s)
        case .blob(let data): return .blob(Array(data))
        case .double(let d): throw CopyError.unusable("a real number (\(d)) where Trove keeps none")
        }
    }

    private static func databaseValue(_ value: CopyValue) -> DatabaseValue {
        switch value {
        case .null: return .null
        case .integer(let n): return n.databaseValue
        case .text(let s): return s.databaseValue
        case .blob(let b): return Data(b).databaseValue
        }
    }

    /// JSON is kept compact, as Trove writes it (PostgreSQL hands it out spaced).
    private static func stored(_ value: CopyValue, _ column: CopyTable.Column) throws -> DatabaseValue {
        guard column.kind == .json, case .text(let text) = value else { return databaseValue(value) }
        do { return JSONWriter.string(try JSONParser.parse(Array(text.utf8))).databaseValue } catch {
            throw CopyError.unusable("\(column.name) holds JSON that does not parse: \(error)")
        }
    }
}
