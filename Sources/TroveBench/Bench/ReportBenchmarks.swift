import Foundation
import GRDB
import TroveCore

/// `trove bench reports` (contract §12): the events-per-day report over the whole reference data set, from
/// the counters (target ≤ 10 ms), checked against a GROUP BY over the raw events (also timed: the naive way).
public enum ReportBenchmarks {
    public static func reports(_ workspace: BenchWorkspace, runs: Int, log: (String) -> Void) async throws -> BenchReport {
        let m = workspace.manifest
        let loaded = try await workspace.load([.company, .profile, .event], log: log)
        let database = loaded.database
        let account = try await Accounts(database: database).accountID(named: Accounts.defaultName)
        try await ActivityRollup.catchUp(database)
        try await CountsRollup.catchUp(database)
        let (first, last) = try await database.pool.read { db in
            (try Int64.fetchOne(db, sql: "SELECT min(timestamp) FROM events") ?? 0, try Int64.fetchOne(db, sql: "SELECT max(timestamp) FROM events") ?? 0)
        }
        let report = EventReport(database: database, clock: .fixed(workspace.now))
        let request = try report.request(EventReport.Parameters(from: String(first / 1000), to: String(last / 1000 + 1), interval: "day"))
        var times: [Double] = []
        var answer: EventReport.Result?
        for run in 1...runs {
            let started = Date()
            answer = try await report.run(account: account, request)
            times.append(Date().timeIntervalSince(started) * 1000)
            if run == 1 { log("events per day: \(String(format: "%.1f", times[0])) ms (first run)") }
        }
        let sorted = times.sorted()
        // The same figures the slow way, straight from the events.
        log("the same with GROUP BY over every event (the naive way) …")
        let started = Date()
        let naive = try database.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT n.uid, (e.timestamp - \(request.from.milliseconds)) / 86400000 AS day, count(*) FROM events e
                JOIN event_names n ON n.id = e.name_id
                WHERE e.account_id = ? AND e.timestamp >= ? AND e.timestamp < ?
                GROUP BY 1, 2
                """, arguments: [account, request.from.milliseconds, request.to.milliseconds])
        }
        let naiveMS = Date().timeIntervalSince(started) * 1000
        var expected: [String: Int64] = [:]
        for row in naive { expected["\(row[0] as String)/\(row[1] as Int64)"] = row[2] }
        var got: [String: Int64] = [:]
        var total: Int64 = 0
        for s in answer?.series ?? [] {
            for (i, n) in s.counts.enumerated() where n > 0 {
                got["\(s.uid)/\(i)"] = n
                total += n
            }
        }
        let funnel = try await Self.funnel(database, account: account, from: first, to: last + 1, runs: runs, log: log)
        var result = BenchReport(workload: "reports", setup: IngestBenchmarks.setup(m))
        result.setup.append(("report", "events per day, every name, \(answer?.series.count ?? 0) names × \(request.to.milliseconds / 86_400_000 - request.from.milliseconds / 86_400_000) days, UTC"))
        result.figures = [
            .init("events per day (median of \(runs))", sorted[sorted.count / 2], "ms", target: .atMost(10)),
            .init("events per day (first run)", times[0], "ms"),
            .init("same figures by GROUP BY over events", naiveMS, "ms"),
            .init("funnel (median of \(runs))", funnel.median, "ms", target: .atMost(500)),
            .init("funnel, first run (builds its indexes)", funnel.first, "ms"),
            .init("same funnel in SQL (EXISTS per entry)", funnel.sqlMS, "ms"),
        ]
        result.checks = [
            ("every event counted (\(total) of \(m.size.events))", total == Int64(m.size.events)),
            ("each name and day equals the GROUP BY over events (\(got.count) cells)", got == expected),
            ("funnel: every group's two steps and the total equal the SQL (\(funnel.groups) groups)", funnel.matches),
        ]
        result.setup.append(("funnel", Self.funnelDescription))
        return result
    }

    static let funnelSteps = ["Started Tour (Chameleon)", "Completed Tour (Chameleon)"]
    static let funnelDescription = "Started Tour → Completed Tour (Chameleon), by tour_id, within 7 days, all 90 days"

    /// The funnel report, timed (the first run builds the steps' indexes), and checked against the same
    /// counts computed in SQL: per tour, the profiles with a start, and those with a completion of the
    /// same tour (or of none) within 7 days of one of their starts.
    static func funnel(_ database: AppDatabase, account: Int64, from: Int64, to: Int64, runs: Int, log: (String) -> Void) async throws
        -> (median: Double, first: Double, sqlMS: Double, groups: Int, matches: Bool)
    {
        let report = FunnelReport(database: database, clock: .fixed(Timestamp(milliseconds: to)))
        let request = try report.request(FunnelReport.Parameters(
            steps: funnelSteps.joined(separator: ","), groupBy: "tour_id", within: "7", from: String(from / 1000), to: String(to / 1000 + 1), limit: "1000"))
        var times: [Double] = []
        var answer: FunnelReport.Result?
        for run in 1...runs {
            let started = Date()
            // First use builds the steps' lists here, in the slices a server builds them in.
            answer = try await report.runBuildingInPlace(account: account, request)
            times.append(Date().timeIntervalSince(started) * 1000)
            if run == 1 { log("funnel: \(String(format: "%.1f", times[0])) ms (first run, building its step lists)") }
        }
        log("the same funnel in SQL (over indexes made for the check) …")
        let checkNames = try await database.read { db in
            try funnelSteps.map { name in
                try Int64.fetchOne(db, sql: "SELECT id FROM event_names WHERE account_id = ? AND uid = ?", arguments: [account, NameNormalizer.normalize(name)]) ?? 0
            }
        }
        try await database.write { db in
            for id in checkNames { try db.execute(sql: "CREATE INDEX IF NOT EXISTS bench_check_\(id) ON events(profile_id, timestamp) WHERE name_id = \(id)") }
        }
        let started = Date()
        let path = "'$.\"tour_id\"'"
        let (expected, expectedTotal) = try await database.pool.read { db in
            let ids = try funnelSteps.map { name in
                try Int64.fetchOne(db, sql: "SELECT id FROM event_names WHERE account_id = ? AND uid = ?", arguments: [account, NameNormalizer.normalize(name)]) ?? 0
            }
            let entered = """
                SELECT profile_id, timestamp, json_extract(properties, \(path)) AS g FROM events
                WHERE name_id = \(ids[0]) AND timestamp >= \(request.from.milliseconds) AND timestamp < \(request.to.milliseconds)
                """
            let completes = """
                EXISTS (SELECT 1 FROM events c WHERE c.name_id = \(ids[1]) AND c.profile_id = s.profile_id
                    AND c.timestamp >= s.timestamp AND c.timestamp <= s.timestamp + 7 * 86400000
                    AND (json_extract(c.properties, \(path)) = s.g OR json_extract(c.properties, \(path)) IS NULL))
                """
            var perGroup: [String: [Int64]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT g, count(DISTINCT profile_id) FROM (\(entered)) GROUP BY g") {
                perGroup[row[0] ?? "(none)"] = [row[1], 0]
            }
            for row in try Row.fetchAll(db, sql: "SELECT g, count(DISTINCT profile_id) FROM (\(entered)) s WHERE \(completes) GROUP BY g") {
                perGroup[row[0] ?? "(none)", default: [0, 0]][1] = row[1]
            }
            let total: [Int64] = [
                try Int64.fetchOne(db, sql: "SELECT count(DISTINCT profile_id) FROM (\(entered))") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT count(DISTINCT profile_id) FROM (\(entered)) s WHERE \(completes)") ?? 0,
            ]
            return (perGroup, total)
        }
        let sqlMS = Date().timeIntervalSince(started) * 1000
        try await database.write { db in
            for id in checkNames { try db.execute(sql: "DROP INDEX bench_check_\(id)") }
        }
        func counts(_ group: FunnelReport.Result.Group?) -> [Int64] { group?.reached.map(Int64.init) ?? [] }
        var got: [String: [Int64]] = [:]
        for group in answer?.groups ?? [] {
            got[group.value.stringValue ?? "(none)"] = counts(group)
        }
        let matches = got == expected && counts(answer?.total) == expectedTotal && answer?.groupsNotShown == 0
        let sorted = (times.count > 1 ? Array(times.dropFirst()) : times).sorted()
        return (sorted[sorted.count / 2], times[0], sqlMS, got.count, matches)
    }
}
