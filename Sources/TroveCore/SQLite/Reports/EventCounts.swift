import GRDB

/// Events per name per UTC hour (`event_counts`, contract §11): written by `CountsRollup`, exact when read
/// together with the tail of the log above its watermark; anonymous events (contract §8) are added as they
/// are stored and taken out when merged or deleted.
public enum EventCounts {
    public struct Key: Hashable, Sendable, Comparable {
        public var name: Int64
        public var hour: Int64

        public static func < (a: Key, b: Key) -> Bool { a.name != b.name ? a.name < b.name : a.hour < b.hour }
    }

    static let hourMilliseconds: Int64 = 3_600_000

    /// floor(ms / 1 hour), also before 1970.
    public static func hour(_ milliseconds: Int64) -> Int64 { Timestamp.floor(milliseconds, units: hourMilliseconds) }

    /// The same in SQL over a millisecond column.
    public static func hourSQL(_ column: String) -> String {
        "((\(column) - ((\(column) % 3600000) + 3600000) % 3600000) / 3600000)"
    }

    /// Adds `counts` (a rollup's, in the transaction that moves its watermark), in key order as plans
    /// hold them: each page of the table is then visited once (tens of thousands of keys when events
    /// arrive spread over months).
    static func add(_ counts: [(Key, Int64)], _ db: Database) throws {
        let upsert = try RawStatement(db, sql: """
            INSERT INTO event_counts (name_id, hour, count) VALUES (?, ?, ?)
            ON CONFLICT (name_id, hour) DO UPDATE SET count = count + excluded.count
            """)
        for (key, count) in counts {
            try upsert.bind(1, key.name)
            try upsert.bind(2, key.hour)
            try upsert.bind(3, count)
            try upsert.execute(db)
        }
    }

    /// Before events matching `condition` are deleted: takes the ones the counts already hold (at or
    /// below the watermark) out of them.
    static func subtract(eventsWhere condition: String, arguments: StatementArguments, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE event_counts SET count = event_counts.count - d.n
                FROM (SELECT name_id, \(hourSQL("timestamp")) AS hour, count(*) AS n FROM events
                      WHERE \(condition) AND id <= (SELECT through_event_id FROM event_rollups WHERE name = 'counts')
                      GROUP BY 1, 2) AS d
                WHERE event_counts.name_id = d.name_id AND event_counts.hour = d.hour
                """, arguments: arguments)
    }

    /// Before anonymous events matching `condition` are deleted or merged: takes them out of the counts, which
    /// hold every anonymous event from when it is stored (no watermark: they are few, and added one by one).
    static func subtract(anonymousWhere condition: String, arguments: StatementArguments, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE event_counts SET count = event_counts.count - d.n
                FROM (SELECT name_id, \(hourSQL("timestamp")) AS hour, count(*) AS n FROM anonymous_events WHERE \(condition) GROUP BY 1, 2) AS d
                WHERE event_counts.name_id = d.name_id AND event_counts.hour = d.hour
                """, arguments: arguments)
    }

    /// After events were deleted: watermarks above the log's new top come down to it, since SQLite may
    /// hand a deleted top id out again (0002_event_rollups.sql).
    static func lowerWatermarks(_ db: Database) throws {
        try db.execute(sql: "UPDATE event_rollups SET through_event_id = min(through_event_id, (SELECT coalesce(max(id), 0) FROM events))")
    }
}
