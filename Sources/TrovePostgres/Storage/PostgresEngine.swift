import Logging
import TroveCore

/// The PostgreSQL engine: every store over one `PostgresAppDatabase` (a pool of async connections) and a
/// small pool of writer threads for ingest (`PostgresIngestStore`).
public final class PostgresEngine: TroveEngine {
    public let database: PostgresAppDatabase
    public let clock: TroveClock
    public let ingestStore: any IngestStore
    public let membershipWork: any MembershipWork
    let ingest: PostgresIngestStore
    /// Rows per page when export files are written (smaller in tests, to cross page boundaries).
    let exportPageSize: Int64
    public let defaultExportDirectory: String

    /// `exportDirectory`: where export files go when `--exports-dir` does not say (default: a folder in the
    /// working directory named after the database; the files are written on this machine, not in it).
    public init(database: PostgresAppDatabase, clock: TroveClock = .system, writers: Int = 4, exportPageSize: Int64 = 10_000,
                exportDirectory: String? = nil, logger: Logger = Logger(label: "trove")) {
        self.database = database
        self.clock = clock
        self.exportPageSize = exportPageSize
        defaultExportDirectory = exportDirectory ?? "trove-\(database.location.database)-exports"
        ingest = PostgresIngestStore(location: database.location, clock: clock, writers: writers, logger: logger)
        ingestStore = ingest
        membershipWork = PostgresMembershipWork(database: database, clock: clock, logger: logger)
    }

    public var node: (any NodePresence)? { database }

    /// The server, user and database, without the password.
    public var location: String { database.location.description }

    public var accountStore: any AccountStore { PostgresAccountStore(database: database) }
    public var copyStore: any CopyStore { PostgresCopyStore(database: database) }
    public var objectStore: any ObjectStore { PostgresObjectStore(database: database) }
    public var timelineStore: any TimelineStore { PostgresTimelineStore(database: database) }
    public var erasureStore: any ErasureStore { PostgresErasureStore(database: database) }
    public var catalogStore: any CatalogStore { PostgresCatalogStore(database: database) }
    public var customerStore: any CustomerStore { PostgresCustomerStore(database: database, clock: clock) }
    public var segmentStore: any SegmentStore { PostgresSegmentStore(database: database) }
    public var membershipStore: any MembershipStore { PostgresMembershipStore(database: database) }
    public var audienceStore: any AudienceStore { PostgresAudienceStore(database: database, clock: clock) }
    public var explainStore: any ExplainStore { PostgresExplainStore(database: database, clock: clock) }
    public var manualMembershipStore: any ManualMembershipStore { PostgresManualMembership(database: database, clock: clock) }
    public var webhookStore: any WebhookStore { PostgresWebhookStore(database: database) }
    public var integrationStore: any IntegrationStore { PostgresIntegrationStore(database: database) }
    public var exportStore: any ExportStore { PostgresExportStore(database: database, clock: clock) }
    public var upkeepStore: any UpkeepStore { PostgresUpkeepStore(database: database) }
    public var eventReportStore: any EventReportStore { PostgresEventReportStore(database: database, clock: clock) }
    public var funnelReportStore: any FunnelReportStore { PostgresFunnelReportStore(database: database, clock: clock) }
    public var segmentHistoryStore: any SegmentHistoryStore { PostgresSegmentHistoryStore(database: database, clock: clock) }
    public var messageReportStore: any MessageReportStore { PostgresMessageReportStore(database: database) }

    public func exportWork(settings: ExportSettings, logger: Logger) -> any ExportWork {
        PostgresExportWork(database: database, clock: clock, settings: settings, pageSize: exportPageSize, logger: logger)
    }

    /// The writer threads stopped and their connections closed; the node's claims given back (a process that
    /// claimed work, the CLI's too); then the pool.
    public func close() async throws {
        await ingest.close()
        await database.leave()
        await database.close()
    }
}
