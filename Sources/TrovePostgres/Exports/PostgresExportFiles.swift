import Foundation
import NIOPosix
import PostgresNIO
import TroveCore

/// Export files on PostgreSQL: each written on a thread of its own over one connection used synchronously,
/// inside one `REPEATABLE READ` read-only transaction (one snapshot, as SQLite's one read), reading rows in
/// pages of id order so memory stays bounded; the fields, header and file handling are the core's.
struct PostgresExportFiles {
    let database: PostgresAppDatabase
    /// Rows per page read.
    var pageSize: Int64 = 10_000

    func customers(account: Int64, _ export: CustomerExport, now: Timestamp, path: String, formulas: FormulaCells,
                   progress: CustomerExport.Progress?) async throws -> (rows: Int64, bytes: Int64) {
        let dialect = PostgresDialect()
        let columns = export.columns(dialect)
        let list = (["p.uid", "p.email", "p.id", "p.company_id", "p.properties::text"] + columns.profile.map(\.sql)).joined(separator: ", ")
        var select = SQLFragment("SELECT \(list) FROM profiles p WHERE p.account_id = ? AND \(dialect.enabledProfile)", [.integer(account)])
        if let filter = export.filterNode {
            let run: PostgresCompiling.Run = { try await database.query($0) }
            let segments = try await PostgresCompiling.segments(account: account, run)
            let compiler = try await PostgresCompiling.compiler(for: filter, account: account, now: now, segments: segments, run)
            select = try compiler.membersQuery(filter, columns: list).select
        }
        let renderings = columns.profile.map(\.rendering)
        let pageSize = self.pageSize
        return try await snapshot { [select] connection in
            var companies: [(id: Int64, values: [SQLValue])] = []
            if !columns.company.isEmpty {
                let sql = "SELECT c.id, \(columns.company.map(\.sql).joined(separator: ", ")) FROM companies c WHERE c.account_id = \(account)"
                for row in try connection.query(PostgresQuery(unsafeSQL: sql)) {
                    let cells = Array(row)
                    companies.append((try cells[0].decode(Int64.self),
                                      try columns.company.enumerated().map { i, c in try Self.value(cells[1 + i], c.rendering) }))
                }
            }
            let maxID = progress == nil ? 0 : try connection.query("SELECT coalesce(max(id), 0) FROM profiles WHERE account_id = \(account)")[0].decode(Int64.self)
            let pages = PagesAhead(connection: connection, pageSize: pageSize, next: { try Array($0)[2].decode(Int64.self) }) { after in
                (select + SQLFragment(" AND p.id > ? ORDER BY p.id LIMIT ?", [.integer(after), .integer(pageSize)])).postgresQuery
            }
            return try export.writePaged(at: path, formulas: formulas, dialect: dialect, companies: companies, maxID: maxID, progress: progress) { after in
                try pages.page(after: after).map { row in
                    let cells = Array(row)
                    return CustomerExportRow(
                        uid: try cells[0].decode(String?.self), email: try cells[1].decode(String?.self), id: try cells[2].decode(Int64.self),
                        companyID: try cells[3].decode(Int64?.self), properties: try cells[4].decode(String.self),
                        extras: try renderings.enumerated().map { i, rendering in try Self.value(cells[5 + i], rendering) })
                }
            }
        }
    }

    func deliveries(account: Int64, _ export: DeliveryExport, path: String, formulas: FormulaCells) async throws -> (rows: Int64, bytes: Int64) {
        let dialect = PostgresDialect()
        let attributes = export.attributeColumns(dialect)
        var select = "SELECT e.timestamp, p.uid, p.email, p.id"
        for name in DeliveryExport.activityColumnNames { select += ", (e.properties -> '\(name)')::text" }
        for column in attributes { select += ", \(column.sql)" }
        select += ", e.id FROM events e JOIN profiles p ON p.account_id = e.account_id AND p.id = e.profile_id"
            + " WHERE e.account_id = ? AND e.source = \(EventSource.customerio.rawValue) AND e.properties -> '\(export.messageField)' = to_jsonb(?::bigint)"
        var query = SQLFragment(select, [.integer(account), .integer(export.messageID)])
        if let start = export.startTime { query = query + SQLFragment(" AND e.timestamp >= ?", [.integer(start.milliseconds)]) }
        if let end = export.endTime { query = query + SQLFragment(" AND e.timestamp < ?", [.integer(end.milliseconds)]) }
        if let metric = export.metricName { query = query + SQLFragment(" AND e.properties ->> 'metric' = ?", [.text(metric)]) }
        if !export.includesDrafts { query = query + SQLFragment(" AND (e.properties ->> 'metric') IS DISTINCT FROM 'drafted'") }
        let activity = DeliveryExport.activityColumnNames.count
        let pageSize = self.pageSize
        return try await snapshot { [query] connection in
            let pages = PagesAhead(connection: connection, pageSize: pageSize, next: { row in
                let cells = Array(row)
                return EventKey(timestamp: try cells[0].decode(Int64.self), id: try cells[cells.count - 1].decode(Int64.self))
            }) { after in
                (query + SQLFragment(" AND (e.timestamp, e.id) > (?, ?) ORDER BY e.timestamp, e.id LIMIT ?",
                                     [.integer(after.timestamp), .integer(after.id), .integer(pageSize)])).postgresQuery
            }
            return try export.writePaged(at: path, formulas: formulas, dialect: dialect) { after in
                try pages.page(after: EventKey(timestamp: after.timestamp, id: after.id)).map { row in
                    let cells = Array(row)
                    var values: [SQLValue] = [.integer(try cells[0].decode(Int64.self)), try Self.value(cells[1], .text),
                                              try Self.value(cells[2], .text), .integer(try cells[3].decode(Int64.self))]
                    for i in 0..<activity { values.append(try Self.value(cells[4 + i], .json)) }
                    for (i, column) in attributes.enumerated() { values.append(try Self.value(cells[4 + activity + i], column.rendering)) }
                    values.append(.integer(try cells[cells.count - 1].decode(Int64.self)))
                    return values
                }
            }
        }
    }

    private struct EventKey: Equatable {
        var timestamp: Int64
        var id: Int64
    }

    /// Pages of a statement in key order, read one ahead: when a full page arrives, the next page's statement
    /// is sent at once, so PostgreSQL reads and renders it while Trove decodes and writes this one (one after
    /// the other, the two sides took turns).
    final class PagesAhead<Key: Equatable> {
        let connection: BlockingConnection
        let pageSize: Int64
        /// The key of a page's last row, where the next page starts.
        let next: (PostgresRow) throws -> Key
        let query: (Key) -> PostgresQuery
        private var ahead: (after: Key, sent: BlockingConnection.Sent)?

        init(connection: BlockingConnection, pageSize: Int64, next: @escaping (PostgresRow) throws -> Key, query: @escaping (Key) -> PostgresQuery) {
            self.connection = connection
            self.pageSize = pageSize
            self.next = next
            self.query = query
        }

        func page(after: Key) throws -> [PostgresRow] {
            let sent = ahead.flatMap { $0.after == after ? $0.sent : nil } ?? connection.send(query(after))
            ahead = nil
            let rows = try connection.rows(of: sent)
            if rows.count == pageSize, let last = rows.last {
                let key = try next(last)
                ahead = (key, connection.send(query(key)))
            }
            return rows
        }
    }

    /// A column's value as the core renders it: times as milliseconds, flags as 0/1, the rest as text.
    static func value(_ cell: PostgresCell, _ rendering: CustomerExport.Rendering) throws -> SQLValue {
        switch rendering {
        case .time: return try cell.decode(Int64?.self).map(SQLValue.integer) ?? .null
        case .flag: return try cell.decode(Bool?.self).map { .integer($0 ? 1 : 0) } ?? .null
        case .text, .json: return try cell.decode(String?.self).map(SQLValue.text) ?? .null
        }
    }

    /// Runs `body` on a thread of its own inside one read-only snapshot transaction.
    func snapshot<T: Sendable>(_ body: @escaping @Sendable (BlockingConnection) throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive {
            let connection = try BlockingConnection.open(database.location, logger: database.logger)
            defer { connection.close() }
            try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let result = try body(connection)
                try connection.query("COMMIT")
                return result
            } catch {
                _ = try? connection.query("ROLLBACK")
                throw error
            }
        }
    }
}
