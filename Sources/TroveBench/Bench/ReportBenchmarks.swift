import Foundation
import GRDB
import TroveCore

/// `trove bench reports` (SPEC §12): the events-per-day report over the whole reference data set, from
/// the counters (target ≤ 10 ms), checked against a GROUP BY over the raw events (also timed: the naive way).
public enum ReportBenchmarks {
    public static func reports(_ workspace: BenchWorkspace, runs: Int, log: (String) -> Void) async throws -> BenchReport {
        let m = workspace.manifest
        let loaded = try await workspace.load([.company, .profile, .event], log: log)
        let database = loaded.database
        let account = try AccountStore(database: database).accountID(named: AccountStore.defaultName)
        try await ActivityRollup.catchUp(database)
        let (first, last) = try await database.pool.read { db in
            (try Int64.fetchOne(db, sql: "SELECT min(timestamp) FROM events") ?? 0, try Int64.fetchOne(db, sql: "SELECT max(timestamp) FROM events") ?? 0)
        }
        let report = EventReport(database: database, clock: .fixed(workspace.now))
        let request = try report.request([
            "from": String(first / 1000), "to": String(last / 1000 + 1), "interval": "day",
        ])
        var times: [Double] = []
        var answer: JSON = .null
        for run in 1...runs {
            let started = Date()
            answer = try report.run(account: account, request)
            times.append(Date().timeIntervalSince(started) * 1000)
            if run == 1 { log("events per day: \(String(format: "%.1f", times[0])) ms (first run)") }
        }
        let sorted = times.sorted()
        // The same figures the slow way, straight from the events.
        log("the same with GROUP BY over every event (the naive way) …")
        let started = Date()
        let naive = try await database.pool.read { db in
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
        for s in answer["series"]?.arrayValue ?? [] {
            let uid = s["uid"]?.stringValue ?? ""
            for (i, p) in (s["points"]?.arrayValue ?? []).enumerated() {
                if case .int(let n)? = p["count"], n > 0 {
                    got["\(uid)/\(i)"] = n
                    total += n
                }
            }
        }
        var result = BenchReport(workload: "reports", setup: IngestBenchmarks.setup(m))
        result.setup.append(("report", "events per day, every name, \(answer["series"]?.arrayValue?.count ?? 0) names × \(request.to.milliseconds / 86_400_000 - request.from.milliseconds / 86_400_000) days, UTC"))
        result.figures = [
            .init("events per day (median of \(runs))", sorted[sorted.count / 2], "ms", target: .atMost(10)),
            .init("events per day (first run)", times[0], "ms"),
            .init("same figures by GROUP BY over events", naiveMS, "ms"),
        ]
        result.checks = [
            ("every event counted (\(total) of \(m.size.events))", total == Int64(m.size.events)),
            ("each name and day equals the GROUP BY over events (\(got.count) cells)", got == expected),
        ]
        return result
    }
}
