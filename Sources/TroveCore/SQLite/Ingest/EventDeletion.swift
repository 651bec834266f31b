import GRDB

extension WriteSession {
    /// Up to `limit` events before `cutoff` (oldest ids first: the log is mostly in time order, so the
    /// scan stops early), and the anonymous ones; returns how many events went.
    public func deleteEvents(before cutoff: Timestamp, limit: Int) throws -> Int {
        try uncount(sql: "SELECT name_id, count(*) FROM anonymous_events WHERE timestamp < ? GROUP BY name_id", arguments: [cutoff.milliseconds])
        try EventCounts.subtract(anonymousWhere: "timestamp < ?", arguments: [cutoff.milliseconds], db)
        try db.execute(sql: "DELETE FROM anonymous_events WHERE timestamp < ?", arguments: [cutoff.milliseconds])
        // The first `limit` old events are exactly the old ones up to the last of them: every later statement
        // reads that id range, not the log again.
        let batch = try Row.fetchOne(
            db, sql: "SELECT count(*), max(id) FROM (SELECT id FROM events WHERE timestamp < ? ORDER BY id LIMIT ?)",
            arguments: [cutoff.milliseconds, limit])
        guard let batch, let last = batch[1] as Int64? else { return 0 }
        let condition = "id <= ? AND timestamp < ?"
        let arguments: StatementArguments = [last, cutoff.milliseconds]
        try db.execute(
            sql: "INSERT OR IGNORE INTO membership_dirty (kind, object_id) SELECT DISTINCT ?, profile_id FROM events WHERE \(condition)",
            arguments: [MembershipDirtyKind.profile.rawValue] + arguments)
        try deleteEvents(where: condition, arguments: arguments)
        return batch[0]
    }

    /// Up to `limit` anonymous events (never merged into a profile) with a time before `cutoff`, oldest ids
    /// first; returns how many went. Their names' totals lose them.
    public func deleteAnonymousEvents(before cutoff: Timestamp, limit: Int) throws -> Int {
        guard let last = try Int64.fetchOne(
            db, sql: "SELECT max(id) FROM (SELECT id FROM anonymous_events WHERE timestamp < ? ORDER BY id LIMIT ?)",
            arguments: [cutoff.milliseconds, limit])
        else { return 0 }
        try uncount(sql: "SELECT name_id, count(*) FROM anonymous_events WHERE id <= ? AND timestamp < ? GROUP BY name_id",
                    arguments: [last, cutoff.milliseconds])
        try EventCounts.subtract(anonymousWhere: "id <= ? AND timestamp < ?", arguments: [last, cutoff.milliseconds], db)
        try db.execute(sql: "DELETE FROM anonymous_events WHERE id <= ? AND timestamp < ?", arguments: [last, cutoff.milliseconds])
        return db.changesCount
    }
}
