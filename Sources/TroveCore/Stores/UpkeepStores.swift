/// The engine's background work and what operators see of it, as the seam an engine implements. When and
/// how often each runs is decided above (the server's services, the CLI); what one step does is the
/// engine's. SQLite: `SQLiteUpkeepStore`, `MembershipEvaluator`, `ExportRunner`.

/// Upkeep and the figures the admin overview and `/metrics` show.
public protocol UpkeepStore: Sendable {
    /// One account's headline figures, from one snapshot.
    func overview(account: Int64) async throws -> AccountOverview
    /// How far membership trails ingest, and what waits in each outbox.
    func backlog(now: Timestamp) async throws -> TroveMetrics.Backlog
    /// Removes delivered outbox rows (webhooks, Customer.io) delivered before `before`; returns how many.
    func pruneDelivered(before: Timestamp) async throws -> Int
    /// One piece of the funnel step lists' upkeep; whether more is left.
    func stepReportLists(now: Timestamp) async throws -> Bool
    /// Drops step lists no report has read for 30 days; returns how many.
    func dropUnusedReportLists(now: Timestamp) async throws -> Int
    /// Whether this process runs the upkeep round due now: where several processes share the engine, the
    /// one that holds upkeep (or takes it from one no longer alive), and only when the last round ended
    /// `every` ago or more. A process that owns the engine alone keeps its own pace.
    func claimUpkeep(every: Duration) async throws -> Bool
    /// The round this process claimed has ended.
    func upkeepDone() async throws
}

extension UpkeepStore {
    public func claimUpkeep(every: Duration) async throws -> Bool { true }
    public func upkeepDone() async throws {}
}

/// Keeps dynamic segments' membership current (contract §6).
public protocol MembershipWork: Sendable {
    var clock: TroveClock { get }
    /// One round of evaluation; `more` when work is left.
    func step() async throws -> MembershipEvaluator.StepResult
    /// Drops the expression indexes no segment uses any more; returns their names.
    func dropUnusedIndexes() async throws -> [String]
    /// Steps until every segment is current (the CLI, tests).
    func catchUp() async throws
}

/// Runs pending export jobs (contract §7).
public protocol ExportWork: Sendable {
    var clock: TroveClock { get }
    /// Runs one pending job; false when none was waiting.
    func step() async throws -> Bool
    /// Runs jobs until none is pending (tests).
    func runUntilIdle() async throws
}

extension MembershipWork {
    public func catchUp() async throws {
        while try await step().didWork {}
    }
}

extension ExportWork {
    public func runUntilIdle() async throws {
        while try await step() {}
    }
}

extension MembershipEvaluator: MembershipWork {}
extension ExportRunner: ExportWork {}
