import Foundation
import GRDB
import PostgresNIO
import Synchronization
import TroveCore
import TrovePostgres

/// The engines a parameterized test runs on: SQLite always, PostgreSQL when `TROVE_TEST_POSTGRES` names a
/// server (`.ci/run` starts one). Each run gets a database of its own, removed after.
public enum TestEngine: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite, postgres

    public static var available: [TestEngine] { TestPostgres.available ? [.sqlite, .postgres] : [.sqlite] }

    public var description: String { rawValue }

    /// A fresh, migrated database of this engine and the engine over it. SQLite: `readLimits` and
    /// `stopwatch` bound its heavy reads.
    public func open(clock: TroveClock = .system, readLimits: ReadLimits = .forThisMachine(), stopwatch: Stopwatch = .continuous) async throws
        -> OpenedTestEngine
    {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trove-engine-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            // Created and migrated off the cooperative threads: a suite's tests all start at once, and their
            // migrations' writes held both threads long enough to time out live tests' requests.
            let path = dir.appendingPathComponent("trove.sqlite").path
            let database = try await onOwnThread { try AppDatabase(path: path, readLimits: readLimits, stopwatch: stopwatch) }
            return OpenedTestEngine(engine: SQLiteEngine(database: database, clock: clock), folder: dir)
        case .postgres:
            let database = try await TestPostgres.createDatabase(maxConnections: 6)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trove-engine-tests-\(UUID().uuidString)")
            let engine = PostgresEngine(database: database, clock: clock, writers: 2, exportPageSize: 3, exportDirectory: dir.appendingPathComponent("exports").path)
            return OpenedTestEngine(engine: engine, folder: dir, postgres: database)
        }
    }

    /// The stores of a fresh database of this engine; on PostgreSQL every statement the test sent is then
    /// held to the Citus rule (`StatementRule`).
    public func withStores(clock: TroveClock = .system, _ body: (TestStores) async throws -> Void) async throws {
        let opened = try await open(clock: clock)
        do {
            try await body(TestStores(opened.engine))
        } catch {
            try? await opened.finish(checkStatements: false)
            throw error
        }
        try await opened.finish()
    }
}

/// One test's engine over its own database; `finish` checks the statements sent (PostgreSQL), closes the
/// engine and removes the database.
public final class OpenedTestEngine: Sendable {
    public let engine: any TroveEngine
    let folder: URL?
    let postgres: PostgresAppDatabase?

    private let finished = Mutex(false)

    init(engine: any TroveEngine, folder: URL? = nil, postgres: PostgresAppDatabase? = nil) {
        self.engine = engine
        self.folder = folder
        self.postgres = postgres
    }

    /// A test that never called `finish` (a server fixture) leaves it to here. A PostgreSQL database is closed
    /// and dropped soon after (its connections are the server's to give back); a SQLite file is left to the
    /// temporary folder, as its writer may still be rolling up.
    deinit {
        guard !finished.withLock({ $0 }), let postgres else { return }
        let (engine, folder) = (engine, folder)
        Task { try? await Self.close(engine: engine, folder: folder, postgres: postgres) }
    }

    /// Another node on this test's PostgreSQL database: an engine of its own (its own pool, writers and node
    /// id), as a second `trove serve` would have. The caller closes it before `finish`.
    public func anotherNode(clock: TroveClock) async throws -> PostgresEngine {
        guard let postgres else { throw TestEngineError("another node needs PostgreSQL") }
        let database = try await PostgresAppDatabase.connect(postgres.location, maxConnections: 6)
        return PostgresEngine(database: database, clock: clock, writers: 2, exportPageSize: 3,
                              exportDirectory: folder?.appendingPathComponent("exports").path)
    }

    /// Throws when a statement on a distributed table did not name `account_id` (PostgreSQL; nothing on SQLite).
    public func checkStatements() async throws {
        if let postgres { try await StatementRule.check(postgres) }
    }

    /// A test's own look at the engine's rows: one number from SQL written to run on both engines. Marked
    /// so that the statement check knows it is the test's, not Trove's.
    public func number(_ sql: String) async throws -> Int64? {
        if let postgres {
            return try await postgres.query(PostgresQuery(unsafeSQL: StatementRule.testMark + " " + sql)).first?.decode(Int64?.self)
        }
        guard let sqlite = engine as? SQLiteEngine else { return nil }
        return try await sqlite.database.read { db in try Int64.fetchOne(db, sql: sql) }
    }

    /// A statement of the test's own (PostgreSQL): marked so that the statement check knows it is not Trove's.
    public func run(_ sql: String) async throws {
        if let postgres { try await postgres.query(PostgresQuery(unsafeSQL: StatementRule.testMark + " " + sql)) }
    }

    /// The first column of each row, as text (SQL that runs on both engines; the test's own look).
    public func strings(_ sql: String) async throws -> [String] {
        if let postgres {
            return try await postgres.query(PostgresQuery(unsafeSQL: StatementRule.testMark + " " + sql)).map { try $0.decode(String.self) }
        }
        guard let sqlite = engine as? SQLiteEngine else { return [] }
        return try await sqlite.database.read { db in try String.fetchAll(db, sql: sql) }
    }

    public func finish(checkStatements check: Bool = true) async throws {
        guard !finished.withLock({ done in defer { done = true }; return done }) else { return }
        await engine.ingestStore.settled()
        if check { try await checkStatements() }
        try await Self.close(engine: engine, folder: folder, postgres: postgres)
    }

    private static func close(engine: any TroveEngine, folder: URL?, postgres: PostgresAppDatabase?) async throws {
        try await engine.close()
        if let folder { try? FileManager.default.removeItem(at: folder) }
        if let postgres { try await TestPostgres.drop(postgres.location.database) }
    }
}

/// One engine's stores over one test database.
public struct TestStores: Sendable {
    public let accounts: any AccountStore
    public let ingest: any IngestStore
    public let objects: any ObjectStore
    public let catalog: any CatalogStore
    public let webhooks: any WebhookStore
    public let integrations: any IntegrationStore
    public let timelines: any TimelineStore
    public let segments: any SegmentStore
    public let membership: any MembershipStore
    public let audiences: any AudienceStore
    public let membershipWork: any MembershipWork
    public let manual: any ManualMembershipStore
    public let customers: any CustomerStore
    public let explain: any ExplainStore
    public let eventReports: any EventReportStore
    public let segmentHistory: any SegmentHistoryStore
    public let messageReports: any MessageReportStore
    public let funnels: any FunnelReportStore
    public let upkeep: any UpkeepStore
    public let exports: any ExportStore
    public let erasure: any ErasureStore
    /// The engine's export runner, writing files as the settings say.
    public let exportWork: @Sendable (ExportSettings) -> any ExportWork

    public init(_ engine: any TroveEngine) {
        accounts = engine.accountStore
        ingest = engine.ingestStore
        objects = engine.objectStore
        catalog = engine.catalogStore
        webhooks = engine.webhookStore
        integrations = engine.integrationStore
        timelines = engine.timelineStore
        segments = engine.segmentStore
        membership = engine.membershipStore
        audiences = engine.audienceStore
        membershipWork = engine.membershipWork
        manual = engine.manualMembershipStore
        customers = engine.customerStore
        explain = engine.explainStore
        eventReports = engine.eventReportStore
        segmentHistory = engine.segmentHistoryStore
        messageReports = engine.messageReportStore
        funnels = engine.funnelReportStore
        upkeep = engine.upkeepStore
        exports = engine.exportStore
        erasure = engine.erasureStore
        exportWork = { engine.exportWork(settings: $0, logger: .init(label: "trove.exports")) }
    }
}

struct TestEngineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
