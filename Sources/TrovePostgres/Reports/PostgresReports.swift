import PostgresNIO
import TroveCore

/// `GET /v1/reports/events` on PostgreSQL (contract §11): every ingest transaction leaves its counts in
/// `event_counts` or in a row of deltas not folded into it yet (`PostgresCountDeltas`), and the report reads
/// both (no tail of events past a watermark).
public struct PostgresEventReportStore: EventReportStore {
    public let database: PostgresAppDatabase
    public let clock: TroveClock

    public init(database: PostgresAppDatabase, clock: TroveClock) {
        self.database = database
        self.clock = clock
    }

    public func run(account: Int64, _ r: EventReport.Request) async throws -> EventReport.Result {
        let buckets = try EventReport.buckets(r)
        let hours = buckets.map(EventCounts.hour)
        var series: [(id: Int64?, name: String, uid: String)] = []
        if let names = r.names {
            let uids = names.map(NameNormalizer.normalize)
            var known: [String: (Int64, String)] = [:]
            for row in try await database.heavyQuery("SELECT uid, id, name FROM event_names WHERE account_id = \(account) AND uid = ANY(\(uids))") {
                let (uid, id, name) = try row.decode((String, Int64, String).self)
                known[uid] = (id, name)
            }
            series = zip(names, uids).map { name, uid in (known[uid]?.0, known[uid]?.1 ?? name, uid) }
        } else {
            series = try await database.heavyQuery("SELECT id, name, uid FROM event_names WHERE account_id = \(account) ORDER BY name COLLATE \"C\"")
                .map { row in
                    let (id, name, uid) = try row.decode((Int64, String, String).self)
                    return (id, name, uid)
                }
        }
        let ids = series.compactMap(\.id)
        var counts: [Int64: [Int64]] = [:]
        for id in ids { counts[id] = Array(repeating: 0, count: buckets.count - 1) }
        if !ids.isEmpty {
            // One row per name, its hours and counts as arrays: decoded row by row, 14k hourly rows took ~40 ms
            // of client time where the server spent 3.
            let rows = try await database.heavyQuery(PostgresCountDeltas.read(account: account, names: ids, from: hours.first!, to: hours.last!))
            for row in rows {
                let (id, hourList, countList) = try row.decode((Int64, [Int64], [Int64]).self)
                for (hour, count) in zip(hourList, countList) {
                    counts[id]![EventReport.bucketIndex(hour: hour, hours: hours)] += count
                }
            }
        }
        return EventReport.result(r, buckets: buckets, series: series, counts: counts)
    }
}

/// `GET /v1/reports/segments/:id/history` on PostgreSQL, from the ledger.
public struct PostgresSegmentHistoryStore: SegmentHistoryStore {
    public let database: PostgresAppDatabase
    public let clock: TroveClock

    public init(database: PostgresAppDatabase, clock: TroveClock) {
        self.database = database
        self.clock = clock
    }

    public func run(account: Int64, segment id: Int64, from: String?, to: String?) async throws -> SegmentHistory.Result {
        let range = try SegmentHistory.range(from: from, to: to, now: clock.now())
        // One snapshot for the three reads: the count now and the changes must agree.
        return try await database.transaction { connection in
            let run = connection.collecting(database.logger)
            _ = try await run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            guard let row = try await run("SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) AND s.id = \(id)").first
            else { throw ReadError.notFound("no segment with id \(id)") }
            let segment = try PostgresRows.segment(row)
            let current = try await run("SELECT count(*) FROM segment_members WHERE account_id = \(account) AND segment_id = \(id)")[0].decode(Int64.self)
            let after = try await run(
                """
                SELECT coalesce(sum(CASE WHEN entered THEN 1 ELSE -1 END), 0)::bigint FROM segment_changes
                WHERE account_id = \(account) AND segment_id = \(id) AND at >= \(range.end)
                """)[0].decode(Int64.self)
            let perDay = try await run(
                """
                SELECT (at - \(range.start)) / 86400000 AS day, count(*) FILTER (WHERE entered), count(*) FILTER (WHERE NOT entered)
                FROM segment_changes WHERE account_id = \(account) AND segment_id = \(id) AND at >= \(range.start) AND at < \(range.end)
                GROUP BY day
                """
            ).map { row in
                let (day, entered, exited) = try row.decode((Int64, Int64, Int64).self)
                return (day: Int(day), entered: entered, exited: exited)
            }
            return SegmentHistory.result(segment, range, current: current, after: after, perDay: perDay)
        }
    }
}

/// `GET /v1/reports/messages` on PostgreSQL: Customer.io's events of one message, per metric.
public struct PostgresMessageReportStore: MessageReportStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func run(account: Int64, _ p: MessageReport.Parameters) async throws -> MessageReport.Result {
        let q = try MessageReport.query(p)
        // A number stored under the field matches (as on SQLite, where `->>` gives the number itself).
        let rows = try await database.heavyQuery(
            """
            SELECT properties ->> 'metric' AS metric, count(*), count(DISTINCT profile_id) FROM events
            WHERE account_id = \(account) AND source = \(Int16(EventSource.customerio.rawValue)) AND timestamp >= \(q.from) AND timestamp < \(q.to)
              AND properties -> \(q.field) = to_jsonb(\(q.id))
            GROUP BY metric ORDER BY metric
            """)
        return MessageReport.result(q, try rows.compactMap { row in
            let (metric, events, people) = try row.decode((String?, Int64, Int64).self)
            return metric.map { ($0, events, people) }
        })
    }
}

/// `GET /v1/reports/funnel` on PostgreSQL (contract §11): the steps' events read in one statement in
/// profile, step and time order, streamed through the core's `FunnelCounter` a profile at a time. No step
/// lists are kept (SQLite's `ReportSteps`): the report reads the log, so it is always ready.
public struct PostgresFunnelReportStore: FunnelReportStore {
    public let database: PostgresAppDatabase
    public let clock: TroveClock

    public init(database: PostgresAppDatabase, clock: TroveClock) {
        self.database = database
        self.clock = clock
    }

    /// No step lists here: the report is always ready.
    public func runBuildingInPlace(account: Int64, _ r: FunnelReport.Request) async throws -> FunnelReport.Result {
        guard case .ready(let result) = try await run(account: account, r) else { throw ReadError.invalid("the funnel could not be counted") }
        return result
    }

    public func run(account: Int64, _ r: FunnelReport.Request) async throws -> FunnelReport.Outcome {
        let uids = r.steps.map(NameNormalizer.normalize)
        var known: [String: (Int64, String)] = [:]
        for row in try await database.heavyQuery("SELECT uid, id, name FROM event_names WHERE account_id = \(account) AND uid = ANY(\(uids))") {
            let (uid, id, name) = try row.decode((String, Int64, String).self)
            known[uid] = (id, name)
        }
        let nameIDs = uids.map { known[$0]?.0 }
        var counter = FunnelCounter(request: r, nameIDs: nameIDs)
        var values: [JSON?] = [nil]
        var groupIDs: [String: Int32] = [:]
        let window = Int64(r.withinDays) * ReportRange.day
        // Step n (from 1) of a known name; the first step's entries fall in [from, to), later ones may run past `to`.
        let steps = nameIDs.enumerated().compactMap { n, id in id.map { (n: Int64(n), id: $0, until: r.to.milliseconds + (n == 0 ? 0 : window)) } }
        if nameIDs[0] != nil {
            let value = r.groupBy.map { "nullif(e.properties\(PostgresDialect.chain($0)), 'null'::jsonb)::text" } ?? "NULL::text"
            let query: PostgresQuery = """
                SELECT e.profile_id, s.n, e.timestamp, \(unescaped: value) FROM events e
                JOIN unnest(\(steps.map(\.n))::bigint[], \(steps.map(\.id))::bigint[], \(steps.map(\.until))::bigint[]) AS s(n, name_id, until)
                  ON e.name_id = s.name_id
                WHERE e.account_id = \(account) AND e.timestamp >= \(r.from.milliseconds) AND e.timestamp < s.until
                ORDER BY e.profile_id, s.n, e.timestamp
                """
            var events = FunnelCounter.Profile(steps: nameIDs.count)
            var current: Int64?
            try await database.gate.admit()
            defer { database.gate.leave() }
            do {
                for try await row in try await database.heavyClient.query(query, logger: database.logger) {
                    let (profile, n, time, text) = try row.decode((Int64, Int64, Int64, String?).self)
                    if profile != current {
                        if current != nil { counter.add(events) }
                        current = profile
                        events.reset()
                    }
                    var group: Int32 = 0
                    if let text {
                        if let id = groupIDs[text] {
                            group = id
                        } else {
                            group = Int32(values.count)
                            values.append(try StoredJSON.parse(text, "events", "properties", id: nil))
                            groupIDs[text] = group
                            counter.meet(group: group)
                        }
                    }
                    events.begin(step: Int(n))
                    events.append(time: time, group: group)
                }
            } catch {
                throw database.heavyError(error)
            }
            if current != nil { counter.add(events) }
        }
        let named = zip(r.steps, uids).map { step, uid in FunnelReport.Result.Step(name: known[uid]?.1 ?? step, uid: uid) }
        return .ready(FunnelReport.result(counter, values: values, steps: named, request: r))
    }
}
