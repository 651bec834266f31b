import NIOCore
import PostgresNIO
import TroveCore

/// `trove copy` on PostgreSQL: its tables are already in `CopyTable`'s shape; values are read in the
/// neutral form (booleans as 0 or 1, JSON as text) and written back with casts. Every statement on a
/// per-account table filters on `account_id` (the Citus rule).
struct PostgresCopyStore: CopyStore {
    let database: PostgresAppDatabase

    /// Tables of the neutral shape that are views here, derived from others (`profile_activity`, from the
    /// events): read like tables, and nothing to write.
    static let views: Set<String> = ["profile_activity"]
    /// Not copied: the migrations' bookkeeping, what the running nodes hold (`PostgresNode`; with the rows'
    /// `claimed_by`: a copy starts with nothing claimed), and export files (SQLite's folder is not copied either).
    static let nodeState = ["trove_migrations", "trove_nodes", "work_claims", "export_parts"]

    func accountIDs() async throws -> [Int64] {
        try await database.query("SELECT id FROM accounts ORDER BY id").map { try $0.decode(Int64.self) }
    }

    func count(_ table: CopyTable, account: Int64?) async throws -> Int {
        var binds = PostgresBindings()
        let condition = Self.scope(table, account: account, &binds)
        let rows = try await database.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.name) WHERE \(condition)", binds: binds))
        return Int(try rows.first?.decode(Int64.self) ?? 0)
    }

    func lastKey(_ table: CopyTable, account: Int64?) async throws -> [CopyValue]? {
        var binds = PostgresBindings()
        let condition = Self.scope(table, account: account, &binds)
        let keyColumns = table.key.map { k in table.columns.first { $0.name == k }! }
        let sql = "SELECT \(keyColumns.map(Self.select).joined(separator: ", ")) FROM \(table.name) WHERE \(condition) ORDER BY "
            + table.key.map { $0 + " DESC" }.joined(separator: ", ") + " LIMIT 1"
        return try await database.query(PostgresQuery(unsafeSQL: sql, binds: binds)).first.map { try Self.decode($0, keyColumns) }
    }

    func rows(_ table: CopyTable, account: Int64?, after: [CopyValue]?, limit: Int) async throws -> [CopyRow] {
        var binds = PostgresBindings()
        var condition = Self.scope(table, account: account, &binds)
        if let after {
            let first = binds.count + 1
            condition += " AND (\(table.key.joined(separator: ", "))) > ("
                + after.indices.map { "$\(first + $0)" }.joined(separator: ", ") + ")"
            for v in after { Self.bind(v, &binds) }
        }
        let sql = "SELECT \(table.columns.map(Self.select).joined(separator: ", ")) FROM \(table.name) WHERE \(condition) ORDER BY "
            + table.key.joined(separator: ", ") + " LIMIT \(limit)"
        return try await database.query(PostgresQuery(unsafeSQL: sql, binds: binds)).map { try Self.decode($0, table.columns) }
    }

    func rows(_ table: CopyTable, account: Int64?, keys: [[CopyValue]]) async throws -> [CopyRow] {
        var found: [CopyRow] = []
        for key in keys {
            var binds = PostgresBindings()
            var condition = Self.scope(table, account: account, &binds)
            for (name, v) in zip(table.key, key) {
                condition += " AND \(name) = $\(binds.count + 1)"
                Self.bind(v, &binds)
            }
            let sql = "SELECT \(table.columns.map(Self.select).joined(separator: ", ")) FROM \(table.name) WHERE \(condition)"
            found += try await database.query(PostgresQuery(unsafeSQL: sql, binds: binds)).map { try Self.decode($0, table.columns) }
        }
        return found
    }

    func insert(_ table: CopyTable, rows: [CopyRow]) async throws {
        guard !Self.views.contains(table.name) else { return }
        let identity = table.columnNames.contains("id") ? " OVERRIDING SYSTEM VALUE" : ""
        let chunk = max(1, 60_000 / table.columns.count)
        try await database.transaction { connection in
            for start in stride(from: 0, to: rows.count, by: chunk) {
                let slice = rows[start..<min(rows.count, start + chunk)]
                var binds = PostgresBindings(capacity: slice.count * table.columns.count)
                var values: [String] = []
                for row in slice {
                    let first = binds.count + 1
                    values.append("(" + table.columns.indices.map { i in
                        table.columns[i].kind == .json ? "$\(first + i)::jsonb" : "$\(first + i)"
                    }.joined(separator: ", ") + ")")
                    for (value, column) in zip(row, table.columns) { Self.bind(value, as: column.kind, &binds) }
                }
                let sql = "INSERT INTO \(table.name) (\(table.columnNames.joined(separator: ", ")))\(identity) VALUES "
                    + values.joined(separator: ", ") + " ON CONFLICT DO NOTHING"
                try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: database.logger)
            }
        }
    }

    /// Identity sequences past the greatest id copied, so new rows do not take a copied row's id. (Per
    /// account, as every statement on a distributed table: the Citus rule.)
    func finishDestination() async throws {
        let accounts = try await accountIDs()
        for table in CopyTable.all where table.columnNames.contains("id") {
            let condition = table.perAccount ? "WHERE account_id = ANY($1)" : ""
            var binds = PostgresBindings()
            if table.perAccount { binds.append(accounts) }
            let top = try await database.query(PostgresQuery(unsafeSQL: "SELECT coalesce(max(id), 0) FROM \(table.name) \(condition)", binds: binds))
                .first?.decode(Int64.self) ?? 0
            try await database.query(PostgresQuery(unsafeSQL: "SELECT setval(pg_get_serial_sequence('\(table.name)', 'id'), \(top + 1), false)"))
        }
    }

    func schema() async throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        for row in try await database.query("""
            SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND (t.table_type = 'BASE TABLE' OR t.table_name::text = ANY(\(Array(Self.views))::text[]))
                AND c.table_name <> ALL(\(Self.nodeState)::text[]) AND c.column_name <> 'claimed_by'
            ORDER BY c.table_name, c.ordinal_position
            """) {
            let (table, column) = try row.decode((String, String).self)
            tables[table, default: []].append(column)
        }
        return tables
    }

    // MARK: Mapping

    private static func scope(_ table: CopyTable, account: Int64?, _ binds: inout PostgresBindings) -> String {
        guard table.perAccount, let account else { return "true" }
        binds.append(account)
        return "account_id = $\(binds.count)"
    }

    /// A column as the neutral form reads it.
    private static func select(_ column: CopyTable.Column) -> String {
        switch column.kind {
        case .integer: return "\(column.name)::int8"
        case .boolean: return "\(column.name)::int4::int8"
        case .json: return "\(column.name)::text"
        case .text, .blob: return column.name
        }
    }

    private static func decode(_ row: PostgresRow, _ columns: [CopyTable.Column]) throws -> CopyRow {
        var values: CopyRow = []
        values.reserveCapacity(columns.count)
        for (cell, column) in zip(row, columns) {
            switch column.kind {
            case .integer, .boolean: values.append(try cell.decode(Int64?.self).map(CopyValue.integer) ?? .null)
            case .text, .json: values.append(try cell.decode(String?.self).map(CopyValue.text) ?? .null)
            case .blob: values.append(try cell.decode(ByteBuffer?.self).map { .blob(Array($0.readableBytesView)) } ?? .null)
            }
        }
        return values
    }

    private static func bind(_ value: CopyValue, as kind: CopyTable.Kind? = nil, _ binds: inout PostgresBindings) {
        switch value {
        case .null: binds.appendNull()
        case .integer(let n): if kind == .boolean { binds.append(n != 0) } else { binds.append(n) }
        case .text(let s): binds.append(s)
        case .blob(let b): binds.append(ByteBuffer(bytes: b))
        }
    }
}
