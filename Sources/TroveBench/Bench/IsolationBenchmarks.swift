import Foundation
import Synchronization
import TroveCore

/// `trove bench isolation`: whether heavy ad-hoc reads stall the rest of the server. On the reference data
/// set, a probe loops over `GET /health`, a profile read and a single-event ingest — alone, and while
/// `heavy` clients keep ad-hoc counts in flight whose event condition names an event no segment indexes (a
/// full scan of the event log each, seconds on 10M events). The two phases alternate, three of each in the
/// order alone, heavy, heavy, alone, alone, heavy, so that the host's speed drifting over the run weighs on
/// both alike; before each alone phase the heavy clients' last requests are answered and what they left to
/// the background (step lists, export files) is done. The heavy clients may instead ask funnels that need
/// new step lists, or customers exports (`HeavyRequest`). It reports the probe's latencies and rate in both
/// and what became of the heavy requests (answered, refused with 429, stopped at their budget).
public enum IsolationBenchmarks {
    public struct Options: Sendable {
        public var executable: String
        public var heavy = 4
        /// What the heavy clients ask: ad-hoc counts, or funnels that each name a new grouping property
        /// (so each has step lists to build in the background).
        public var heavyRequest = HeavyRequest.count
        /// Seconds of each kind of phase in all (probe alone, probe beside the heavy clients), split over
        /// three phases each.
        public var seconds = 30.0
        public init(executable: String) { self.executable = executable }
    }

    public enum HeavyRequest: String, Sendable, CaseIterable {
        case count, preview, funnel, export

        /// Whether the requests leave work to the background (lists to build, files to write).
        var leavesWork: Bool { self == .funnel || self == .export }
    }

    enum Phase { case alone, heavy }
    static let phases: [Phase] = [.alone, .heavy, .heavy, .alone, .alone, .heavy]

    public static func isolation(_ workspace: BenchWorkspace, _ options: Options, log: (String) -> Void) async throws -> BenchReport {
        let m = workspace.manifest
        // Loaded by the binary under test itself, so an older build (`--executable`) measures on a database
        // of its own schema.
        let (secret, appAPIKey) = try load(workspace, executable: options.executable, log: log)

        log("starting \(options.executable) serve")
        let server = try ServerProcess.start(
            executable: options.executable, database: workspace.databasePath, accountSecret: secret,
            arguments: ["--now", workspace.now.iso8601, "--log-level", "warning"], logDirectory: workspace.directory)
        defer { server.kill(SIGKILL) }

        let each = options.seconds / Double(phases.filter { $0 == .alone }.count)
        var alone = Probe.Outcome(), loadedProbe = Probe.Outcome(), counts = LoadGenerator.Outcome()
        var buildWaits: [Double] = []
        for (i, phase) in phases.enumerated() {
            let probe = Probe(port: server.port, secret: secret, profiles: m.size.profiles, seed: i + 1)
            switch phase {
            case .alone:
                log("probe alone, \(Int(each)) s")
                alone.add(await probe.run(seconds: each))
            case .heavy:
                log("probe beside \(options.heavy) heavy clients (\(options.heavyRequest.rawValue)), \(Int(each)) s")
                let heavy = switch options.heavyRequest {
                case .count, .preview: heavyAudiences(port: server.port, secret: secret, clients: options.heavy, preview: options.heavyRequest == .preview)
                case .funnel: heavyFunnels(port: server.port, appAPIKey: appAPIKey, clients: options.heavy, phase: i)
                case .export: heavyExports(port: server.port, appAPIKey: appAPIKey, clients: options.heavy)
                }
                async let heavyOutcome = heavy.run()
                // Let every heavy client get its first request in.
                try await Task.sleep(for: .seconds(1))
                // What the heavy clients leave to the background (step lists, export files) is probed until it
                // is done, before the probe runs alone again.
                let stop = Probe.Stop()
                async let probed = probe.run(seconds: each, thenUntil: options.heavyRequest.leavesWork ? stop : nil)
                try await Task.sleep(for: .seconds(each))
                heavy.stop()
                // Each client stops once its request in flight is answered: no heavy read is left running.
                counts.add(await heavyOutcome)
                let waited = switch options.heavyRequest {
                case .count, .preview: 0.0
                case .funnel: try await waitUntilBuilt(port: server.port, appAPIKey: appAPIKey, clients: options.heavy, phase: i)
                case .export: try await waitUntilExported(port: server.port, appAPIKey: appAPIKey)
                }
                stop.signal()
                loadedProbe.add(await probed)
                if waited > 0 { log("background work done \(Int(waited)) s after the clients stopped (probed throughout)") }
                buildWaits.append(waited)
            }
        }

        var report = BenchReport(workload: "isolation", setup: IngestBenchmarks.setup(m))
        report.setup.append(("probe", "one connection: GET /health, GET /v3/analyze/profile?uid=, POST /v3/observe/hooks/events, in a loop"))
        let heavy = switch options.heavyRequest {
        case .count: "\(options.heavy) connections: POST /v3/analyze/profiles/count, ≥ 3 of an unindexed event in 30 days"
        case .preview: "\(options.heavy) connections: POST /v3/analyze/profiles (limit 500), ≥ 3 of an unindexed event in 30 days"
        case .funnel: "\(options.heavy) connections: each asks GET /v1/reports/funnel of two events grouped by a property no funnel used before (lists built in the background), again every 2 s (Retry-After) until built, then keeps reading it"
        case .export: "\(options.heavy) connections: each POST /v1/exports/customers of every profile with 10 attributes, a new one every 2 s (files written in the background, one at a time)"
        }
        report.setup.append(("heavy", heavy))
        report.setup.append(("phases", "alone, heavy, heavy, alone, alone, heavy; \(Int(each)) s each"
            + (options.heavyRequest.leavesWork ? ", a heavy one on until the work its clients left to the background is done" : "")))
        // A funnel still building answers 202: answered too.
        let answered = (counts.statuses[200] ?? 0) + (options.heavyRequest == .funnel ? counts.statuses[202] ?? 0 : 0)
        report.figures = [
            .init("probe alone: rounds", alone.roundsPerSecond, "rounds/s"),
            .init("probe alone: p50", alone.percentile(0.5), "ms"),
            .init("probe alone: p99", alone.percentile(0.99), "ms"),
            .init("probe alone: max", alone.percentile(1), "ms"),
            .init("with \(options.heavy) heavy: rounds", loadedProbe.roundsPerSecond, "rounds/s"),
            .init("with \(options.heavy) heavy: p50", loadedProbe.percentile(0.5), "ms"),
            .init("with \(options.heavy) heavy: p99", loadedProbe.percentile(0.99), "ms", target: .atMost(50)),
            .init("with \(options.heavy) heavy: max", loadedProbe.percentile(1), "ms", target: .atMost(250)),
            .init("with \(options.heavy) heavy: /health max", loadedProbe.slowest(.health), "ms"),
            .init("with \(options.heavy) heavy: ingest max", loadedProbe.slowest(.ingest), "ms"),
            .init("ingest rate kept", 100 * loadedProbe.roundsPerSecond / max(alone.roundsPerSecond, 1e-9), "%", target: .atLeast(80)),
            .init("heavy requests answered", Double(answered), "requests"),
            .init("heavy requests answered 202 (building)", Double(counts.statuses[202] ?? 0), "requests"),
            .init("heavy requests refused (429)", Double(counts.statuses[429] ?? 0), "requests"),
            .init("heavy requests stopped at their budget (422)", Double(counts.statuses[422] ?? 0), "requests"),
            .init("heavy request latency, p50", counts.percentile(0.5), "ms"),
        ]
        for (k, waited) in buildWaits.enumerated() where options.heavyRequest.leavesWork {
            report.figures.append(.init("background work left after heavy phase \(k + 1)", waited, "s"))
        }
        // Each phase's rate, in run order, to see the host drift.
        for (kind, outcome) in [("alone", alone), ("with \(options.heavy) heavy", loadedProbe)] {
            for (k, rate) in outcome.phaseRates.enumerated() {
                report.figures.append(.init("probe \(kind), phase \(k + 1): rounds", rate, "rounds/s"))
            }
        }
        report.checks = [
            ("every probe call answered 2xx (alone \(alone.failures) failed, with heavy \(loadedProbe.failures))",
             alone.failures == 0 && loadedProbe.failures == 0 && !alone.latencies.isEmpty && !loadedProbe.latencies.isEmpty),
            ("heavy requests ran (\(answered) answered)", answered > 0),
            ("no heavy request failed otherwise (statuses \(counts.statuses.sorted { $0.key < $1.key }))",
             counts.statuses.keys.allSatisfy { [200, 202, 429, 422].contains($0) } && counts.transportErrors == 0),
        ]
        return report
    }

    /// `executable accounts create default` and `executable import` of the three files; the account secret
    /// and App API key.
    static func load(_ workspace: BenchWorkspace, executable: String, log: (String) -> Void) throws -> (String, String) {
        func run(_ arguments: [String]) throws -> String {
            let ran = try ChildProcess.run(executable, arguments + ["--database", workspace.databasePath])
            guard ran.status == 0 else { throw BenchError("`trove \(arguments.joined(separator: " "))` failed: \(ran.errors)") }
            return ran.output
        }
        let created = try JSONParser.parse(Array(try run(["accounts", "create", Accounts.defaultName, "--json"]).utf8))
        guard let secret = created["account_secret"]?.stringValue, let appAPIKey = created["app_api_key"]?.stringValue else {
            throw BenchError("no account secret or App API key from `accounts create`")
        }
        for (model, name) in [(Model.company, "companies"), (.profile, "profiles"), (.event, "events")] {
            log("importing \(workspace.path(of: model)) with \(executable)")
            _ = try run(["import", "--model", name, "--now", workspace.now.iso8601, workspace.path(of: model)])
        }
        return (secret, appAPIKey)
    }

    /// Ad-hoc counts (or previews: the first 500 profiles), each naming one of the non-tour event names
    /// (none is indexed: no segment exists).
    static func heavyAudiences(port: Int, secret: String, clients: Int, preview: Bool) -> LoadGenerator {
        let names = Vocabulary.otherEvents.map(\.name)
        return LoadGenerator(
            port: port, path: preview ? "/v3/analyze/profiles" : "/v3/analyze/profiles/count", connections: clients, requests: .max,
            body: { index, body in
                let name = names[index % names.count]
                body += Array(#"{"filters_op":"and","filters":[{"kind":"event","value":"\#(name)","mod":"gte","range":3,"cond":"gt-d","int":30}]\#(preview ? #","limit":500"# : "")}"#.utf8)
            }, accept: { status, _ in status == 200 }, headers: "X-Account-Secret: \(secret)\r\n")
    }

    /// Funnels of two of the non-tour events, each client's grouped by a property named for it and the
    /// phase (none exists, so every group is null), so that each client's first request registers new step
    /// lists to build. A funnel being built answers at once (202, `Retry-After: 2`), so each request after
    /// the first waits those 2 s, as a client heeding the header would; once built, the funnel is read.
    static func heavyFunnels(port: Int, appAPIKey: String, clients: Int, phase: Int) -> LoadGenerator {
        LoadGenerator(port: port, connections: clients, requests: .max, request: { index, request in
            if index >= clients { usleep(2_000_000) }
            request += getRequest(funnelPath(client: index % clients, phase: phase), appAPIKey: appAPIKey)
        }, accept: { status, _ in status == 200 || status == 202 })
    }

    static func funnelPath(client: Int, phase: Int) -> String {
        let names = Vocabulary.otherEvents.map(\.name)
        let steps = [names[client % names.count], names[(client + 1) % names.count]]
            .map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0 }.joined(separator: ",")
        return "/v1/reports/funnel?steps=\(steps)&group_by=bench_\(phase)_\(client)"
    }

    /// Customers exports of every profile (the export benchmark's 10 columns), each client starting a new
    /// one every 2 s; the files are written one at a time by the server's export service.
    static func heavyExports(port: Int, appAPIKey: String, clients: Int) -> LoadGenerator {
        let body = JSONWriter.bytes(["attributes": .array(ExportBenchmarks.attributes.map(JSON.string))])
        return LoadGenerator(port: port, path: "/v1/exports/customers", connections: clients, requests: .max, body: { index, request in
            if index >= clients { usleep(2_000_000) }
            request += body
        }, accept: { status, _ in (200..<300).contains(status) }, headers: "Authorization: Bearer \(appAPIKey)\r\n")
    }

    /// Lists the exports once a second until none is pending; the seconds that took.
    static func waitUntilExported(port: Int, appAPIKey: String) async throws -> Double {
        try await pollEachSecond("exports still pending") {
            let reply = try get("/v1/exports", port: port, appAPIKey: appAPIKey)
            guard reply.status == 200, let exports = (try? JSONParser.parse(Array(reply.body)))?["exports"]?.arrayValue else {
                throw BenchError("GET /v1/exports answered \(reply.status)")
            }
            return !exports.contains { $0["status"]?.stringValue == "pending" }
        }
    }

    /// Asks each client's funnel of the phase once a second until all answer 200; the seconds that took.
    static func waitUntilBuilt(port: Int, appAPIKey: String, clients: Int, phase: Int) async throws -> Double {
        var client = 0
        return try await pollEachSecond("funnel lists still building") {
            while client < clients {
                let reply = try get(funnelPath(client: client, phase: phase), port: port, appAPIKey: appAPIKey)
                guard reply.status == 200 else {
                    guard reply.status == 202 else { throw BenchError("a funnel answered \(reply.status)") }
                    return false
                }
                client += 1
            }
            return true
        }
    }

    /// `done` asked once a second until it says yes, for at most 10 minutes; the seconds that took.
    static func pollEachSecond(_ failure: String, _ done: () throws -> Bool) async throws -> Double {
        let start = ContinuousClock.now
        while try !done() {
            guard start.duration(to: .now) < .seconds(600) else { throw BenchError("\(failure) after 10 minutes") }
            try await Task.sleep(for: .seconds(1))
        }
        return start.duration(to: .now).seconds
    }

    static func getRequest(_ path: String, appAPIKey: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(appAPIKey)\r\n\r\n".utf8)
    }

    static func get(_ path: String, port: Int, appAPIKey: String) throws -> HTTPConnection.Reply {
        guard let connection = HTTPConnection(port: port) else { throw BenchError("cannot connect to the server") }
        defer { connection.close() }
        guard connection.send(getRequest(path, appAPIKey: appAPIKey)), let reply = connection.receive() else {
            throw BenchError("the server did not answer GET \(path)")
        }
        return reply
    }

    /// One connection looping over a health check, a profile read and a single-event ingest.
    struct Probe {
        enum Call: Int, CaseIterable { case health, read, ingest }

        let port: Int
        let secret: String
        let profiles: Int
        let seed: Int

        struct Outcome {
            /// Per call, in microseconds, sorted.
            var latencies: [UInt32] = []
            var byCall: [[UInt32]] = Array(repeating: [], count: Call.allCases.count)
            var rounds = 0
            var seconds = 0.0
            var failures = 0

            /// Rounds per second of each phase added, in order.
            var phaseRates: [Double] = []

            var roundsPerSecond: Double { Double(rounds) / max(seconds, 1e-9) }

            /// Another phase's outcome (latencies merged and sorted).
            mutating func add(_ other: Outcome) {
                latencies = (latencies + other.latencies).sorted()
                for call in byCall.indices { byCall[call] += other.byCall[call] }
                rounds += other.rounds
                seconds += other.seconds
                failures += other.failures
                phaseRates.append(other.roundsPerSecond)
            }

            func percentile(_ p: Double) -> Double { LoadGenerator.Outcome.percentile(latencies, p) }

            func slowest(_ call: Call) -> Double { Double(byCall[call.rawValue].max() ?? 0) / 1000 }
        }

        /// Set to end a probe that runs until told.
        final class Stop: Sendable {
            private let stopped = Atomic<Bool>(false)
            func signal() { stopped.store(true, ordering: .relaxed) }
            var isSignalled: Bool { stopped.load(ordering: .relaxed) }
        }

        /// Probes for `seconds`, then on until `stop` is signalled, if given.
        func run(seconds: Double, thenUntil stop: Stop? = nil) async -> Outcome {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: runBlocking(seconds: seconds, thenUntil: stop)) }
                thread.stackSize = 1 << 20
                thread.start()
            }
        }

        func runBlocking(seconds: Double, thenUntil stop: Stop?) -> Outcome {
            var outcome = Outcome()
            var connection: HTTPConnection?
            let start = DispatchTime.now().uptimeNanoseconds
            let end = start + UInt64(seconds * 1e9)
            var round = 0
            while DispatchTime.now().uptimeNanoseconds < end || stop.map({ !$0.isSignalled }) == true {
                round += 1
                let uid = "user-\((round &* 7919 &+ seed &* 104_729) % profiles + 1)"
                for call in Call.allCases {
                    let request: [UInt8]
                    switch call {
                    case .health:
                        request = Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
                    case .read:
                        request = Array("GET /v3/analyze/profile?uid=\(uid) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Account-Secret: \(secret)\r\n\r\n".utf8)
                    case .ingest:
                        let body = #"{"uid":"\#(uid)","name":"Probe Event","message_id":"probe-\#(seed)-\#(round)"}"#
                        request = Array("POST /v3/observe/hooks/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Account-Secret: \(secret)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
                    }
                    if connection == nil { connection = HTTPConnection(port: port) }
                    guard let open = connection else {
                        outcome.failures += 1
                        continue
                    }
                    let sent = DispatchTime.now().uptimeNanoseconds
                    guard open.send(request), let reply = open.receive() else {
                        outcome.failures += 1
                        open.close()
                        connection = nil
                        continue
                    }
                    let micros = UInt32(clamping: (DispatchTime.now().uptimeNanoseconds - sent) / 1000)
                    outcome.latencies.append(micros)
                    outcome.byCall[call.rawValue].append(micros)
                    if !(200..<300).contains(reply.status) { outcome.failures += 1 }
                    if !reply.keepAlive {
                        open.close()
                        connection = nil
                    }
                }
                outcome.rounds += 1
            }
            connection?.close()
            outcome.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            outcome.latencies.sort()
            return outcome
        }
    }
}
