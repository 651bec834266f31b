import Logging
import TroveCore

/// Everything the HTTP layer calls into, built once per server.
public struct TroveServices: Sendable {
    /// The storage engine every store below comes from.
    public let engine: any TroveEngine
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
    public let segmentTracking: SegmentTracking
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

    /// `exports`: where export files go and the base of their links (default: the engine's default directory,
    /// links to http://127.0.0.1:8080).
    /// `webhookPolicy`: where outgoing calls (webhooks, Customer.io) may go (`--allow-insecure-webhooks` loosens it).
    public init(engine: any TroveEngine, exports: ExportSettings? = nil, webhookPolicy: WebhookAddressPolicy = WebhookAddressPolicy(),
                retainEventsDays: Int? = nil, logger: Logger = Logger(label: "trove")) {
        self.engine = engine
        let clock = engine.clock
        self.retainEvents = retainEventsDays.map { Int64($0) * 86_400_000 }
        self.clock = clock
        self.accounts = Accounts(store: engine.accountStore, clock: clock)
        self.ingestor = Ingestor(store: engine.ingestStore)
        ingestor.store.requestRollup()  // a tail of the event log left by a crash
        self.objects = engine.objectStore
        self.timelines = engine.timelineStore
        let deletions = engine.erasureStore
        self.deletions = deletions
        self.erasure = Erasure(store: ingestor.store, reads: deletions)
        self.catalog = engine.catalogStore
        self.segments = SegmentDefinitions(store: engine.segmentStore, clock: clock)
        self.segmentReader = engine.membershipStore
        self.queries = engine.audienceStore
        self.explain = engine.explainStore
        let manualMembership = engine.manualMembershipStore
        self.manualMembership = manualMembership
        self.membership = engine.membershipWork
        let exportSettings = exports ?? ExportSettings(directory: engine.defaultExportDirectory, publicURL: "http://127.0.0.1:8080")
        self.customers = engine.customerStore
        self.track = TrackAPI(ingestor: ingestor, erasure: erasure)
        self.segmentTracking = SegmentTracking(ingestor: ingestor)
        self.webhooks = Webhooks(store: engine.webhookStore, clock: clock, policy: webhookPolicy)
        self.customerIODestination = CustomerIODestinationSettings(store: engine.integrationStore, clock: clock, policy: webhookPolicy)
        self.segmentImport = CustomerIOSegmentImport(membership: manualMembership, policy: webhookPolicy)
        self.customerIOSource = CustomerIOSource(ingestor: ingestor, settings: CustomerIOSourceSettings(store: engine.integrationStore, clock: clock))
        self.exports = ExportJobs(store: engine.exportStore, clock: clock, settings: exportSettings)
        self.eventReport = engine.eventReportStore
        self.funnelReport = engine.funnelReportStore
        self.segmentHistory = engine.segmentHistoryStore
        self.messageReport = engine.messageReportStore
        self.upkeep = engine.upkeepStore
        self.exportRunner = engine.exportWork(settings: exportSettings, logger: logger)
    }

    /// On a SQLite file (tests, embedding).
    public init(database: AppDatabase, clock: TroveClock = .system, exports: ExportSettings? = nil,
                webhookPolicy: WebhookAddressPolicy = WebhookAddressPolicy(), retainEventsDays: Int? = nil, logger: Logger = Logger(label: "trove")) {
        self.init(engine: SQLiteEngine(database: database, clock: clock, logger: logger), exports: exports, webhookPolicy: webhookPolicy,
                  retainEventsDays: retainEventsDays, logger: logger)
    }
}
