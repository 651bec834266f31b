import GRDB

/// The warnings written on SQLite, once per transaction.
extension WarningAccumulator {
    func flush(_ db: Database, now: Timestamp) throws {
        guard !entries.isEmpty else { return }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO warnings (account_id, model, prop, kind, count, first_at, last_at, example_uid, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (account_id, model, prop, kind) DO UPDATE SET
                    count = count + excluded.count, last_at = excluded.last_at,
                    example_uid = coalesce(excluded.example_uid, example_uid), detail = coalesce(excluded.detail, detail)
                """)
        for (key, e) in entries {
            try upsert.execute(arguments: [
                key.account, key.model.rawValue, key.prop, key.kind.rawValue, e.count, now.milliseconds, now.milliseconds,
                e.exampleUID, e.detail,
            ])
        }
    }
}
