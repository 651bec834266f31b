import Logging

/// One storage engine: its implementation of every store protocol, built once per process over one
/// database. The server (`TroveServices`) and the CLI compose the rules (`Accounts`, `Ingestor`,
/// `Webhooks`, …) over these, the same for every engine. SQLite: `SQLiteEngine`; PostgreSQL:
/// `PostgresEngine` (TrovePostgres).
public protocol TroveEngine: Sendable {
    var clock: TroveClock { get }
    /// What and where the database is, for logs and messages (a file path, or a URL without its password).
    var location: String { get }
    /// Where export files go when `--exports-dir` does not say.
    var defaultExportDirectory: String { get }

    var accountStore: any AccountStore { get }
    /// The one ingest writer of this process (it holds state: caches, group commit).
    var ingestStore: any IngestStore { get }
    var objectStore: any ObjectStore { get }
    var timelineStore: any TimelineStore { get }
    var erasureStore: any ErasureStore { get }
    var catalogStore: any CatalogStore { get }
    var customerStore: any CustomerStore { get }
    var segmentStore: any SegmentStore { get }
    var membershipStore: any MembershipStore { get }
    var audienceStore: any AudienceStore { get }
    var explainStore: any ExplainStore { get }
    var manualMembershipStore: any ManualMembershipStore { get }
    /// The one membership evaluator of this process.
    var membershipWork: any MembershipWork { get }
    var webhookStore: any WebhookStore { get }
    var integrationStore: any IntegrationStore { get }
    var exportStore: any ExportStore { get }
    var upkeepStore: any UpkeepStore { get }
    var eventReportStore: any EventReportStore { get }
    var funnelReportStore: any FunnelReportStore { get }
    var segmentHistoryStore: any SegmentHistoryStore { get }
    var messageReportStore: any MessageReportStore { get }
    /// Rows in and out for `trove copy`, in the engines' common shape.
    var copyStore: any CopyStore { get }

    /// The runner of export jobs, writing files as `settings` say.
    func exportWork(settings: ExportSettings, logger: Logger) -> any ExportWork
    /// This process as one of several sharing the database (PostgreSQL); nil where one process owns it (SQLite).
    var node: (any NodePresence)? { get }
    /// At a graceful stop, after the ingest writer settled: the database closed cleanly. Nothing may use
    /// the engine afterwards.
    func close() async throws
}

extension TroveEngine {
    public var node: (any NodePresence)? { nil }
}

/// A process among several on one database: while it runs it says it is alive; the work it claimed (an
/// account's membership evaluation, a delivery in flight, an export) is taken over by the others once it has
/// not said so for `lease`. Its background work claims each unit before doing it, so no unit runs twice at once.
public protocol NodePresence: Sendable {
    /// How long after its last word a node counts as dead.
    var lease: Duration { get }
    /// Says this node is alive for another `lease` (every third of the lease while the server runs).
    func beat() async throws
    /// A clean stop: the node and its claims are removed, so the others take its work at once.
    func leave() async
}

/// An engine's error that may say the database is out of reach for now (a server restarting, a lost
/// connection): the API answers 503 with Retry-After instead of 500, and the work is tried again later.
public protocol StorageUnavailable: Error {
    /// Why, for the reply; nil when this error is of another kind.
    var unavailability: String? { get }
}
