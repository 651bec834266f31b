import Foundation
import TroveCore

/// `trove bench reports` (contract §12): the events-per-day report over the whole reference data set, from
/// the counters (target ≤ 10 ms), checked against a GROUP BY over the raw events (also timed: the naive way).
public enum ReportBenchmarks {
    public static func reports(_ workspace: BenchWorkspace, runs: Int, log: (String) -> Void) async throws -> BenchReport {
        try await measure(workspace, try await workspace.loadEngine([.company, .profile, .event], log: log).engine, runs: runs, log: log)
    }

    /// The figures on a database the data set was loaded into, nothing added since (closes `engine`).
    static func measure(_ workspace: BenchWorkspace, _ engine: any TroveEngine, runs: Int, log: (String) -> Void) async throws -> BenchReport {
        let m = workspace.manifest
        let account = try await Accounts(store: engine.accountStore).accountID(named: Accounts.defaultName)
        try await engine.ingestStore.catchUp()
        let check = ReportChecks(engine)
        let (first, last) = try await check.eventSpan(account: account)
        let report = engine.eventReportStore
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
        let expected = try await check.perNameAndDay(account: account, from: request.from.milliseconds, to: request.to.milliseconds)
        let naiveMS = Date().timeIntervalSince(started) * 1000
        var got: [String: Int64] = [:]
        var total: Int64 = 0
        for s in answer?.series ?? [] {
            for (i, n) in s.counts.enumerated() where n > 0 {
                got["\(s.uid)/\(i)"] = n
                total += n
            }
        }
        let funnel = try await Self.funnel(engine, check, account: account, from: first, to: last + 1, runs: runs, log: log)
        try await engine.close()
        var result = BenchReport(workload: "reports", setup: IngestBenchmarks.setup(m, workspace))
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
    static func funnel(_ engine: any TroveEngine, _ check: ReportChecks, account: Int64, from: Int64, to: Int64, runs: Int, log: (String) -> Void) async throws
        -> (median: Double, first: Double, sqlMS: Double, groups: Int, matches: Bool)
    {
        let report = engine.funnelReportStore
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
        let names = try await check.nameIDs(account: account, uids: funnelSteps.map(NameNormalizer.normalize))
        try await check.indexSteps(names)
        let started = Date()
        let (expected, expectedTotal) = try await check.funnel(
            account: account, names: names, group: "tour_id", from: request.from.milliseconds, to: request.to.milliseconds, withinDays: 7)
        let sqlMS = Date().timeIntervalSince(started) * 1000
        try await check.dropStepIndexes(names)
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
