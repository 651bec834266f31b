import Foundation
import GRDB
import TroveCore

/// `trove bench person` (contract §5): a person's timeline over HTTP on the reference data set — the first
/// page of 50 for the 50 most active people and for people with one event — checked against the same events
/// read in SQL, then the erasure of a person with 10,000 events while a probe keeps sending single events.
public enum PersonBenchmarks {
    public struct Options: Sendable {
        public var executable: String
        public var lookups = 4_000
        public var erasedEvents = 10_000
        public init(executable: String) { self.executable = executable }
    }

    public static func person(_ workspace: BenchWorkspace, _ options: Options, log: (String) -> Void) async throws -> BenchReport {
        let loaded = try await workspace.load([.company, .profile, .event], log: log)
        return try await measure(workspace, database: loaded.database, accountSecret: loaded.accountSecret, options, log: log)
    }

    /// The figures on a SQLite database the data set was loaded into.
    static func measure(_ workspace: BenchWorkspace, database: AppDatabase, accountSecret: String, _ options: Options, log: (String) -> Void) async throws -> BenchReport {
        let m = workspace.manifest
        var report = BenchReport(workload: "person", setup: IngestBenchmarks.setup(m))

        log("finding the 50 most active people and 50 with one event")
        let (activeIDs, singleIDs) = try await database.pool.read { db in
            let counts = try Row.fetchAll(db, sql: "SELECT profile_id, count(*) AS n FROM events GROUP BY profile_id")
            let sorted = counts.map { (id: $0[0] as Int64, n: $0[1] as Int) }.sorted { ($0.n, $0.id) > ($1.n, $1.id) }
            return (sorted.prefix(50).map(\.id), sorted.filter { $0.n == 1 }.prefix(50).map(\.id))
        }
        let (active, single) = try await database.pool.read { db in
            func uids(_ ids: [Int64]) throws -> [String] {
                try ids.map { try String.fetchOne(db, sql: "SELECT uid FROM profiles WHERE id = ?", arguments: [$0]) ?? "" }
            }
            return (try uids(activeIDs), try uids(singleIDs))
        }
        // The ten people's first pages as SQL sees them, from one scan of the events that does not use the index
        // the timeline reads (one scan per person, joined to profiles, took minutes at 3× the reference set).
        let checked = Array(activeIDs.prefix(5) + singleIDs.prefix(5))
        let expected = try await database.pool.read { db in
            var byProfile: [Int64: [(timestamp: Int64, id: Int64)]] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT profile_id, timestamp, id FROM events NOT INDEXED WHERE profile_id IN (\(checked.map(String.init).joined(separator: ",")))")
            while let row = try rows.next() { byProfile[row[0], default: []].append((row[1], row[2])) }
            return checked.map { id in (byProfile[id] ?? []).sorted { ($0.timestamp, $0.id) > ($1.timestamp, $1.id) }.prefix(50).map(\.id) }
        }

        log("starting \(options.executable) serve")
        let server = try ServerProcess.start(
            executable: options.executable, database: workspace.databasePath, accountSecret: accountSecret,
            arguments: ["--now", workspace.now.iso8601], logDirectory: workspace.directory)
        defer { server.kill(SIGKILL) }
        let secret = accountSecret

        // The first pages, compared with SQL's order.
        var matches = 0
        for (uid, ids) in zip(active.prefix(5) + single.prefix(5), expected) {
            let page = try await get(port: server.port, path: "/v3/analyze/events?uid=\(uid)&limit=50", secret: secret)
            let got = (page["events"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue.flatMap(PublicID.decode) }
            if got == ids { matches += 1 }
        }

        log("timing \(options.lookups) first pages for the most active people, and as many for people with one event")
        func timeline(_ uids: [String]) -> LoadGenerator {
            LoadGenerator(port: server.port, connections: 1, requests: options.lookups, request: { index, request in
                request += Array("GET /v3/analyze/events?uid=\(uids[index % uids.count])&limit=50 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Account-Secret: \(secret)\r\n\r\n".utf8)
            }, accept: { status, _ in status == 200 })
        }
        let busy = await timeline(active).run()
        let quiet = await timeline(single).run()

        log("sending \(options.erasedEvents) events for one person, then erasing them while single events keep coming")
        let erased = "bench-erased-person"
        let batches = LoadGenerator(
            port: server.port, path: "/v3/observe/hooks/\(secret)/events/batch", connections: 1, requests: options.erasedEvents / 500,
            body: { index, body in
                body += Array(#"{"events":["#.utf8)
                for i in 0..<500 {
                    let n = index * 500 + i
                    body += Array(#"{"uid":"\#(erased)","name":"Clicked","timestamp":\#(1_760_000_000 + n),"n":\#(n)}"#.utf8)
                    if i < 499 { body.append(UInt8(ascii: ",")) }
                }
                body += Array("]}".utf8)
            }, accept: { status, _ in status == 202 || status == 200 })
        let sent = await batches.run()
        try await Task.sleep(for: .seconds(2))  // the activity rollup's interval: the person is rolled up
        let probe = LoadGenerator(
            port: server.port, path: "/v3/observe/hooks/\(secret)/events", connections: 1, requests: 1_000_000,
            body: { index, body in body += Array(#"{"uid":"probe-\#(index % 1000)","name":"Probe"}"#.utf8) },
            accept: { status, _ in status == 200 || status == 202 })
        let probing = Task { await probe.run() }
        try await Task.sleep(for: .milliseconds(500))
        let started = Date()
        let erasure = try await request(port: server.port, method: "DELETE", path: "/v3/edit/profiles/forget?uid=\(erased)", secret: secret)
        let erasureSeconds = Date().timeIntervalSince(started)
        try await Task.sleep(for: .milliseconds(500))
        probe.stop()
        let probes = await probing.value

        report.setup.append(("timeline", "GET /v3/analyze/events?uid=U&limit=50, 1 connection, \(options.lookups) requests per group"))
        report.setup.append(("erasure", "DELETE /v3/edit/profiles/forget of a person with \(options.erasedEvents) events; single-event probe alongside"))
        report.figures = [
            .init("timeline, 50 most active people, p50", busy.percentile(0.5), "ms", target: .atMost(5)),
            .init("timeline, 50 most active people, p99", busy.percentile(0.99), "ms", target: .atMost(20)),
            .init("timeline, people with one event, p50", quiet.percentile(0.5), "ms", target: .atMost(5)),
            .init("timeline, people with one event, p99", quiet.percentile(0.99), "ms", target: .atMost(20)),
            .init("erasure of \(options.erasedEvents) events", erasureSeconds, "s", target: .atMost(2)),
            .init("single-event ingest beside it, max", Double(probes.latencies.last ?? 0) / 1000, "ms", target: .atMost(250)),
            .init("single-event ingest beside it, p99", probes.percentile(0.99), "ms"),
        ]
        report.checks = [
            ("first pages equal SQL's order for 5 busy and 5 one-event people (\(matches)/10)", matches == 10),
            ("every timeline request answered 200", busy.statuses[200] == options.lookups && quiet.statuses[200] == options.lookups),
            ("the person's events were all accepted", sent.statuses.values.reduce(0, +) == options.erasedEvents / 500),
            ("the erasure answered 200 and counted \(options.erasedEvents) events: \(erasure.status) \(erasure.json["deletion"]?["counts"]?["events"] ?? .null)",
             erasure.status == 200 && erasure.json["deletion"]?["counts"]?["events"] == .int(Int64(options.erasedEvents))),
            ("every probe answered", probes.transportErrors == 0 && probes.statuses.keys.allSatisfy { $0 == 200 || $0 == 202 }),
        ]
        return report
    }

    static func get(port: Int, path: String, secret: String) async throws -> JSON {
        try await request(port: port, method: "GET", path: path, secret: secret).json
    }

    /// One request on a connection of its own; its status and JSON body.
    static func request(port: Int, method: String, path: String, secret: String) async throws -> (status: Int, json: JSON) {
        guard let connection = HTTPConnection(port: port) else { throw BenchError("cannot connect to the server") }
        defer { connection.close() }
        guard let reply = Freshness.request(connection, method, path, headers: "X-Account-Secret: \(secret)\r\n") else {
            throw BenchError("the server did not answer \(method) \(path)")
        }
        return (reply.status, reply.json ?? .null)
    }
}
