import GRDB

extension Export {
    static let columns = """
        id, account_id, type, request, description, status, total, downloads, attempts, error, file_bytes,
        created_at, updated_at, finished_at, expires_at, removed_at
        """

    init(row: Row) throws {
        id = row["id"]
        account = row["account_id"]
        type = row["type"]
        request = try JSONParser.parse(Array((row["request"] as String).utf8))
        description = row["description"]
        status = Status(rawValue: row["status"]) ?? .failed
        total = row["total"]
        downloads = row["downloads"]
        attempts = row["attempts"]
        error = row["error"]
        fileBytes = row["file_bytes"]
        createdAt = Timestamp(milliseconds: row["created_at"])
        updatedAt = Timestamp(milliseconds: row["updated_at"])
        finishedAt = (row["finished_at"] as Int64?).map(Timestamp.init(milliseconds:))
        expiresAt = (row["expires_at"] as Int64?).map(Timestamp.init(milliseconds:))
        removedAt = (row["removed_at"] as Int64?).map(Timestamp.init(milliseconds:))
    }

    static func fetch(_ db: Database, account: Int64, id: Int64) throws -> Export? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM exports WHERE account_id = ? AND id = ?", arguments: [account, id]).map(Export.init)
    }
}
