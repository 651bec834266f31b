import GRDB

/// An expression index on one JSON property (SPEC §6 "Properties that segments filter on must not cost a
/// full JSON scan"): `(account_id, json_extract(properties, '$."plan"'))`. Created the first time a
/// segment or filter uses the property; the compiler emits the identical expression so SQLite uses it.
struct PropertyIndex: Hashable, Sendable {
    enum Table: String, Sendable { case profiles, companies }

    var table: Table
    /// The JSON path (`$."plan"`), built only from normalized names.
    var path: String

    /// The path in hex (readable in `EXPLAIN` output); long paths keep a prefix plus a 64-bit FNV-1a hash
    /// of the whole path, so two long paths never share an index name.
    var name: String {
        let hex = path.utf8.map { String($0, radix: 16) }.joined()
        guard hex.count > 96 else { return "\(table.rawValue)_prop_\(hex)" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        return "\(table.rawValue)_prop_\(hex.prefix(64))_\(String(hash, radix: 16))"
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
