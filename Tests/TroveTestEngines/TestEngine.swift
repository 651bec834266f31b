import Foundation
import TroveCore
import TrovePostgres

/// The engines a parameterized test runs on: SQLite always, PostgreSQL when `TROVE_TEST_POSTGRES` names a
/// server (`.ci/run` starts one). Each run gets a database of its own, removed after.
public enum TestEngine: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite, postgres

    public static var available: [TestEngine] { TestPostgres.available ? [.sqlite, .postgres] : [.sqlite] }

    public var description: String { rawValue }

    /// The stores of a fresh database of this engine.
    public func withStores(clock: TroveClock = .system, _ body: (TestStores) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trove-engine-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let database = try AppDatabase(path: dir.appendingPathComponent("trove.sqlite").path)
            let queue = WriteQueue(database: database, clock: clock)
            try await body(TestStores(accounts: SQLiteAccountStore(database: database), ingest: queue, objects: ObjectReader(database: database),
                                      catalog: CatalogReader(database: database), webhooks: SQLiteWebhookStore(database: database),
                                      integrations: SQLiteIntegrationStore(database: database), timelines: TimelineReader(database: database),
                                      segments: SQLiteSegmentStore(database: database), membership: SegmentReader(database: database),
                                      audiences: SegmentQueries(database: database, clock: clock),
                                      membershipWork: MembershipEvaluator(database: database, clock: clock),
                                      manual: ManualMembership(database: database, clock: clock),
                                      customers: CustomerReader(database: database, clock: clock),
                                      explain: SegmentExplain(database: database, clock: clock),
                                      eventReports: EventReport(database: database, clock: clock),
                                      segmentHistory: SegmentHistory(database: database, clock: clock),
                                      messageReports: MessageReport(database: database),
                                      funnels: FunnelReport(database: database, clock: clock),
                                      upkeep: SQLiteUpkeepStore(database: database),
                                      exports: SQLiteExportStore(database: database),
                                      exportWork: { ExportRunner(database: database, clock: clock, settings: $0) }))
            await queue.settled()
        case .postgres:
            try await TestPostgres.withDatabase { database in
                let ingest = PostgresIngestStore(location: database.location, clock: clock, writers: 2)
                do {
                    try await body(TestStores(accounts: PostgresAccountStore(database: database), ingest: ingest, objects: PostgresObjectStore(database: database),
                                                     catalog: PostgresCatalogStore(database: database),
                                                     webhooks: PostgresWebhookStore(database: database),
                                                     integrations: PostgresIntegrationStore(database: database),
                                                     timelines: PostgresTimelineStore(database: database),
                                                     segments: PostgresSegmentStore(database: database),
                                                     membership: PostgresMembershipStore(database: database),
                                                     audiences: PostgresAudienceStore(database: database, clock: clock),
                                                     membershipWork: PostgresMembershipWork(database: database, clock: clock),
                                                     manual: PostgresManualMembership(database: database, clock: clock),
                                                     customers: PostgresCustomerStore(database: database, clock: clock),
                                                     explain: PostgresExplainStore(database: database, clock: clock),
                                                     eventReports: PostgresEventReportStore(database: database, clock: clock),
                                                     segmentHistory: PostgresSegmentHistoryStore(database: database, clock: clock),
                                                     messageReports: PostgresMessageReportStore(database: database),
                                                     funnels: PostgresFunnelReportStore(database: database, clock: clock),
                                                     upkeep: PostgresUpkeepStore(database: database),
                                                     exports: PostgresExportStore(database: database, clock: clock),
                                                     exportWork: { PostgresExportWork(database: database, clock: clock, settings: $0, pageSize: 3) }))
                } catch {
                    await ingest.close()
                    throw error
                }
                await ingest.close()
                try await StatementRule.check(database)
            }
        }
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
    /// The engine's export runner, writing files as the settings say.
    public let exportWork: @Sendable (ExportSettings) -> any ExportWork
}
