import Foundation
import PostgresNIO
import TrovePostgres
import GRDB
import TroveCore

/// The ingest workloads of contract §12: `import`, `storage`, `http-batch`, `http-single`.
public enum IngestBenchmarks {
    static let mib = 1024.0 * 1024.0

    // MARK: import and storage

    /// NDJSON into a fresh database through `trove import`'s path: companies, profiles, then events.
    public static func importData(_ workspace: BenchWorkspace, log: (String) -> Void) async throws -> BenchReport {
        let loaded = try await workspace.loadEngine([.company, .profile, .event], log: log)
        try await loaded.engine.close()
        let m = workspace.manifest
        var report = BenchReport(workload: "import", setup: setup(m, workspace))
        for (model, name) in [(Model.company, "companies"), (.profile, "profiles"), (.event, "events")] {
            let s = loaded.summaries[model]!
            report.figures.append(
                .init("\(name) imported", s.rate, "\(name)/s", target: model == .event ? .atLeast(250_000) : nil))
        }
        report.figures.append(.init("events import time", loaded.summaries[.event]!.seconds, "s"))
        report.checks = [
            ("every line imported (\(m.size.companies + m.size.profiles + m.size.events) rows)",
             loaded.summaries[.company]!.rows == m.size.companies && loaded.summaries[.profile]!.rows == m.size.profiles
                && loaded.summaries[.event]!.rows == m.size.events)
        ]
        return report
    }

    /// Bytes per event after loading the data set, the events table's indexes included (SQLite's dbstat).
    public static func storage(_ workspace: BenchWorkspace, log: (String) -> Void) async throws -> BenchReport {
        let loaded = try await workspace.load([.company, .profile, .event], log: log)
        let m = workspace.manifest
        try await loaded.database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let (perObject, events) = try await loaded.database.pool.read { db in
            (try Row.fetchAll(
                db,
                sql: """
                    SELECT coalesce(m.tbl_name, s.name) AS object, sum(s.pgsize) AS bytes
                    FROM dbstat s LEFT JOIN sqlite_master m ON m.name = s.name
                    GROUP BY object ORDER BY bytes DESC
                    """).map { ($0["object"] as String, $0["bytes"] as Int) },
             try Int.fetchOne(db, sql: "SELECT count(*) FROM events")!)
        }
        let fileSize = (try FileManager.default.attributesOfItem(atPath: workspace.databasePath)[.size] as? Int) ?? 0
        let eventBytes = perObject.first { $0.0 == "events" }?.1 ?? 0
        var report = BenchReport(workload: "storage", setup: setup(m))
        report.figures = [
            .init("events table + its indexes", Double(eventBytes) / Double(max(1, events)), "bytes/event", target: .atMost(120)),
            .init("whole database file", Double(fileSize) / Double(max(1, events)), "bytes/event"),
            .init("database file", Double(fileSize) / mib, "MiB"),
        ]
        for (object, bytes) in perObject.prefix(6) {
            report.figures.append(.init("  \(object) (with indexes)", Double(bytes) / mib, "MiB"))
        }
        report.checks = [("every event stored (\(m.size.events))", events == m.size.events)]
        return report
    }

    static func setup(_ m: DataSetManifest, _ workspace: BenchWorkspace? = nil) -> [(String, String)] {
        [
            ("data set", "seed \(m.seed): \(m.size.companies) companies, \(m.size.profiles) profiles, \(m.size.events) events"),
            ("build", buildKind + ", " + engineName(workspace)),
        ]
    }

    /// What the figures were measured with: `-O` builds leave assertions' debug checks out.
    static var buildKind: String {
        #if DEBUG
            "debug (figures far below a release build's)"
        #else
            "release"
        #endif
    }

    static func engineName(_ workspace: BenchWorkspace?) -> String {
        if let postgres = workspace?.postgres { return "PostgreSQL at \(postgres.host):\(postgres.port) (a fresh database)" }
        return "SQLite, durability normal (synchronous=NORMAL, WAL)"
    }

    // MARK: HTTP

    public struct HTTPOptions: Sendable {
        public var executable: String
        public var connections: Int
        /// Events to send in all (http-batch) or requests (http-single).
        public var events: Int
        public var batchSize: Int = 500
        public var durability: Durability = .normal
        /// The reference segment exists before the load, so the server keeps its membership (and, on SQLite,
        /// its event name's latest times, `EventRecency`) current while the events arrive.
        public var segment = false
        /// `trove serve` processes on the one database (PostgreSQL), the connections spread over them.
        public var nodes = 1

        public init(executable: String, connections: Int, events: Int) {
            self.executable = executable
            self.connections = connections
            self.events = events
        }
    }

    /// `POST /v3/observe/hooks/:secret/events/batch`, `batchSize` events per request.
    public static func httpBatch(_ workspace: BenchWorkspace, _ options: HTTPOptions, log: (String) -> Void) async throws -> BenchReport {
        try await batches(
            "http-batch", "POST /v3/observe/hooks/:secret/events/batch", "events", workspace, options, log: log,
            request: { credentials in ("/v3/observe/hooks/\(credentials.accountSecret)/events/batch", "") },
            open: "{\"events\":[", close: "]}", append: { event, body, number in event.appendJSON(to: &body, messageID: ("e", number)) },
            accept: { status, body in status == 202 && acceptedCount(body) == options.batchSize })
    }

    /// `POST /v1/batch` (Segment's tracking API), `batchSize` track messages per request in the shape
    /// analytics-python sends (Basic auth with the write key, `sentAt`, each message's library context).
    public static func httpSegment(_ workspace: BenchWorkspace, _ options: HTTPOptions, log: (String) -> Void) async throws -> BenchReport {
        try await batches(
            "http-segment", "POST /v1/batch (Segment)", "track messages", workspace, options, log: log,
            request: { credentials in ("/v1/batch", "Authorization: Basic \(Data("\(credentials.writeKey):".utf8).base64EncodedString())\r\n") },
            open: "{\"batch\":[", close: "],\"sentAt\":\"\(workspace.manifest.now.iso8601)\"}",
            append: { event, body, number in event.appendSegmentJSON(to: &body, messageID: ("e", number)) },
            accept: { status, _ in status == 200 })
    }

    /// A batch workload: `batchSize` generated events per request (`append` writes event number N between
    /// `open` and `close`); every event of an accepted request counts as acknowledged.
    static func batches(
        _ workload: String, _ route: String, _ items: String, _ workspace: BenchWorkspace, _ options: HTTPOptions, log: (String) -> Void,
        request: (Credentials) -> (path: String, headers: String), open: String, close: String,
        append: @escaping @Sendable (GeneratedEvent, inout [UInt8], Int) -> Void, accept: @escaping LoadGenerator.Acceptance
    ) async throws -> BenchReport {
        let perRequest = options.batchSize
        let requests = (options.events + perRequest - 1) / perRequest
        let m = workspace.manifest
        let run = try await serve(workspace, options, log: log) { credentials, ports in
            let (path, headers) = request(credentials)
            return LoadGenerator(
                ports: ports, path: path, connections: options.connections, requests: requests,
                body: { index, body in
                    var random = SeededRandom(seed: UInt64(index))
                    body.append(contentsOf: open.utf8)
                    for i in 0..<perRequest {
                        if i > 0 { body.append(UInt8(ascii: ",")) }
                        append(event(&random, m), &body, index * perRequest + i)
                    }
                    body.append(contentsOf: close.utf8)
                },
                accept: accept, headers: headers)
        }
        let acknowledged = run.outcome.acknowledged.flatMap { ($0 * perRequest)..<($0 * perRequest + perRequest) }
        var report = httpReport(workload, requests: "\(requests) × \(route), \(perRequest) \(items) each", options, m, workspace)
        report.figures = [
            .init("events acknowledged", Double(acknowledged.count) / run.outcome.seconds, "events/s", target: .atLeast(100_000)),
            .init("requests", Double(run.outcome.latencies.count) / run.outcome.seconds, "req/s"),
        ]
        return try await finish(report, run, p99Target: 50, workspace: workspace, acknowledged: acknowledged)
    }

    /// `POST /v3/observe/hooks/:secret/events`, one event per request.
    public static func httpSingle(_ workspace: BenchWorkspace, _ options: HTTPOptions, log: (String) -> Void) async throws -> BenchReport {
        let m = workspace.manifest
        let run = try await serve(workspace, options, log: log) { credentials, ports in
            LoadGenerator(
                ports: ports, path: "/v3/observe/hooks/\(credentials.accountSecret)/events", connections: options.connections, requests: options.events,
                body: { index, body in
                    var random = SeededRandom(seed: UInt64(index))
                    event(&random, m).appendJSON(to: &body, messageID: ("e", index))
                },
                accept: { status, _ in status == 200 })
        }
        let acknowledged = run.outcome.acknowledged
        var report = httpReport("http-single", requests: "\(options.events) × POST /v3/observe/hooks/:secret/events", options, m, workspace)
        report.figures = [
            .init("requests acknowledged", Double(acknowledged.count) / run.outcome.seconds, "req/s", target: .atLeast(20_000))
        ]
        return try await finish(report, run, p99Target: 20, workspace: workspace, acknowledged: acknowledged)
    }

    /// Latency percentiles, the server's figures, and the check against the database.
    static func finish(
        _ report: BenchReport, _ run: ServedRun, p99Target: Double, workspace: BenchWorkspace, acknowledged: [Int]
    ) async throws -> BenchReport {
        var report = report
        report.figures += [
            .init("latency p50", run.outcome.percentile(0.50), "ms"),
            .init("latency p99", run.outcome.percentile(0.99), "ms", target: .atMost(p99Target)),
            .init("latency max", run.outcome.percentile(1.0), "ms"),
        ]
        report.figures += run.serverFigures
        report.checks = try await verify(workspace, acknowledged: acknowledged, run: run)
        return report
    }

    static func httpReport(_ workload: String, requests: String, _ options: HTTPOptions, _ m: DataSetManifest, _ workspace: BenchWorkspace) -> BenchReport {
        BenchReport(
            workload: workload,
            setup: [
                ("requests", "\(requests), \(options.connections) connections"),
                ("server", (options.nodes > 1 ? "\(options.nodes) × " : "") + "`trove serve` (\(buildKind)) on a fresh database with \(m.size.profiles) profiles"
                    + (options.segment ? " and the reference segment" : "") + ": \(engineName(workspace))"
                    + (options.nodes > 1 ? "; the connections spread over the nodes" : "")),
                ("client", "in-process closed-loop HTTP/1.1 client, blocking sockets, one thread per connection"),
            ])
    }

    struct ServedRun {
        var outcome: LoadGenerator.Outcome
        var serverFigures: [BenchReport.Figure]
        var checks: [(String, Bool)] = []
    }

    /// Loads the profiles, starts `trove serve` on the database (`options.nodes` of them), runs the load, then
    /// kills the servers with SIGKILL — so the check that follows proves every acknowledged write survived a crash.
    static func serve(
        _ workspace: BenchWorkspace, _ options: HTTPOptions, log: (String) -> Void,
        load: (_ credentials: Credentials, _ ports: [Int]) -> LoadGenerator
    ) async throws -> ServedRun {
        guard options.nodes == 1 || workspace.postgres != nil else { throw BenchError("--nodes: several servers share a PostgreSQL database only") }
        let loaded = try await workspace.loadEngine([.company, .profile], durability: options.durability, log: log)
        let secret = loaded.accountSecret
        if options.segment {
            log("creating the reference segment")
            let account = try await Accounts(store: loaded.engine.accountStore).accountID(named: Accounts.defaultName)
            _ = try await SegmentBenchmarks.createReference(loaded.engine, account: account, clock: .fixed(workspace.now))
            try await loaded.engine.membershipWork.catchUp()
        }
        try await loaded.engine.close()
        log("starting \(options.nodes) × \(options.executable) serve")
        var servers: [ServerProcess] = []
        defer { for server in servers { server.kill(SIGKILL) } }
        for _ in 0..<options.nodes {
            servers.append(try ServerProcess.start(
                executable: options.executable, database: workspace.databaseArgument, accountSecret: secret,
                arguments: ["--durability", options.durability.rawValue, "--now", workspace.now.iso8601], logDirectory: workspace.directory))
        }
        let cpuBefore = servers.map { $0.cpuSeconds() }.reduce(0, +)
        log("sending load over \(options.connections) connections")
        let outcome = await load(loaded.credentials, servers.map(\.port)).run()
        let cpu = servers.map { $0.cpuSeconds() }.reduce(0, +) - cpuBefore
        let rss = Double(servers.map { $0.peakRSS() }.max() ?? 0) / mib
        for server in servers { server.kill(SIGKILL) }
        servers = []
        var checks: [(String, Bool)] = []
        if options.segment, workspace.postgres == nil {
            // The load reached the segment's event name: its latest times moved with the log.
            let (through, top) = try await AppDatabase(path: workspace.databasePath, readOnly: true).pool.read { db in
                (try Int64.fetchOne(db, sql: "SELECT max(through_event_id) FROM event_recency_names") ?? 0,
                 try Int64.fetchOne(db, sql: "SELECT max(id) FROM events") ?? 0)
            }
            checks.append(("the segment's event name kept its latest times (through event \(through) of \(top))", through > 0))
        }
        return ServedRun(
            outcome: outcome,
            serverFigures: [
                .init(options.nodes > 1 ? "server peak RSS (largest node)" : "server peak RSS", rss, "MiB", target: .atMost(1024)),
                .init(options.nodes > 1 ? "servers' CPU (all nodes)" : "server CPU", cpu / outcome.seconds * 100, "% of one core"),
                .init("error replies", Double(outcome.statuses.filter { !(200..<300).contains($0.key) }.values.reduce(0, +)), "replies"),
                .init("transport errors", Double(outcome.transportErrors), "requests"),
            ],
            checks: checks)
    }

    /// After the SIGKILL: every acknowledged event is in the database, once.
    static func verify(_ workspace: BenchWorkspace, acknowledged: [Int], run: ServedRun) async throws -> [(String, Bool)] {
        let (stored, distinct, present) = try await storedKeys(workspace)
        let missing = acknowledged.filter { !present.contains($0) }.count
        return [
            ("all \(acknowledged.count) acknowledged events found after kill -9 and reopen (missing: \(missing))", missing == 0),
            ("each stored once (\(stored) rows, \(distinct) distinct message ids)", stored == distinct),
            ("every request answered", run.outcome.transportErrors == 0),
        ] + run.checks
    }

    /// Events stored, distinct message ids, and the numbers of the `e…` ones (on the run's engine).
    static func storedKeys(_ workspace: BenchWorkspace) async throws -> (Int, Int, Set<Int>) {
        if let postgres = workspace.postgres {
            var present = Set<Int>()
            let database = try await PostgresAppDatabase.connect(postgres, maxConnections: 1)
            do {
                for row in try await database.query("SELECT dedupe_key FROM events WHERE account_id = 1 AND dedupe_key LIKE 'e%'") {
                    if let n = Int(try row.decode(String.self).dropFirst()) { present.insert(n) }
                }
                let counts = try await database.query("SELECT count(*), count(DISTINCT dedupe_key) FROM events WHERE account_id = 1")
                let (stored, distinct) = try counts[0].decode((Int64, Int64).self)
                await database.close()
                return (Int(stored), Int(distinct), present)
            } catch {
                await database.close()
                throw error
            }
        }
        let database = try AppDatabase(path: workspace.databasePath, readOnly: true)
        return try await database.pool.read { db in
            var present = Set<Int>()
            let cursor = try String.fetchCursor(db, sql: "SELECT dedupe_key FROM events WHERE dedupe_key LIKE 'e%'")
            while let key = try cursor.next() { if let n = Int(key.dropFirst()) { present.insert(n) } }
            return (try Int.fetchOne(db, sql: "SELECT count(*) FROM events")!,
                    try Int.fetchOne(db, sql: "SELECT count(DISTINCT dedupe_key) FROM events")!, present)
        }
    }

    static func event(_ random: inout SeededRandom, _ m: DataSetManifest) -> GeneratedEvent {
        let span = m.spanDays * 86_400_000
        return GeneratedEvent.random(profiles: m.size.profiles, start: m.now.milliseconds - Int64(span), span: span, random: &random)
    }

    /// `"accepted":N` from a batch reply.
    static func acceptedCount(_ body: ArraySlice<UInt8>) -> Int? {
        guard let json = try? JSONParser.parse(body), case .int(let n)? = json["batch"]?["accepted"] else { return nil }
        return Int(n)
    }
}
