import Foundation
import TroveCore

/// `trove bench scale --factor F`: the reference data set scaled F times, loaded once, then the workloads that
/// matter at scale on that one database — first those that need the data as loaded (reports, export), then
/// those that add to it (segments, whose freshness probe ingests; a person's timeline and erasure) — and
/// `trove backup`'s copy; then DuckDB on the same files (`PeerBenchmarks`). Each run's figures are saved
/// beside the data sets; with the 1× run's there, every figure's growth from 1× is printed next to the data's.
public enum ScaleBenchmarks {
    public struct Options: Sendable {
        public var factor: Int
        public var executable: String
        /// Where the scaled data sets (`f<F>/`) and each factor's figures (`scale-<F>.json`) are kept.
        public var root: String
        public var runs = 7
        /// `fixtures/bench/compare_peers.py`, for DuckDB's side on the same files after Trove's workloads; nil
        /// with `peers` true when it was not found (a failed check says so).
        public var peerScript: String?
        public var peers = true

        public init(factor: Int, executable: String, root: String) {
            self.factor = factor
            self.executable = executable
            self.root = root
        }

        public var dataDirectory: String { root + "/f\(factor)" }
        public var resultsPath: String { root + "/scale-\(factor).json" }
    }

    /// The reference set (20,000 companies, 1M profiles, 10M events) times `factor`.
    public static func size(factor: Int) -> ReferenceDataSet.Size {
        ReferenceDataSet.Size(profiles: 1_000_000 * factor, companies: 20_000 * factor, events: 10_000_000 * factor)
    }

    /// The data set for `options.factor`, generated into `options.dataDirectory` unless it is there already.
    public static func prepareData(_ options: Options, seed: UInt64, log: (String) -> Void) throws {
        if (try? DataSetManifest.read(directory: options.dataDirectory)) != nil {
            log("reusing the data set in \(options.dataDirectory)")
            return
        }
        let size = size(factor: options.factor)
        log("generating \(size.companies) companies, \(size.profiles) profiles, \(size.events) events into \(options.dataDirectory)")
        _ = try ReferenceDataSet(seed: seed, size: size).write(to: options.dataDirectory)
    }

    public static func scale(_ workspace: BenchWorkspace, _ options: Options, log: (String) -> Void) async throws -> BenchReport {
        let started = Date()
        let m = workspace.manifest
        let loaded = try await workspace.loadEngine([.company, .profile, .event], log: log)
        let events = loaded.summaries[.event]!
        var report = BenchReport(workload: "scale ×\(options.factor)", setup: IngestBenchmarks.setup(m, workspace))
        report.figures = [
            .init("import, events, whole load", events.rate, "events/s", target: .atLeast(250_000)),
            .init("import, events, last tenth", loaded.tailRates[.event] ?? 0, "events/s"),
            .init("import, events, time", events.seconds, "s"),
        ]
        report.checks = [("every event imported (\(events.rows) of \(m.size.events))", events.rows == m.size.events)]
        try await workspace.checkpoint(loaded.engine)
        report.figures.append(.init("whole file per event", Double(fileBytes(workspace.databasePath)) / Double(max(1, m.size.events)), "bytes", target: .atMost(100)))

        log("reports")
        let reports = try await ReportBenchmarks.measure(workspace, loaded.engine, runs: options.runs, log: log)
        take(reports, ["events per day (median of \(options.runs))", "funnel (median of \(options.runs))", "funnel, first run (builds its indexes)"],
             into: &report, targets: [10, 3000, nil])
        log("export")
        let export = try await ExportBenchmarks.measure(workspace, try await workspace.openEngine(), runs: 3, log: log)
        take(export, ["rows exported (median of 3)"], into: &report, targets: [1_000_000], atLeast: true)
        log("segments")
        var segmentOptions = SegmentBenchmarks.Options(executable: options.executable)
        segmentOptions.probes = 50
        let reopened = BenchWorkspace.LoadedEngine(engine: try await workspace.openEngine(), credentials: loaded.credentials, summaries: loaded.summaries)
        let segments = try await SegmentBenchmarks.measure(workspace, reopened, segmentOptions, log: log)
        take(segments, ["build (indexes + first membership)", "then the rest of the evaluator's work (latest times)", "full evaluation, cold",
                        "full evaluation, warm (median of 7)", "segments of user X, p50", "membership visible after ingest, p99"],
             into: &report, targets: [30, nil, 300, 100, 1, 1000])
        log("a person's timeline and erasure")
        let person = try await PersonBenchmarks.measure(
            workspace, database: try AppDatabase(path: workspace.databasePath), accountSecret: loaded.accountSecret,
            PersonBenchmarks.Options(executable: options.executable), log: log)
        take(person, ["timeline, 50 most active people, p50", "timeline, people with one event, p50", "erasure of 10000 events"],
             into: &report, targets: [5, 5, 2])

        log("trove backup")
        let backupStarted = Date()
        let copied = try Maintenance.backup(source: workspace.databasePath, destination: workspace.directory + "/backup.sqlite")
        report.figures.append(.init("backup (trove backup: VACUUM INTO, then an integrity check)", Date().timeIntervalSince(backupStarted), "s"))
        report.figures.append(.init("backup size", Double(copied) / 1_048_576, "MiB"))
        report.figures.append(.init("whole run", Date().timeIntervalSince(started) / 60, "min"))
        if options.peers {
            let duckdb = PeerBenchmarks.measure(script: options.peerScript, data: options.dataDirectory, log: log)
            report.setup += duckdb.setup
            report.figures += duckdb.figures
            report.checks += duckdb.checks
        }
        report.setup.append(("factor", "×\(options.factor) of the reference set (\(m.size.events) events); workloads on one database, in this order"))

        try save(report, to: options.resultsPath)
        if options.factor != 1, let base = try? load(options.root + "/scale-1.json") {
            report.setup.append(("growth", "each figure ÷ the 1× run's (\(options.root)/scale-1.json); the data grew ×\(options.factor)"))
            for figure in report.figures where figure.unit != "×" {
                guard let before = base[figure.name], before > 0 else { continue }
                report.figures.append(.init("growth: \(figure.name)", figure.value / before, "×"))
            }
        }
        return report
    }

    /// Moves the named figures of a workload's report (and all its checks) into `report`, with the targets at
    /// this scale (the issue's, where they differ from the 1× ones).
    static func take(_ from: BenchReport, _ names: [String], into report: inout BenchReport, targets: [Double?], atLeast: Bool = false) {
        for (name, target) in zip(names, targets) {
            guard let figure = from.figures.first(where: { $0.name == name }) else { continue }
            report.figures.append(.init("\(from.workload): \(name)", figure.value, figure.unit,
                                        target: target.map { atLeast ? .atLeast($0) : .atMost($0) }))
        }
        report.checks += from.checks.map { ("\(from.workload): \($0.0)", $0.1) }
    }

    static func fileBytes(_ path: String) -> Int64 {
        ["", "-wal"].reduce(0) { total, suffix in
            total + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int64) ?? 0)
        }
    }

    static func save(_ report: BenchReport, to path: String) throws {
        let figures = JSON.object(report.figures.map { JSONMember($0.name, .double($0.value)) })
        try Data(JSONWriter.bytes(["workload": .string(report.workload), "figures": figures])).write(to: URL(fileURLWithPath: path))
    }

    static func load(_ path: String) throws -> [String: Double] {
        let json = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        var figures: [String: Double] = [:]
        for member in json["figures"]?.objectMembers ?? [] {
            switch member.value {
            case .double(let d): figures[member.key] = d
            case .int(let i): figures[member.key] = Double(i)
            default: break
            }
        }
        return figures
    }
}
