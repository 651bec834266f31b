import Foundation
import TroveCore

/// `trove bench segments` (contract §12): the reference segment's full evaluation cold and warm, "segments of
/// user X" over HTTP, and how soon a membership change is visible while events stream in at 10k/s.
public enum SegmentBenchmarks {
    public struct Options: Sendable {
        public var executable: String
        public var lookups = 20_000
        public var lookupConnections = 4
        public var ingestRate = 10_000
        public var probes = 100
        /// `trove serve` processes on the one database (PostgreSQL) for the lookups and the freshness probes.
        public var nodes = 1
        public init(executable: String) { self.executable = executable }
    }

    public static func segments(_ workspace: BenchWorkspace, _ options: Options, log: (String) -> Void) async throws -> BenchReport {
        try await measure(workspace, try await workspace.loadEngine([.company, .profile, .event], log: log), options, log: log)
    }

    /// Creates the reference segment (`ReferenceDataSet.referenceSegment`); its membership is built by the
    /// evaluator's next steps.
    static func createReference(_ engine: any TroveEngine, account: Int64, clock: TroveClock) async throws -> Segment {
        let reference = ReferenceDataSet.referenceSegment
        return try await SegmentDefinitions(store: engine.segmentStore, clock: clock).create(account: account, SegmentChange(
            name: reference["name"]?.stringValue, description: reference["description"]?.stringValue,
            definition: try ChameleonDefinition(items: reference["items"] ?? .null, op: reference["items_op"])))
    }

    /// The figures on a database the data set was loaded into (closes `loaded.engine`).
    static func measure(_ workspace: BenchWorkspace, _ loaded: BenchWorkspace.LoadedEngine, _ options: Options, log: (String) -> Void) async throws -> BenchReport {
        let m = workspace.manifest
        let engine = loaded.engine
        let clock = TroveClock.fixed(workspace.now)
        let account = try await Accounts(store: engine.accountStore).accountID(named: Accounts.defaultName)
        var report = BenchReport(workload: "segments", setup: IngestBenchmarks.setup(m, workspace))

        log("creating the reference segment and building its membership")
        var started = Date()
        let segment = try await createReference(engine, account: account, clock: clock)
        // Until the membership is built; what the evaluator does next (SQLite: the latest times of the name,
        // `EventRecency`) is timed on its own.
        var step: MembershipEvaluator.StepResult
        repeat { step = try await engine.membershipWork.step() } while !step.built.contains(segment.id) && (step.more || step.didWork)
        let buildSeconds = Date().timeIntervalSince(started)
        started = Date()
        try await engine.membershipWork.catchUp()
        let afterSeconds = Date().timeIntervalSince(started)
        let built = try await engine.segmentStore.segment(account: account, id: segment.id)
        try await workspace.checkpoint(engine)
        try await engine.close()

        // Cold: a new engine (new connections: an empty SQLite page cache) and, when allowed, an empty OS
        // page cache. PostgreSQL keeps its shared buffers.
        let dropped = dropOSCaches()
        let fresh = try await workspace.openEngine()
        started = Date()
        let coldCount = try await fresh.audienceStore.evaluate(account: account, segment: segment.id)
        let cold = Date().timeIntervalSince(started) * 1000
        var warm: [Double] = []
        for _ in 0..<7 {
            started = Date()
            _ = try await fresh.audienceStore.evaluate(account: account, segment: segment.id)
            warm.append(Date().timeIntervalSince(started) * 1000)
        }
        warm.sort()
        var members: [String] = []
        var before: Int64?
        repeat {
            let page = try await fresh.audienceStore.profiles(account: account, audience: .segment(segment.id), limit: 10_000, before: before)
            members += page.items.compactMap(\.uid)
            before = page.before
        } while before != nil
        try await fresh.close()

        guard options.nodes == 1 || workspace.postgres != nil else { throw BenchError("--nodes: several servers share a PostgreSQL database only") }
        log("starting \(options.nodes) × \(options.executable) serve")
        var servers: [ServerProcess] = []
        defer { for server in servers { server.kill(SIGKILL) } }
        for _ in 0..<options.nodes {
            servers.append(try ServerProcess.start(
                executable: options.executable, database: workspace.databaseArgument, accountSecret: loaded.accountSecret,
                arguments: ["--now", workspace.now.iso8601], logDirectory: workspace.directory))
        }
        let ports = servers.map(\.port)
        log("asking for the segments of \(options.lookups) users over \(options.lookupConnections) connections")
        let lookups = segmentsOfUser(ports: ports, key: loaded.appAPIKey, members: members, profiles: m.size.profiles, options: options)
        let outcome = await lookups.run()

        log("streaming events at \(options.ingestRate)/s and timing \(options.probes) membership changes")
        let freshness = try await Freshness.measure(ports: ports, secret: loaded.accountSecret, appAPIKey: loaded.appAPIKey,
                                                    profiles: m.size.profiles, rate: options.ingestRate, probes: options.probes)
        for probe in freshness.unseen { log("probe never seen within 10 s: \(probe)") }

        report.setup.append(("reference segment", "score ≥ 80, plan pro, company.employees > 50, ≥ 2 Completed Tour in 30 d"))
        report.setup.append(("engine", workspace.postgres == nil ? "SQLite" : "PostgreSQL (cold keeps its shared buffers)"))
        if options.nodes > 1 { report.setup.append(("nodes", "\(options.nodes) × `trove serve`; lookups spread over them, each probe sent to one and looked for on the next")) }
        report.setup.append(("cold", dropped ? "OS page cache dropped, new connections" : "new connections (OS page cache kept: not allowed to drop it)"))
        report.figures = [
            .init("build (indexes + first membership)", buildSeconds, "s"),
            .init("then the rest of the evaluator's work (latest times)", afterSeconds, "s"),
            .init("full evaluation, cold", cold, "ms", target: .atMost(300)),
            .init("full evaluation, warm (median of 7)", warm[warm.count / 2], "ms", target: .atMost(100)),
            .init("full evaluation, warm (best)", warm[0], "ms"),
            .init("segments of user X, p50", outcome.percentile(0.5), "ms", target: .atMost(1)),
            .init("segments of user X, p99", outcome.percentile(0.99), "ms"),
            .init("segments of user X", Double(outcome.latencies.count) / outcome.seconds, "req/s"),
            .init("membership visible after ingest, p50", freshness.percentile(0.5), "ms"),
            .init("membership visible after ingest, p99", freshness.percentile(0.99), "ms", target: .atMost(1000)),
            .init("background ingest achieved", freshness.achievedRate, "events/s"),
        ]
        report.checks = [
            ("reference segment has the generator's count (\(m.expectedReferenceSegmentMembers)): built \(built.memberCount), evaluated \(coldCount)",
             built.memberCount == Int64(m.expectedReferenceSegmentMembers) && coldCount == built.memberCount),
            ("every lookup answered 200", outcome.statuses[200] == options.lookups),
            ("every probe became visible (\(freshness.visible)/\(options.probes))", freshness.visible == options.probes),
        ]
        return report
    }

    /// `GET /v1/customers/:uid/segments`, half for members, half for random profiles.
    static func segmentsOfUser(ports: [Int], key: String, members: [String], profiles: Int, options: Options) -> LoadGenerator {
        LoadGenerator(ports: ports, connections: options.lookupConnections, requests: options.lookups, request: { index, request in
            let uid = index % 2 == 0 && !members.isEmpty ? members[index / 2 % members.count] : "user-\((index &* 7919) % profiles + 1)"
            request += Array("GET /v1/customers/\(uid)/segments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\n\r\n".utf8)
        }, accept: { status, _ in status == 200 })
    }

    /// Drops the OS page cache (root only), so "cold" means cold disk reads; false when not allowed.
    static func dropOSCaches() -> Bool {
        sync()
        guard let handle = FileHandle(forWritingAtPath: "/proc/sys/vm/drop_caches") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("3\n".utf8))) != nil
    }
}
