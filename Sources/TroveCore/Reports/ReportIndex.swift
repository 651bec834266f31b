import GRDB

/// The partial index a funnel step reads: the events of one name in profile and time order, with the
/// grouping property's value when the funnel groups — `funnel_of_name_<id>[_<hash of the path>]` on
/// `events(profile_id, timestamp[, json_extract(properties, path)]) WHERE name_id = <id>`. It covers the
/// step's scan, so a funnel reads index pages only, in the order its merge needs, and never parses JSON.
///
/// Built on first use (one pass over the events: seconds on the reference set, once), recorded in
/// `report_indexes` with when it was last read, and dropped after 30 days unused: each one costs every
/// later insert of its name's events. Not one of `SegmentIndex.managedPrefixes`, so segments never drop it.
public struct ReportIndex: Hashable, Sendable {
    let nameID: Int64
    /// The grouping property's JSON path (`$."tour_id"`), or nil.
    let path: String?

    static let prefix = "funnel_of_name_"
    static let keepUnused: Int64 = 30 * 86_400_000
    /// At most this many at once: past it, the least recently read go first, so funnels asked with ever
    /// new names or properties cannot pile up indexes that every insert pays for.
    static let most = 32

    var name: String {
        Self.prefix + String(nameID) + (path.map { "_" + SegmentIndex.hash($0) } ?? "")
    }

    /// The value column as written in the index, so a query naming it is answered from the index.
    var valueSQL: String? { path.map { "json_extract(properties, '\($0)')" } }

    var createSQL: String {
        let columns = ["profile_id", "timestamp"] + (valueSQL.map { [$0] } ?? [])
        return "CREATE INDEX IF NOT EXISTS \"\(name)\" ON events(\(columns.joined(separator: ", "))) WHERE name_id = \(nameID)"
    }

    /// Creates the missing ones (on the writer) and marks all of them used now.
    static func ensure(_ indexes: Set<ReportIndex>, _ database: AppDatabase, now: Timestamp) async throws {
        guard !indexes.isEmpty else { return }
        let names = indexes.map(\.name)
        let known = try await database.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT r.name, r.last_used_at FROM report_indexes r JOIN sqlite_master m ON m.type = 'index' AND m.name = r.name WHERE r.name IN (\(names.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments(names))
                .reduce(into: [String: Int64]()) { $0[$1[0]] = $1[1] }
        }
        // Present and marked within the hour: nothing to write (a funnel is a read).
        if indexes.allSatisfy({ known[$0.name].map { now.milliseconds - $0 < 3_600_000 } ?? false }) { return }
        try await database.pool.write { db in
            for index in indexes.sorted(by: { $0.name < $1.name }) {
                if known[index.name] == nil { try db.execute(sql: index.createSQL) }
                try db.execute(
                    sql: """
                        INSERT INTO report_indexes (name, created_at, last_used_at) VALUES (?, ?, ?)
                        ON CONFLICT (name) DO UPDATE SET last_used_at = excluded.last_used_at
                        """, arguments: [index.name, now.milliseconds, now.milliseconds])
            }
            let excess = try String.fetchAll(
                db, sql: "SELECT name FROM report_indexes ORDER BY last_used_at DESC, name LIMIT -1 OFFSET ?", arguments: [max(most, indexes.count)])
            for name in excess where name.hasPrefix(prefix) && !names.contains(name) {
                try db.execute(sql: "DROP INDEX IF EXISTS \"\(name)\"")
                try db.execute(sql: "DELETE FROM report_indexes WHERE name = ?", arguments: [name])
            }
        }
    }

    /// Drops the indexes no report has read for 30 days (and forgets ones already gone); returns their names.
    @discardableResult
    public static func pruneUnused(_ database: AppDatabase, now: Timestamp) async throws -> [String] {
        try await database.pool.write { db in
            let stale = try String.fetchAll(
                db, sql: "SELECT name FROM report_indexes WHERE last_used_at < ?", arguments: [now.milliseconds - keepUnused])
            for name in stale where name.hasPrefix(prefix) {
                try db.execute(sql: "DROP INDEX IF EXISTS \"\(name)\"")
            }
            try db.execute(sql: "DELETE FROM report_indexes WHERE last_used_at < ?", arguments: [now.milliseconds - keepUnused])
            return stale
        }
    }
}
