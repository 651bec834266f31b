import Foundation
import GRDB

/// `GET /v1/reports/segments/:id/history?from&to` (contract §11): the segment's member count at the end of
/// each UTC day, with the day's entries and exits, from the ledger (`segment_changes`): the count now,
/// walked back through the changes after each day.
public struct SegmentHistory: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    static let day: Int64 = 86_400_000

    /// The member count at the end of each UTC day, with the day's entries and exits.
    public struct Result: Sendable, Equatable {
        public struct Day: Sendable, Equatable {
            /// `YYYY-MM-DD`.
            public var date: String
            public var count: Int64
            public var entered: Int64
            public var exited: Int64
        }

        public var segmentID: Int64
        public var segmentName: String
        public var days: [Day]
    }

    /// `from`/`to` are dates (both inclusive) or times; default the last 30 days.
    public func run(account: Int64, segment id: Int64, from: String?, to: String?) async throws -> Result {
        let range = try Self.range(from: from, to: to, now: clock.now())
        return try await database.heavyRead { db in
            guard let segment = try Segment.fetch(db, account: account, id: id) else { throw ReadError.notFound("no segment with id \(id)") }
            let current = try Int64.fetchOne(db, sql: "SELECT count(*) FROM segment_members WHERE segment_id = ?", arguments: [id]) ?? 0
            // Net change after the range, then per day inside it.
            let after = try Int64.fetchOne(
                db, sql: "SELECT coalesce(sum(CASE WHEN entered THEN 1 ELSE -1 END), 0) FROM segment_changes WHERE segment_id = ? AND at >= ?",
                arguments: [id, range.end]) ?? 0
            let perDay = try Row.fetchAll(
                db, sql: """
                    SELECT (at - ?2) / 86400000 AS day, sum(entered), sum(1 - entered) FROM segment_changes
                    WHERE segment_id = ?1 AND at >= ?2 AND at < ?3 GROUP BY day
                    """, arguments: [id, range.start, range.end]
            ).map { (day: Int($0[0] as Int64), entered: $0[1] as Int64, exited: $0[2] as Int64) }
            return Self.result(segment, range, current: current, after: after, perDay: perDay)
        }
    }

    /// Whole UTC days: the first's start, the last's end, how many.
    public struct Range: Sendable {
        public var start: Int64
        public var end: Int64
        public var days: Int
    }

    public static func range(from: String?, to: String?, now: Timestamp) throws(ReadError) -> Range {
        var (start, end) = try ReportRange.utc(from: from, to: to, now: now)
        start = Timestamp.floor(start, units: Self.day) * Self.day
        end = -Timestamp.floor(-end, units: Self.day) * Self.day  // up to a day's end
        let days = Int((end - start) / Self.day)
        guard days <= 3_660 else { throw ReadError.invalid("from/to: at most 3,660 days") }
        return Range(start: start, end: end, days: days)
    }

    /// The days, walked back from the members now (`current`) through the net change after the range
    /// (`after`) and each day's entries and exits (`perDay`, by day index; days without changes left out).
    public static func result(_ segment: Segment, _ range: Range, current: Int64, after: Int64,
                              perDay: [(day: Int, entered: Int64, exited: Int64)]) -> Result {
        var entered = [Int64](repeating: 0, count: range.days)
        var exited = [Int64](repeating: 0, count: range.days)
        for d in perDay {
            entered[d.day] = d.entered
            exited[d.day] = d.exited
        }
        var count = current - after  // at the end of the last day
        var points = [Result.Day](repeating: Result.Day(date: "", count: 0, entered: 0, exited: 0), count: range.days)
        for d in stride(from: range.days - 1, through: 0, by: -1) {
            let date = String(Timestamp(milliseconds: range.start + Int64(d) * Self.day).iso8601.prefix(10))
            points[d] = Result.Day(date: date, count: count, entered: entered[d], exited: exited[d])
            count -= entered[d] - exited[d]
        }
        return Result(segmentID: segment.id, segmentName: segment.name, days: points)
    }
}
