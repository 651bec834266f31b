import Logging

/// The SQLite engine: every store over one `AppDatabase` (a WAL file; one writer, concurrent readers).
public final class SQLiteEngine: TroveEngine {
    public let database: AppDatabase
    public let clock: TroveClock
    public var ingestStore: any IngestStore { writeQueue }
    let writeQueue: WriteQueue
    public let membershipWork: any MembershipWork

    public init(database: AppDatabase, clock: TroveClock = .system, logger: Logger = Logger(label: "trove")) {
        self.database = database
        self.clock = clock
        self.writeQueue = WriteQueue(database: database, clock: clock, logger: logger)
        self.membershipWork = MembershipEvaluator(database: database, clock: clock, logger: logger)
    }

    public var location: String { database.path }
    public var defaultExportDirectory: String { ExportSettings.defaultDirectory(database: database.path) }

    public var accountStore: any AccountStore { SQLiteAccountStore(database: database) }
    public var copyStore: any CopyStore { SQLiteCopyStore(database: database) }
    public var objectStore: any ObjectStore { ObjectReader(database: database) }
    public var timelineStore: any TimelineStore { TimelineReader(database: database) }
    public var erasureStore: any ErasureStore { ErasureReader(database: database) }
    public var catalogStore: any CatalogStore { CatalogReader(database: database) }
    public var customerStore: any CustomerStore { CustomerReader(database: database, clock: clock) }
    public var segmentStore: any SegmentStore { SQLiteSegmentStore(database: database) }
    public var membershipStore: any MembershipStore { SegmentReader(database: database) }
    public var audienceStore: any AudienceStore { SegmentQueries(database: database, clock: clock) }
    public var explainStore: any ExplainStore { SegmentExplain(database: database, clock: clock) }
    public var manualMembershipStore: any ManualMembershipStore { ManualMembership(database: database, clock: clock) }
    public var webhookStore: any WebhookStore { SQLiteWebhookStore(database: database) }
    public var integrationStore: any IntegrationStore { SQLiteIntegrationStore(database: database) }
    public var exportStore: any ExportStore { SQLiteExportStore(database: database) }
    public var upkeepStore: any UpkeepStore { SQLiteUpkeepStore(database: database) }
    public var eventReportStore: any EventReportStore { EventReport(database: database, clock: clock) }
    public var funnelReportStore: any FunnelReportStore { FunnelReport(database: database, clock: clock) }
    public var segmentHistoryStore: any SegmentHistoryStore { SegmentHistory(database: database, clock: clock) }
    public var messageReportStore: any MessageReportStore { MessageReport(database: database) }

    public func exportWork(settings: ExportSettings, logger: Logger) -> any ExportWork {
        ExportRunner(database: database, clock: clock, settings: settings, logger: logger)
    }

    /// Ingest stopped (what was accepted committed, rollups stopped), the log copied into the database file
    /// and emptied, the connections closed.
    public func close() async throws {
        await writeQueue.close()
        try database.close()
    }
}
