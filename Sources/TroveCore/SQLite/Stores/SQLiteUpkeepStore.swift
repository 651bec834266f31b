/// `UpkeepStore` on SQLite.
public struct SQLiteUpkeepStore: UpkeepStore {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func overview(account: Int64) async throws -> AccountOverview { try await AccountOverview.read(database, account: account) }

    public func backlog(now: Timestamp) async throws -> TroveMetrics.Backlog { try await TroveMetrics.backlog(database, now: now) }

    public func pruneDelivered(before: Timestamp) async throws -> Int { try await OutboxRetention.prune(database, before: before) }

    public func stepReportLists(now: Timestamp) async throws -> Bool { try await ReportSteps.step(database, now: now, limits: .server) }

    public func dropUnusedReportLists(now: Timestamp) async throws -> Int { try await ReportSteps.pruneUnused(database, now: now) }
}
