import GRDB

/// The Track API's writes beyond the shared profile and event upserts (contract §8): anonymous events, their
/// merge into a profile, and deleting a customer.
extension WriteSession {
    /// An event with no profile yet, kept under its `anonymous_id`.
    public func insertAnonymousEvent(_ e: EventInput, anonymousID: String, account: Int64) throws -> ItemOutcome {
        if let key = e.dedupeKey,
           let id = try Int64.fetchOne(db, sql: "SELECT id FROM anonymous_events WHERE account_id = ? AND dedupe_key = ?", arguments: [account, key])
            ?? eventID(account: account, dedupeKey: key)
        {
            return .duplicate(id)
        }
        let name = try internEventName(account: account, uid: e.nameUID, name: e.name)
        try db.execute(
            sql: """
                INSERT INTO anonymous_events (account_id, anonymous_id, name_id, timestamp, received_at, dedupe_key, display_name, properties)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [account, anonymousID, name.id, e.timestamp.milliseconds, now.milliseconds, e.dedupeKey,
                        name.name == e.name ? nil : e.name, e.propertiesJSON.map { String(decoding: $0, as: UTF8.self) }])
        let id = db.lastInsertedRowID
        countName(name.id, account: account, at: e.timestamp.milliseconds)
        // Counted in the reports at once: anonymous events have no place in the log the counts roll up.
        try EventCounts.add([(EventCounts.Key(name: name.id, hour: EventCounts.hour(e.timestamp.milliseconds)), 1)], db)
        if !e.properties.isEmpty { catalog.record(account: account, model: .event, properties: e.properties) }
        return .stored(id)
    }

    /// Moves the anonymous events of `anonymousID` from the last `days` into the profile's events (an event
    /// whose `id` the profile's events already have is dropped, not doubled). Returns how many moved.
    @discardableResult
    public func mergeAnonymousEvents(_ anonymousID: String, into profile: Int64, account: Int64, days: Int64 = 30) throws -> Int {
        let since = now.milliseconds - days * 86_400_000
        let merged = "account_id = ? AND anonymous_id = ? AND timestamp >= ?"
        let arguments: StatementArguments = [account, anonymousID, since]
        let rows = try Row.fetchAll(
            db, sql: """
                SELECT id, name_id, timestamp, received_at, dedupe_key, display_name, properties FROM anonymous_events
                WHERE \(merged) ORDER BY timestamp, id
                """, arguments: arguments)
        // Every one of them leaves the anonymous counts: a moved copy is counted as an event of the log.
        try EventCounts.subtract(anonymousWhere: merged, arguments: arguments, db)
        var moved = 0
        for row in rows {
            try db.execute(
                sql: """
                    INSERT INTO events (account_id, profile_id, name_id, timestamp, received_at, source, dedupe_key, display_name, properties)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """,
                arguments: [account, profile, row["name_id"], row["timestamp"], row["received_at"], EventSource.track.rawValue,
                            row["dedupe_key"], row["display_name"], row["properties"]])
            if db.changesCount > 0 {
                moved += 1
                events.record(id: db.lastInsertedRowID, profile: profile, name: row["name_id"], at: row["timestamp"], prev: nil)
            } else {
                // The profile already has this event (its `id`): the anonymous copy goes, and its name's total with it.
                try uncount(sql: "SELECT name_id, 1 FROM anonymous_events WHERE id = ?", arguments: [row["id"] as Int64])
            }
            try db.execute(sql: "DELETE FROM anonymous_events WHERE id = ?", arguments: [row["id"] as Int64])
        }
        return moved
    }
}
