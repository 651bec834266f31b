/// The statements run once per ingested item, prepared once per transaction. Fetching them from GRDB's
/// statement cache hashes the whole SQL text on every call, which showed up in `perf` on the writer.
enum HotStatement: Int, CaseIterable {
    case eventByDedupeKey, insertEvent, insertHeldEvent, insertHeldEvents, profileByUID, insertProfile, activityHead

    var sql: String {
        switch self {
        case .eventByDedupeKey:
            return "SELECT id FROM events WHERE account_id = ? AND dedupe_key = ?"
        case .insertEvent:
            return """
                INSERT INTO events (account_id, profile_id, name_id, timestamp, received_at, source, dedupe_key, display_name, properties, prev_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """
        case .insertHeldEvent:
            return HeldEvents.insert(rows: 1)
        case .insertHeldEvents:
            return HeldEvents.insert(rows: HeldEvents.perStatement)
        case .profileByUID:
            return "SELECT id FROM profiles WHERE account_id = ? AND uid = ?"
        case .activityHead:
            return "SELECT head_event_id, last_seen_at, late_head_id FROM profile_activity WHERE profile_id = ?"
        case .insertProfile:
            return """
                INSERT INTO profiles (account_id, uid, email, company_id, disabled, admin, created_at, updated_at, properties)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        }
    }
}

extension WriteSession {
    func statement(_ which: HotStatement) throws -> RawStatement {
        if let prepared = hotStatements[which.rawValue] { return prepared }
        let prepared = try RawStatement(db, sql: which.sql)
        hotStatements[which.rawValue] = prepared
        return prepared
    }
}
