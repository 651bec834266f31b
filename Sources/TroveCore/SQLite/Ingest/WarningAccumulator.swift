import GRDB

/// Aggregates normalization warnings within one write transaction, then adds them to the `warnings`
/// table in one statement per distinct (account, model, prop, kind).
struct WarningAccumulator {
    struct Key: Hashable {
        var account: Int64
        var model: Model
        var prop: String
        var kind: WarningKind
    }

    struct Entry {
        var count: Int
        var exampleUID: String?
        var detail: String?
    }

    private(set) var entries: [Key: Entry] = [:]

    var isEmpty: Bool { entries.isEmpty }

    mutating func record(account: Int64, model: Model, warnings: [IngestWarning], exampleUID: String?) {
        for w in warnings {
            let key = Key(account: account, model: model, prop: ValueNormalizer.prefix(w.prop, maxBytes: 255), kind: w.kind)
            if var e = entries[key] {
                e.count += 1
                e.exampleUID = exampleUID ?? e.exampleUID
                e.detail = w.detail ?? e.detail
                entries[key] = e
            } else {
                entries[key] = Entry(count: 1, exampleUID: exampleUID, detail: w.detail)
            }
        }
    }

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
