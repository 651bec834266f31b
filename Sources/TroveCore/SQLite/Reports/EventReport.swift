import Foundation
import GRDB

/// `GET /v1/reports/events?from&to&names&interval=day|hour&tz=` (contract §11): events per name per bucket,
/// from `event_counts` (or `event_counts_daily` for whole UTC days) plus the tail of the log the rollup has
/// not reached (one read snapshot, so exact under concurrent ingest). Buckets are UTC unless `tz` names an
/// IANA zone; counts are kept per UTC hour, so a zone whose offset is not a whole number of hours is refused
/// rather than answered approximately.
public struct EventReport: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    public enum Interval: String, Sendable { case day, hour }

    public struct Request: Sendable {
        public var from: Timestamp
        /// Exclusive.
        public var to: Timestamp
        public var names: [String]?
        public var interval: Interval
        public var zone: TimeZone
    }

    public static let maxBuckets = 10_000

    /// Counts per name per bucket: `buckets` are the bucket starts, and `end` the end of the last.
    public struct Result: Sendable, Equatable {
        public struct Series: Sendable, Equatable {
            public var name: String
            public var uid: String
            /// One per bucket.
            public var counts: [Int64]
            public var total: Int64 { counts.reduce(0, +) }
        }

        public var interval: Interval
        public var zone: TimeZone
        public var buckets: [Timestamp]
        public var end: Timestamp
        public var series: [Series]

        /// A bucket boundary in the report's zone: `2026-11-20T00:00:00Z`, or `2026-11-20T00:00:00-05:00`.
        public func label(_ t: Timestamp) -> String { EventReport.format(t.milliseconds, zone: zone) }
        /// `UTC` or the zone's IANA name.
        public var zoneName: String { zone == ReportRange.utc ? "UTC" : zone.identifier }
    }

    /// The query's parameters as given (`from`, `to`, `names` comma-separated, `interval`, `tz`); `request`
    /// reads them.
    public struct Parameters: Sendable {
        public var from: String?
        public var to: String?
        public var names: String?
        public var interval: String?
        public var tz: String?

        public init(from: String? = nil, to: String? = nil, names: String? = nil, interval: String? = nil, tz: String? = nil) {
            self.from = from
            self.to = to
            self.names = names
            self.interval = interval
            self.tz = tz
        }
    }

    public func run(account: Int64, _ r: Request) async throws -> Result {
        let buckets = try Self.buckets(r)
        // Usually milliseconds, but the tail past the counts' watermark holds up to 30 s of ingest: a heavy read.
        return try await database.heavyRead { db in
            // The names asked for (or all the account's), as stored.
            var series: [(id: Int64?, name: String, uid: String)] = []
            if let names = r.names {
                for name in names {
                    let uid = NameNormalizer.normalize(name)
                    let row = try Row.fetchOne(db, sql: "SELECT id, name FROM event_names WHERE account_id = ? AND uid = ?", arguments: [account, uid])
                    series.append((row?[0], row?[1] ?? name, uid))
                }
            } else {
                series = try Row.fetchAll(db, sql: "SELECT id, name, uid FROM event_names WHERE account_id = ? AND \(CatalogReader.seenNames) ORDER BY name", arguments: [account])
                    .map { ($0[0], $0[1], $0[2]) }
            }
            let ids = series.compactMap(\.id)
            var counts: [Int64: [Int64]] = [:]  // name id → count per bucket
            for id in ids { counts[id] = Array(repeating: 0, count: buckets.count - 1) }
            if !ids.isEmpty {
                let list = ids.map(String.init).joined(separator: ",")
                // Bucket i covers the hours [hours[i], hours[i + 1]); when every boundary is a UTC midnight,
                // the days [days[i], days[i + 1]) of `event_counts_daily`, 24 times fewer rows. Each name's
                // rows come in order from the primary key, so the buckets fill in one pass with no sort (and
                // no row objects).
                let hours = buckets.map(EventCounts.hour)
                let daily = hours.allSatisfy { $0 % 24 == 0 }
                let bounds = daily ? hours.map { $0 / 24 } : hours
                let scan = try RawStatement(db, sql: daily
                    ? "SELECT day, count FROM event_counts_daily WHERE name_id = ? AND day >= ? AND day < ?"
                    : "SELECT hour, count FROM event_counts WHERE name_id = ? AND hour >= ? AND hour < ?")
                for id in ids {
                    try scan.bind(1, id)
                    try scan.bind(2, bounds.first!)
                    try scan.bind(3, bounds.last!)
                    var values = counts[id]!
                    var bucket = 0
                    try scan.forEachRow(db) { column in
                        let unit = column(0)
                        while bounds[bucket + 1] <= unit { bucket += 1 }
                        values[bucket] += column(1)
                    }
                    counts[id] = values
                }
                // The tail past the counts' watermark, event by event (none once ingest has paused for half a
                // second; under sustained load up to 30 s of it).
                let tail = try Row.fetchAll(
                    db, sql: """
                        SELECT name_id, timestamp FROM events
                        WHERE id > (SELECT through_event_id FROM event_rollups WHERE name = 'counts')
                          AND account_id = ? AND name_id IN (\(list)) AND timestamp >= ? AND timestamp < ?
                        """, arguments: [account, buckets.first!, buckets.last!])
                for row in tail {
                    let hour = EventCounts.hour(row[1])
                    let i = Self.bucketIndex(hour: hour, hours: hours)
                    counts[row[0]]![i] += 1
                }
            }
            return Self.result(r, buckets: buckets, series: series, counts: counts)
        }
    }

    /// The report from the series asked for (`id` nil: a name never seen) and each known name's counts per
    /// bucket.
    public static func result(_ r: Request, buckets: [Int64], series: [(id: Int64?, name: String, uid: String)], counts: [Int64: [Int64]]) -> Result {
        Result(
            interval: r.interval, zone: r.zone, buckets: buckets.dropLast().map(Timestamp.init(milliseconds:)),
            end: Timestamp(milliseconds: buckets.last!),
            series: series.map { s in
                Result.Series(name: s.name, uid: s.uid, counts: s.id.flatMap { counts[$0] } ?? Array(repeating: 0, count: buckets.count - 1))
            })
    }

    /// The bucket holding `hour`: the last boundary at or before it.
    public static func bucketIndex(hour: Int64, hours: [Int64]) -> Int {
        var lo = 0, hi = hours.count - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if hours[mid] <= hour { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// The bucket boundaries from `from` to `to` (both included; `to` rounded up to a boundary), each a
    /// whole UTC hour.
    public static func buckets(_ r: Request) throws(ReadError) -> [Int64] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = r.zone
        var boundaries: [Int64] = [r.from.milliseconds]
        let step: Int64 = r.interval == .day ? 86_400_000 : 3_600_000
        let start = Date(timeIntervalSince1970: Double(r.from.milliseconds) / 1000)
        if r.from.milliseconds % EventCounts.hourMilliseconds == 0,
           (r.zone.nextDaylightSavingTimeTransition(after: start)?.timeIntervalSince1970 ?? .infinity) * 1000 >= Double(r.to.milliseconds + step) {
            // One offset over the whole range: every bucket has the same length.
            let count = (r.to.milliseconds - r.from.milliseconds + step - 1) / step
            guard count <= Int64(maxBuckets) else {
                throw .invalid("from/to: more than \(maxBuckets) \(r.interval.rawValue)s; narrow the range or use interval=day")
            }
            return (0...count).map { r.from.milliseconds + $0 * step }
        }
        var current = start
        while boundaries.last! < r.to.milliseconds {
            guard boundaries.count <= maxBuckets else {
                throw .invalid("from/to: more than \(maxBuckets) \(r.interval.rawValue)s; narrow the range or use interval=day")
            }
            current = calendar.date(byAdding: r.interval == .day ? .day : .hour, value: 1, to: current)!
            let ms = Int64((current.timeIntervalSince1970 * 1000).rounded())
            guard ms % EventCounts.hourMilliseconds == 0 else {
                throw .invalid("tz: \(r.zone.identifier) is not a whole number of hours from UTC; counts are kept per UTC hour")
            }
            boundaries.append(ms)
        }
        guard boundaries[0] % EventCounts.hourMilliseconds == 0 else {
            throw .invalid("tz: \(r.zone.identifier) is not a whole number of hours from UTC; counts are kept per UTC hour")
        }
        return boundaries
    }

    static func bucketStart(_ t: Timestamp, interval: Interval, zone: TimeZone) -> Timestamp {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let date = Date(timeIntervalSince1970: Double(t.milliseconds) / 1000)
        let start: Date
        if interval == .day {
            start = calendar.startOfDay(for: date)
        } else {
            start = calendar.dateInterval(of: .hour, for: date)?.start ?? date
        }
        return Timestamp(milliseconds: Int64((start.timeIntervalSince1970 * 1000).rounded()))
    }

    /// A date (`to` inclusive: the next day's start), an ISO 8601 time, or unix seconds.
    static func time(_ text: String, zone: TimeZone, endOfDay: Bool) -> Timestamp? {
        let parts = text.split(separator: "-")
        if text.utf8.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            guard let day = calendar.date(from: DateComponents(year: y, month: m, day: d)),
                  calendar.component(.day, from: day) == d
            else { return nil }
            let start = endOfDay ? calendar.date(byAdding: .day, value: 1, to: day)! : day
            return Timestamp(milliseconds: Int64((start.timeIntervalSince1970 * 1000).rounded()))
        }
        return Timestamp.parse(unixSecondsOrISO8601: text)
    }

    /// `2026-11-20T00:00:00Z`, or with the zone's offset then: `2026-11-20T00:00:00-05:00`.
    static func format(_ ms: Int64, zone: TimeZone) -> String {
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))
        let local = Timestamp(milliseconds: ms + Int64(offset) * 1000).iso8601
        let base = String(local.prefix(19))
        guard offset != 0 else { return base + "Z" }
        let sign = offset < 0 ? "-" : "+"
        let a = abs(offset)
        return base + sign + String(format: "%02d:%02d", a / 3600, a % 3600 / 60)
    }
}
