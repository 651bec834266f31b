import GRDB

/// An expression index on one JSON property (SPEC §6 "Properties that segments filter on must not cost a
/// full JSON scan"): `(account_id, json_extract(properties, '$."plan"'))`. Created the first time a
/// segment or filter uses the property; the compiler emits the identical expression so SQLite uses it.
struct PropertyIndex: Hashable, Sendable {
    enum Table: String, Sendable { case profiles, companies }

    var table: Table
    /// The JSON path (`$."plan"`), built only from normalized names.
    var path: String

    var name: String {
        let hex = path.utf8.map { String($0, radix: 16) }.joined()
        return "\(table.rawValue)_prop_\(hex.prefix(96))"
    }

    var createSQL: String {
        "CREATE INDEX IF NOT EXISTS \"\(name)\" ON \(table.rawValue)(account_id, json_extract(properties, '\(path)'))"
    }

    /// Creates the missing ones and gathers statistics for them, so the planner can tell a selective
    /// property from a common one. Returns how many it created.
    @discardableResult
    static func ensure(_ indexes: Set<PropertyIndex>, _ db: Database) throws -> Int {
        var created = 0
        for index in indexes.sorted(by: { $0.name < $1.name }) {
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [index.name]) ?? false
            if exists { continue }
            try db.execute(sql: index.createSQL)
            try db.execute(sql: "PRAGMA analysis_limit = 1000")
            try db.execute(sql: "ANALYZE \"\(index.name)\"")
            created += 1
        }
        return created
    }
}
