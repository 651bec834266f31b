import GRDB

extension AccountOverview {
    public static func read(_ database: AppDatabase, account: Int64) async throws -> AccountOverview {
        try await database.heavyRead { db in
            func count(_ sql: String) throws -> Int64 { try Int64.fetchOne(db, sql: sql, arguments: [account]) ?? 0 }
            return AccountOverview(
                profiles: try count("SELECT count(*) FROM profiles WHERE account_id = ?"),
                companies: try count("SELECT count(*) FROM companies WHERE account_id = ?"),
                events: try count("SELECT coalesce(sum(count), 0) FROM event_names WHERE account_id = ?"),
                eventNames: try count("SELECT count(*) FROM event_names WHERE account_id = ? AND \(CatalogReader.seenNames)"),
                segments: try count("SELECT count(*) FROM segments WHERE account_id = ?"),
                warnings: try count("SELECT coalesce(sum(count), 0) FROM warnings WHERE account_id = ?"))
        }
    }
}
