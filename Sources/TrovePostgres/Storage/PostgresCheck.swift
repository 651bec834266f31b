import PostgresNIO

/// `trove check` on PostgreSQL. The server keeps its own pages and declared constraints whole; what it
/// cannot know are the references Trove keeps without declaring them (the hot tables carry no foreign keys,
/// as on SQLite, for ingest's sake). Each check counts the rows whose reference leads nowhere, joined on
/// `account_id` as well, so a row that names another account's profile counts as broken too.
extension PostgresAppDatabase {
    static let references: [(what: String, sql: String)] = [
        ("events whose profile is gone", "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.account_id = e.account_id AND p.id = e.profile_id)"),
        ("events whose name is unknown", "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_names n WHERE n.account_id = e.account_id AND n.id = e.name_id)"),
        ("anonymous events whose name is unknown", "SELECT count(*) FROM anonymous_events e WHERE NOT EXISTS (SELECT 1 FROM event_names n WHERE n.account_id = e.account_id AND n.id = e.name_id)"),
        ("segment members whose profile is gone", "SELECT count(*) FROM segment_members m WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.account_id = m.account_id AND p.id = m.profile_id)"),
        ("event counts whose name is unknown", "SELECT count(*) FROM event_counts c WHERE NOT EXISTS (SELECT 1 FROM event_names n WHERE n.account_id = c.account_id AND n.id = c.name_id)"),
        ("account rows of no account", """
            SELECT (SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id))
                 + (SELECT count(*) FROM anonymous_events e WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id))
                 + (SELECT count(*) FROM segment_members e WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id))
            """),
    ]

    /// The schema must be this binary's; then each broken reference, counted ("12 events whose profile is
    /// gone"). Empty when all is well. Reads only; safe while serving.
    public func check() async throws -> [String] {
        try await checkSchema()
        var problems: [String] = []
        for (what, sql) in Self.references {
            let count = try await query(PostgresQuery(unsafeSQL: sql)).first?.decode(Int64.self) ?? 0
            if count > 0 { problems.append("\(count) \(what)") }
        }
        return problems
    }
}
