import GRDB

/// The `deletions` table read back (`GET /v3/edit/deletions`), and an erasure's notifications wiped once
/// they are settled.
enum DeletionRecords {
    static let columns = """
        id, kind, source, created_at, completed_at, profiles, events, memberships, ledger_rows, deliveries, notifications
        """

    static func one(_ db: Database, id: Int64) throws -> Deletion {
        guard let row = try Row.fetchOne(db, sql: "SELECT \(columns) FROM deletions WHERE id = ?", arguments: [id]) else {
            throw StoredDataError(table: "deletions", column: "id", id: id, reason: "missing right after it was written")
        }
        return try deletion(row)
    }

    static func page(_ db: Database, account: Int64, limit: Int, before: Int64?) throws -> Page<Deletion> {
        let rows = try Row.fetchAll(
            db, sql: "SELECT \(columns) FROM deletions WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            arguments: [account, before ?? .max, limit])
        return Page(try rows.map(deletion), limit: limit, id: \.id)
    }

    static func deletion(_ row: Row) throws -> Deletion {
        try Deletion(
            id: row["id"], storedKind: row["kind"], storedSource: row["source"], createdAt: row["created_at"], completedAt: row["completed_at"],
            profiles: row["profiles"], events: row["events"], memberships: row["memberships"], ledgerRows: row["ledger_rows"],
            deliveries: row["deliveries"], notifications: row["notifications"])
    }

    /// After a delivery settled (delivered or failed for good): if it was an erasure's notification, what
    /// named the person goes, and the erasure completes once none of its notifications is pending.
    @discardableResult
    static func settled(_ db: Database, table: String, id: Int64, now: Timestamp) throws -> Bool {
        guard let deletion = try Int64.fetchOne(
            db, sql: "SELECT deletion_id FROM \(table) WHERE id = ? AND deletion_id IS NOT NULL AND state <> 'pending'", arguments: [id])
        else { return false }
        let wipe = table == "webhook_deliveries" ? "data = '{}'" : "identifier = NULL, body = NULL, target = NULL"
        try db.execute(sql: "UPDATE \(table) SET \(wipe), last_error = NULL WHERE id = ?", arguments: [id])
        try db.execute(
            sql: """
                UPDATE deletions SET completed_at = ?2 WHERE id = ?1 AND completed_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE deletion_id = ?1 AND state = 'pending')
                  AND NOT EXISTS (SELECT 1 FROM customerio_deliveries WHERE deletion_id = ?1 AND state = 'pending')
                """, arguments: [deletion, now.milliseconds])
        return true
    }
}

/// Erasure's reads. SQLite: the person by uid, email or id; their events' ids (`PersonEvents`); the record.
public struct ErasureReader: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func profileID(account: Int64, _ person: ObjectLookup) async throws -> Int64? {
        try await database.read { db in
            let (column, value) = person.profileMatch
            return try Int64.fetchOne(db, sql: "SELECT id FROM profiles WHERE account_id = ? AND \(column) = ?", arguments: [account, value])
        }
    }

    public func companyExists(account: Int64, _ company: Int64) async throws -> Bool {
        try await database.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM companies WHERE id = ? AND account_id = ?)", arguments: [company, account]) ?? false
        }
    }

    public func profileIDs(account: Int64, company: Int64) async throws -> [Int64] {
        try await database.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM profiles WHERE company_id = ? AND account_id = ? ORDER BY id", arguments: [company, account])
        }
    }

    public func eventIDs(account: Int64, profile: Int64) async throws -> PersonEventIDs {
        try await database.read { db in
            PersonEventIDs(ids: try PersonEvents.ids(db, profile: profile), top: try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0)
        }
    }

    /// The erased bytes leave the log too (`AppDatabase.requestLogTruncation`).
    public func erased() { database.requestLogTruncation() }

    public func deletions(account: Int64, limit: Int, before: Int64?) async throws -> Page<Deletion> {
        try await database.read { db in try DeletionRecords.page(db, account: account, limit: limit, before: before) }
    }
}
