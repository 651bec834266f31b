import GRDB

extension Segment {
    static let columns =
        "id, account_id, name, description, kind, grammar, definition, tags, version, built_version, windowed, member_count, computed_at, created_at, updated_at"

    /// `columns` for a query over `segments s`.
    static let qualifiedColumns = columns.split(separator: ",").map { "s." + $0.drop(while: { $0 == " " }) }.joined(separator: ", ")

    init(row: Row) throws(StoredDataError) {
        try self.init(
            id: row[0], accountID: row[1], name: row[2], description: row[3], kind: row[4], grammar: row[5], definition: row[6], tags: row[7],
            version: row[8], builtVersion: row[9], windowed: row[10], memberCount: row[11], computedAt: row[12], createdAt: row[13],
            updatedAt: row[14])
    }

    static func fetch(_ db: Database, account: Int64, id: Int64) throws -> Segment? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM segments WHERE account_id = ? AND id = ?", arguments: [account, id]).map(Segment.init)
    }

    static func fetchAll(_ db: Database, account: Int64) throws -> [Segment] {
        try Row.fetchAll(db, sql: "SELECT \(columns) FROM segments WHERE account_id = ? ORDER BY id", arguments: [account]).map(Segment.init)
    }

    /// The resolver the compiler uses for segment conditions: manual segments by membership, dynamic
    /// ones inlined.
    static func resolver(_ db: Database, account: Int64) -> (Int64) throws -> SegmentCompiler.Reference? {
        { id in
            try fetch(db, account: account, id: id)?.reference()
        }
    }
}
