import Foundation
import GRDB
import PostgresNIO
import TroveCore
import TrovePostgres

/// What `trove bench reports` checks its answers against: the same figures computed the naive way, in the
/// run's engine's own SQL straight over the events (a GROUP BY per name and day; a funnel as one EXISTS per
/// entry). Benchmark checks only: the product's reports never run these.
struct ReportChecks {
    enum Database {
        case sqlite(AppDatabase)
        case postgres(PostgresAppDatabase)
    }

    let database: Database

    init(_ engine: any TroveEngine) {
        if let postgres = engine as? PostgresEngine {
            database = .postgres(postgres.database)
        } else {
            database = .sqlite((engine as! SQLiteEngine).database)
        }
    }

    /// The first and last event times (ms).
    func eventSpan(account: Int64) async throws -> (Int64, Int64) {
        let sql = "SELECT coalesce(min(timestamp), 0), coalesce(max(timestamp), 0) FROM events WHERE account_id = \(account)"
        switch database {
        case .sqlite(let db):
            return try await db.pool.read { db in
                let row = try Row.fetchOne(db, sql: sql)!
                return (row[0], row[1])
            }
        case .postgres(let db):
            return try await db.query(PostgresQuery(unsafeSQL: sql)).first!.decode((Int64, Int64).self)
        }
    }

    /// Events per name uid and UTC day since `from`, keyed "uid/day".
    func perNameAndDay(account: Int64, from: Int64, to: Int64) async throws -> [String: Int64] {
        let sql = """
            SELECT n.uid, (e.timestamp - \(from)) / 86400000 AS day, count(*) FROM events e
            JOIN event_names n ON n.account_id = e.account_id AND n.id = e.name_id
            WHERE e.account_id = \(account) AND e.timestamp >= \(from) AND e.timestamp < \(to)
            GROUP BY 1, 2
            """
        var found: [String: Int64] = [:]
        switch database {
        case .sqlite(let db):
            // Read as Sendable tuples, so that the read awaits instead of blocking a cooperative thread.
            let rows = try await db.pool.read { db in try Row.fetchAll(db, sql: sql).map { ($0[0] as String, $0[1] as Int64, $0[2] as Int64) } }
            for (uid, day, n) in rows { found["\(uid)/\(day)"] = n }
        case .postgres(let db):
            for row in try await db.query(PostgresQuery(unsafeSQL: sql)) {
                let (uid, day, n) = try row.decode((String, Int64, Int64).self)
                found["\(uid)/\(day)"] = n
            }
        }
        return found
    }

    func nameIDs(account: Int64, uids: [String]) async throws -> [Int64] {
        var ids: [Int64] = []
        for uid in uids {
            // The name as a bound parameter, not spliced into the SQL.
            switch database {
            case .sqlite(let db):
                ids.append(try await db.pool.read { db in
                    try Int64.fetchOne(db, sql: "SELECT id FROM event_names WHERE account_id = ? AND uid = ?", arguments: [account, uid])
                } ?? 0)
            case .postgres(let db):
                ids.append(try await db.query("SELECT id FROM event_names WHERE account_id = \(account) AND uid = \(uid)").first?.decode(Int64.self) ?? 0)
            }
        }
        return ids
    }

    /// An index per step for the check's EXISTS (made before it is timed, dropped after).
    func indexSteps(_ names: [Int64]) async throws {
        try await execute(names.map { "CREATE INDEX IF NOT EXISTS bench_check_\($0) ON events(profile_id, timestamp) WHERE name_id = \($0)" })
    }

    func dropStepIndexes(_ names: [Int64]) async throws {
        try await execute(names.map { "DROP INDEX IF EXISTS bench_check_\($0)" })
    }

    /// Per value of the event property `group`: the profiles with a first step in the window, and those
    /// with a second step of the same value (or of none) within `withinDays` of one of their first steps;
    /// and the same over every value.
    func funnel(account: Int64, names: [Int64], group: String, from: Int64, to: Int64, withinDays: Int) async throws
        -> (perGroup: [String: [Int64]], total: [Int64])
    {
        let value: (String) -> String
        switch database {
        case .sqlite: value = { "json_extract(\($0).properties, '$.\"\(group)\"')" }
        case .postgres: value = { "(\($0).properties ->> '\(group)')" }
        }
        let entered = """
            SELECT e.profile_id, e.timestamp, \(value("e")) AS g FROM events e
            WHERE e.account_id = \(account) AND e.name_id = \(names[0]) AND e.timestamp >= \(from) AND e.timestamp < \(to)
            """
        let completes = """
            EXISTS (SELECT 1 FROM events c WHERE c.account_id = \(account) AND c.name_id = \(names[1]) AND c.profile_id = s.profile_id
                AND c.timestamp >= s.timestamp AND c.timestamp <= s.timestamp + \(withinDays) * 86400000
                AND (\(value("c")) = s.g OR \(value("c")) IS NULL))
            """
        let queries = [
            "SELECT g, count(DISTINCT profile_id) FROM (\(entered)) s GROUP BY g",
            "SELECT g, count(DISTINCT profile_id) FROM (\(entered)) s WHERE \(completes) GROUP BY g",
            "SELECT count(DISTINCT profile_id) FROM (\(entered)) s",
            "SELECT count(DISTINCT profile_id) FROM (\(entered)) s WHERE \(completes)",
        ]
        var perGroup: [String: [Int64]] = [:]
        var total: [Int64] = []
        for (i, sql) in queries.enumerated() {
            let rows: [(String?, Int64)]
            switch database {
            case .sqlite(let db):
                rows = try await db.pool.read { db in
                    try Row.fetchAll(db, sql: sql).map { row in i < 2 ? (row[0] as String?, row[1] as Int64) : (nil, row[0] as Int64) }
                }
            case .postgres(let db):
                rows = try await db.query(PostgresQuery(unsafeSQL: sql)).map { row in
                    i < 2 ? try row.decode((String?, Int64).self) : (nil, try row.decode(Int64.self))
                }
            }
            switch i {
            case 0: for (g, n) in rows { perGroup[g ?? "(none)"] = [n, 0] }
            case 1: for (g, n) in rows { perGroup[g ?? "(none)", default: [0, 0]][1] = n }
            default: total.append(rows.first?.1 ?? 0)
            }
        }
        return (perGroup, total)
    }

    private func execute(_ statements: [String]) async throws {
        switch database {
        case .sqlite(let db):
            try await db.write { db in for sql in statements { try db.execute(sql: sql) } }
        case .postgres(let db):
            for sql in statements { try await db.query(PostgresQuery(unsafeSQL: sql)) }
        }
    }
}
