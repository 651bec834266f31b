import ArgumentParser
import Foundation
import TroveBench
import TroveCore
import TrovePostgres

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one reference workload (docs/contract.md §12) on a fresh database and print its figures.",
        discussion: """
            Each run works in a temporary directory (removed afterwards unless --keep): it generates a data set \
            (or uses --data DIR from `trove generate`), loads it, measures, and checks its own results. Build \
            with `swift build -c release` first: debug builds are several times slower.
            """,
        subcommands: [ImportBench.self, StorageBench.self, HTTPBatchBench.self, HTTPSegmentBench.self, HTTPSingleBench.self, SegmentsBench.self, ExportBench.self, ReportsBench.self, PersonBench.self, IsolationBench.self, ScaleBench.self])
}

/// What every workload takes.
struct BenchOptions: ParsableArguments {
    @Option(help: "Use this data set (a `trove generate` output directory) instead of generating one.")
    var data: String?

    @Option(help: "Seed for a generated data set.")
    var seed: UInt64 = ReferenceDataSet.defaultSeed

    @Option(help: "Fix \"now\" (ISO-8601) for what the run stores and for the server; default: the data set's now.")
    var now: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Keep the temporary directory (database, data set, server log).")
    var keep = false

    @Option(help: "Run on PostgreSQL (import, http-batch, http-single, segments, export, reports): a postgres:// URL of a server where the run may create a database of its own (dropped afterwards unless --keep).")
    var database: String?

    /// `postgresToo`: whether the workload runs on PostgreSQL as well (else `--database` is refused).
    func run(_ size: ReferenceDataSet.Size, postgresToo: Bool = false, _ body: (BenchWorkspace) async throws -> BenchReport) async throws {
        var server: PostgresLocation?
        if let database {
            guard PostgresLocation.isURL(database) else { throw ValidationError("--database: a postgres:// URL (a benchmark makes its own SQLite file)") }
            guard postgresToo else { throw ValidationError("--database: this workload reads SQLite's file itself (storage, person, isolation); import, http-batch, http-single, segments, export and reports run on PostgreSQL") }
            do { server = try PostgresLocation(url: database) } catch { throw ValidationError(error.description) }
        }
        let fixedNow = try now.map { text in
            guard let t = Timestamp.parseISO8601(text) else { throw ValidationError("--now: \"\(text)\" is not an ISO-8601 time") }
            return t
        }
        var workspace = try BenchWorkspace.prepare(data: data, size: size, seed: seed, now: fixedNow, log: note)
        defer {
            if keep { note("kept \(workspace.directory)") } else { workspace.remove() }
        }
        if let server { try await workspace.createPostgresDatabase(on: server) }
        let report: BenchReport
        do { report = try await body(workspace) } catch {
            if !keep { await workspace.dropPostgresDatabase() }
            throw error
        }
        if keep, let postgres = workspace.postgres { note("kept the database \(postgres)") } else { await workspace.dropPostgresDatabase() }
        if json { printJSON(report.json) } else { print(report.table) }
        if !report.checks.allSatisfy(\.1) { throw ExitCode(2) }
    }
}

func note(_ message: String) {
    FileHandle.standardError.write(Data("· \(message)\n".utf8))
}


/// This executable, to start `trove serve` from.
var currentExecutable: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// `--events N` for the workloads that load a whole data set.
struct DataSetSizeOptions: ParsableArguments {
    @Option(help: "Events in the generated data set (default: the reference 10,000,000, with its 1M profiles).")
    var events = ReferenceDataSet.referenceSize.events

    var size: ReferenceDataSet.Size {
        ReferenceDataSet.Size.scaled(events: events)
    }
}

struct ImportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "NDJSON companies, profiles and events into a fresh database (target: ≥ 250k events/s).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var dataSet: DataSetSizeOptions

    func run() async throws {
        try await options.run(dataSet.size, postgresToo: true) { try await IngestBenchmarks.importData($0, log: note) }
    }
}

struct StorageBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Bytes per event after loading the data set, indexes included (target: ≤ 120).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var dataSet: DataSetSizeOptions

    func run() async throws {
        try await options.run(dataSet.size) { try await IngestBenchmarks.storage($0, log: note) }
    }
}

/// What the HTTP workloads take besides `BenchOptions`.
struct HTTPBenchOptions: ParsableArguments {
    @Option(help: "Profiles the database holds before the run (events name them at random).")
    var profiles = 100_000

    @Option(help: "normal or full (see `serve`).")
    var durability: Durability = .normal

    @Flag(help: "Create the reference segment before the load: the server keeps its membership (and, on SQLite, its event name's latest times) current while the events arrive.")
    var segment = false

    @Option(help: "PostgreSQL: `trove serve` processes on the one database, the connections spread over them.")
    var nodes = 1

    /// Runs an HTTP workload with these settings (on PostgreSQL when `options` names it).
    func run(_ options: BenchOptions, events: Int, connections: Int, batchSize: Int? = nil,
             _ workload: (BenchWorkspace, IngestBenchmarks.HTTPOptions, (String) -> Void) async throws -> BenchReport) async throws {
        var settings = IngestBenchmarks.HTTPOptions(executable: currentExecutable, connections: connections, events: events)
        settings.durability = durability
        settings.segment = segment
        guard nodes >= 1 else { throw ValidationError("--nodes must be at least 1") }
        settings.nodes = nodes
        if let batchSize { settings.batchSize = batchSize }
        try await options.run(.init(profiles: profiles, companies: max(1, profiles / 50), events: 0), postgresToo: true) {
            try await workload($0, settings, note)
        }
    }
}

struct HTTPBatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-batch",
        abstract: "POST /events/batch, 500 events per request, to a live server (targets: ≥ 100k events/s, p99 ≤ 50 ms).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var http: HTTPBenchOptions
    @Option(help: "Events to send in all.")
    var events = 2_000_000
    @Option(help: "Concurrent connections.")
    var connections = 8

    func run() async throws {
        try await http.run(options, events: events, connections: connections) { try await IngestBenchmarks.httpBatch($0, $1, log: $2) }
    }
}

struct HTTPSegmentBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-segment",
        abstract: "POST /v1/batch (Segment's tracking API), 100 track messages per request, to a live server (targets: ≥ 100k events/s, p99 ≤ 50 ms).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var http: HTTPBenchOptions
    @Option(help: "Events to send in all.")
    var events = 2_000_000
    @Option(help: "Concurrent connections.")
    var connections = 8
    @Option(help: "Messages per batch.")
    var batchSize = 100

    func run() async throws {
        try await http.run(options, events: events, connections: connections, batchSize: batchSize) { try await IngestBenchmarks.httpSegment($0, $1, log: $2) }
    }
}

struct HTTPSingleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-single",
        abstract: "POST /events, one event per request, to a live server (targets: ≥ 20k req/s, p99 ≤ 20 ms).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var http: HTTPBenchOptions
    @Option(help: "Requests (one event each) to send in all.")
    var events = 400_000
    @Option(help: "Concurrent connections.")
    var connections = 64

    func run() async throws {
        try await http.run(options, events: events, connections: connections) { try await IngestBenchmarks.httpSingle($0, $1, log: $2) }
    }
}

struct SegmentsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segments",
        abstract: """
            The reference segment on the reference data set: full evaluation cold and warm (targets ≤ 300 / ≤ 100 ms), \
            segments of user X over HTTP (p50 ≤ 1 ms), membership visible after ingest at 10k events/s (p99 ≤ 1 s).
            """)

    @OptionGroup var options: BenchOptions
    @OptionGroup var dataSet: DataSetSizeOptions
    @Option(help: "Lookups of \"segments of user X\".") var lookups = 20_000
    @Option(help: "Background ingest rate while timing membership freshness (events/s).") var rate = 10_000
    @Option(help: "Membership changes to time.") var probes = 100
    @Option(help: "PostgreSQL: `trove serve` processes on the one database for the lookups and probes.") var nodes = 1

    func run() async throws {
        guard nodes >= 1 else { throw ValidationError("--nodes must be at least 1") }
        var settings = SegmentBenchmarks.Options(executable: currentExecutable)
        settings.lookups = lookups
        settings.ingestRate = rate
        settings.probes = probes
        settings.nodes = nodes
        try await options.run(dataSet.size, postgresToo: true) { try await SegmentBenchmarks.segments($0, settings, log: note) }
    }
}

struct ExportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Every profile of the reference set × 10 attribute columns to CSV, as a customers export writes it (target ≥ 465k rows/s).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var dataSet: DataSetSizeOptions
    @Option(help: "Export runs (the median is reported).") var runs = 3

    func run() async throws {
        try await options.run(dataSet.size, postgresToo: true) { try await ExportBenchmarks.export($0, runs: runs, log: note) }
    }
}

struct ReportsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "The events-per-day report from the counters (target ≤ 10 ms) and a tour funnel by tour_id (target ≤ 500 ms) over the reference data set, each checked against the same figures computed in SQL.")

    @OptionGroup var options: BenchOptions
    @OptionGroup var dataSet: DataSetSizeOptions
    @Option(help: "Report runs (the median is reported).") var runs = 7

    func run() async throws {
        try await options.run(dataSet.size, postgresToo: true) { try await ReportBenchmarks.reports($0, runs: runs, log: note) }
    }
}

struct PersonBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person",
        abstract: """
            A person's timeline over HTTP for the 50 most active people and for people with one event (targets p50 ≤ 5 ms, \
            p99 ≤ 20 ms), checked against SQL; the erasure of a person with 10,000 events (≤ 2 s) beside single-event ingest \
            (max ≤ 250 ms).
            """)

    @OptionGroup var options: BenchOptions
    @OptionGroup var dataSet: DataSetSizeOptions
    @Option(help: "Timeline requests per group.") var lookups = 4_000

    func run() async throws {
        var settings = PersonBenchmarks.Options(executable: currentExecutable)
        settings.lookups = lookups
        try await options.run(dataSet.size) { try await PersonBenchmarks.person($0, settings, log: note) }
    }
}

struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: """
            The reference set × F (1, 3, 10), loaded once, then import, storage, reports, export, segments, a person's \
            timeline and erasure, and backup on that one database, then DuckDB on the same files (Python's duckdb \
            module, fixtures/bench/compare_peers.py --all); each figure's growth from the 1× run when its figures are \
            there (run --factor 1 first). SQLite.
            """)

    @OptionGroup var options: BenchOptions
    @Option(help: "How many times the reference set (1M profiles, 20k companies, 10M events).") var factor = 1
    @Option(help: "Where the scaled data sets (f<F>/) and each factor's figures (scale-<F>.json) are kept between runs.")
    var root = "/tmp/trove-scale"
    @Option(help: "compare_peers.py, for DuckDB's side on the same files (default: fixtures/bench/compare_peers.py in the working directory or above the executable).")
    var peers: String?
    @Flag(help: "Leave DuckDB's side out.") var noPeers = false

    func run() async throws {
        guard factor >= 1, factor <= 100 else { throw ValidationError("--factor: a whole number from 1 to 100") }
        guard options.data == nil else { throw ValidationError("--data: scale keeps its data sets under --root") }
        var settings = ScaleBenchmarks.Options(factor: factor, executable: currentExecutable, root: root)
        settings.peers = !noPeers
        settings.peerScript = peers ?? PeerBenchmarks.script(near: currentExecutable)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try ScaleBenchmarks.prepareData(settings, seed: options.seed, log: note)
        var options = self.options
        options.data = settings.dataDirectory
        try await options.run(ScaleBenchmarks.size(factor: factor)) { try await ScaleBenchmarks.scale($0, settings, log: note) }
    }
}

struct IsolationBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "isolation",
        abstract: """
            A probe (/health, a profile read, a single-event ingest) alone and beside K clients keeping unindexed ad-hoc \
            counts in flight, on the reference data set (targets with K = 4: probe p99 ≤ 50 ms, max ≤ 250 ms, ≥ 80% of its rate).
            """)
    @OptionGroup var options: BenchOptions
    @OptionGroup var dataSet: DataSetSizeOptions
    @Option(help: "Clients keeping a heavy request in flight.") var heavy = 4
    @Option(help: "What the heavy clients ask: count (ad-hoc counts over an unindexed event), preview (the same as a page of profiles), funnel (each grouped by a new property, so its step lists are built) or export (customers exports of every profile).")
    var heavyRequest = "count"
    @Option(help: "Seconds of each kind of phase in all (probe alone, probe beside the heavy clients), over three phases each.") var seconds = 30.0
    @Option(help: "The trove binary to serve with (default: this one), e.g. an older build for a before/after.") var executable: String?
    func run() async throws {
        var settings = IsolationBenchmarks.Options(executable: executable ?? currentExecutable)
        settings.heavy = heavy
        guard let kind = IsolationBenchmarks.HeavyRequest(rawValue: heavyRequest) else {
            throw ValidationError("--heavy-request: expected \(IsolationBenchmarks.HeavyRequest.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        settings.heavyRequest = kind
        settings.seconds = seconds
        try await options.run(dataSet.size) { try await IsolationBenchmarks.isolation($0, settings, log: note) }
    }
}
