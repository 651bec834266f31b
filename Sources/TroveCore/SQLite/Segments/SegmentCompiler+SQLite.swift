import GRDB

extension SegmentCompiler {
    /// A compiler resolving segments and event names in `db`. `createsIndexes`: the caller runs
    /// `SegmentIndex.ensure` on the output before the statement (the evaluator); otherwise only indexes
    /// that exist already are counted on. `checkingOnly`: the caller wants the output's checks, indexes
    /// and references, not a statement to run, so no candidates are counted to choose the event form.
    /// `registersNames` (a build, which also creates the indexes): an event name never seen is registered
    /// now (`registerUnseen`), so its index is built with the segment rather than when its first event arrives.
    static func over(_ db: Database, account: Int64, now: Timestamp, perProfile: Bool = false, createsIndexes: Bool = false,
                     registersNames: Bool = false, checkingOnly: Bool = false) -> SegmentCompiler {
        SegmentCompiler(
            account: account, now: now, dialect: SQLiteDialect(), perProfile: perProfile, resolve: Segment.resolver(db, account: account),
            eventName: { name in
                if registersNames { try registerUnseen(name, account: account, db) }
                guard let row = try Row.fetchOne(db, sql: "SELECT id, count FROM event_names WHERE account_id = ? AND uid = ?", arguments: [account, name])
                else { return nil }
                let id: Int64 = row[0]
                let indexed = try createsIndexes || SegmentIndex.exists(.eventName(id), db)
                // Latest times are built after the name's index, in a step of their own, and serve while the
                // tail past them is short (looked up only when a staged query asks).
                return EventName(id: id, indexed: indexed, events: row[1], profilesDoing: { k, after in
                    guard indexed, try EventRecency.isReadable(name: id, db) else { return nil }
                    return (EventRecency.profilesSQL(name: id, atLeast: k, after: after), EventRecency.tailSQL(name: id))
                })
            },
            candidates: checkingOnly ? nil : { condition, limit, index in
                guard try SegmentIndex.exists(index, db) else { return nil }
                let count = SQLFragment("SELECT count(*) FROM (SELECT 1 FROM profiles p WHERE p.account_id = ? AND p.disabled = 0 AND (", [.integer(account)])
                    + condition + SQLFragment(") LIMIT ?)", [.integer(limit)])
                return try Int64.fetchOne(db.cachedStatement(sql: count.sql), arguments: count.statementArguments)
            })
    }

    /// Registers an event name a segment refers to before any event of it arrived: a row with no events and
    /// no `last_seen_at` (listings leave such names out; the first event gives it its display name).
    /// Without it the name's partial index would be created when its first event arrives, in the step that
    /// re-checks touched profiles — a scan of the whole log in the writer, holding up ingest and every
    /// membership change behind it (10 s and more at 100M events); a build scans the log anyway.
    static func registerUnseen(_ uid: String, account: Int64, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO event_names (account_id, uid, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", arguments: [account, uid, uid])
    }

    /// `SELECT columns FROM profiles p WHERE …` for the members of `filter`, or for every enabled profile
    /// of the account when there is no filter (exports, customer searches); more conditions may follow.
    static func select(_ db: Database, account: Int64, now: Timestamp, filter: FilterNode?, columns: String) throws -> SQLFragment {
        guard let filter else {
            return SQLFragment("SELECT \(columns) FROM profiles p WHERE p.account_id = ? AND p.disabled = 0", [.integer(account)])
        }
        return try over(db, account: account, now: now).membersQuery(filter, columns: columns).resolved(db).select
    }
}
