import Logging
import TroveCore

/// Everything the HTTP layer calls into, built once per server.
public struct TroveServices: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    public let accounts: Accounts
    public let ingestor: Ingestor
    public let objects: any ObjectStore
    public let timelines: any TimelineStore
    public let erasure: Erasure
    public let deletions: any ErasureStore
    public let catalog: any CatalogStore
    public let segments: SegmentDefinitions
    public let segmentReader: any MembershipStore
    public let queries: any AudienceStore
    public let explain: any ExplainStore
    public let manualMembership: any ManualMembershipStore
    public let membership: any MembershipWork
    public let exports: ExportJobs
    public let customers: any CustomerStore
    public let track: TrackAPI
    public let customerIOSource: CustomerIOSource
    public let webhooks: Webhooks
    public let customerIODestination: CustomerIODestinationSettings
    public let segmentImport: CustomerIOSegmentImport
    public let exportRunner: any ExportWork
    public let upkeep: any UpkeepStore
    public let eventReport: any EventReportStore
    public let funnelReport: any FunnelReportStore
    public let segmentHistory: any SegmentHistoryStore
    public let messageReport: any MessageReportStore
    /// `--retain-events-days`: events older than this are deleted hourly; nil keeps them.
    public let retainEvents: Int64?

    /// `exports`: where export files go and the base of their links (default: beside the database,
    /// links to http://127.0.0.1:8080).
    /// `webhookPolicy`: where outgoing calls (webhooks, Customer.io) may go (`--allow-insecure-webhooks` loosens it).
    public init(database: AppDatabase, clock: TroveClock = .system, exports: ExportSettings? = nil,
                webhookPolicy: WebhookAddressPolicy = WebhookAddressPolicy(), retainEventsDays: Int? = nil, logger: Logger = Logger(label: "trove")) {
        self.database = database
        self.retainEvents = retainEventsDays.map { Int64($0) * 86_400_000 }
        self.clock = clock
        self.accounts = Accounts(database: database, clock: clock)
        self.ingestor = Ingestor(store: WriteQueue(database: database, clock: clock, logger: logger))
        ingestor.store.requestRollup()  // a tail of the event log left by a crash
        self.objects = ObjectReader(database: database)
        self.timelines = TimelineReader(database: database)
        let deletions = ErasureReader(database: database)
        self.deletions = deletions
        self.erasure = Erasure(store: ingestor.store, reads: deletions)
        self.catalog = CatalogReader(database: database)
        self.segments = SegmentDefinitions(database: database, clock: clock)
        self.segmentReader = SegmentReader(database: database)
        self.queries = SegmentQueries(database: database, clock: clock)
        self.explain = SegmentExplain(database: database, clock: clock)
        let manualMembership = ManualMembership(database: database, clock: clock)
        self.manualMembership = manualMembership
        self.membership = MembershipEvaluator(database: database, clock: clock, logger: logger)
        let exportSettings = exports ?? ExportSettings(directory: ExportSettings.defaultDirectory(database: database.path), publicURL: "http://127.0.0.1:8080")
        self.customers = CustomerReader(database: database, clock: clock)
        self.track = TrackAPI(ingestor: ingestor, erasure: erasure)
        self.webhooks = Webhooks(database: database, clock: clock, policy: webhookPolicy)
        self.customerIODestination = CustomerIODestinationSettings(database: database, clock: clock, policy: webhookPolicy)
        self.segmentImport = CustomerIOSegmentImport(membership: manualMembership, policy: webhookPolicy)
        self.customerIOSource = CustomerIOSource(ingestor: ingestor, settings: CustomerIOSourceSettings(database: database, clock: clock))
        self.exports = ExportJobs(database: database, clock: clock, settings: exportSettings)
        self.eventReport = EventReport(database: database, clock: clock)
        self.funnelReport = FunnelReport(database: database, clock: clock)
        self.segmentHistory = SegmentHistory(database: database, clock: clock)
        self.messageReport = MessageReport(database: database)
        self.upkeep = SQLiteUpkeepStore(database: database)
        self.exportRunner = ExportRunner(database: database, clock: clock, settings: exportSettings, logger: logger)
    }
}
