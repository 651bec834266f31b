import GRDB

/// The catalog written on SQLite, once per transaction.
extension CatalogAccumulator {
    func flush(_ db: Database, now: Timestamp) throws {
        guard !entries.isEmpty else { return }
        let select = try db.cachedStatement(sql: "SELECT types, examples FROM properties WHERE account_id = ? AND model = ? AND prop = ?")
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO properties (account_id, model, prop, name, types, examples, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (account_id, model, prop) DO UPDATE SET
                    types = excluded.types, examples = excluded.examples, last_seen_at = excluded.last_seen_at
                """)
        for (key, entry) in entries {
            let row = try Row.fetchOne(select, arguments: [key.account, key.model.rawValue, key.prop])
            let (types, examples) = Self.merged(entry, storedTypes: row?["types"], storedExamples: row?["examples"])
            try upsert.execute(arguments: [
                key.account, key.model.rawValue, key.prop, Self.displayName(key.prop),
                JSONWriter.string(.array(types.map(JSON.string))), JSONWriter.string(.array(examples)), now.milliseconds,
            ])
        }
    }
}
