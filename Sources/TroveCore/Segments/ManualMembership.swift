import GRDB

/// Membership of manual segments, set by API (SPEC §6 "Manual segments"):
/// `POST /api/v1/segments/:id/add_customers|remove_customers`.
public struct ManualMembership: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public static let maxIDs = 1000

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    /// Adds (or removes) the named customers; unknown ids are ignored. Returns how many changed.
    @discardableResult
    public func change(account: Int64, segment id: Int64, ids: [String], idType: String?, add: Bool) throws -> Int {
        guard ids.count <= Self.maxIDs else { throw SegmentError.invalid("ids: at most \(Self.maxIDs) per request, got \(ids.count)") }
        let customers = try ids.map { try CustomerID($0, idType: idType) }
        let now = clock.now()
        return try database.pool.write { db in
            guard let segment = try Segment.fetch(db, account: account, id: id) else { throw SegmentError.notFound("no segment with id \(id)") }
            guard segment.kind == .manual else {
                throw SegmentError.invalid("segment \(id) is dynamic: its membership follows its filter; only manual segments take ids")
            }
            var changed = 0
            let ledgerID = try SegmentChangeOutbox.lastLedgerID(db)
            let member = try db.cachedStatement(sql: "SELECT 1 FROM segment_members WHERE segment_id = ? AND profile_id = ?")
            for customer in customers {
                guard let profile = try customer.profileID(db, account: account) else { continue }
                let isMember = try Bool.fetchOne(member, arguments: [id, profile]) ?? false
                guard isMember != add else { continue }
                if add {
                    try db.execute(sql: "INSERT INTO segment_members (segment_id, profile_id) VALUES (?, ?)", arguments: [id, profile])
                } else {
                    try db.execute(sql: "DELETE FROM segment_members WHERE segment_id = ? AND profile_id = ?", arguments: [id, profile])
                }
                try db.execute(
                    sql: "INSERT INTO segment_changes (segment_id, profile_id, entered, at, version) VALUES (?, ?, ?, ?, ?)",
                    arguments: [id, profile, add, now.milliseconds, segment.version])
                // Dynamic segments that use this one re-check the profile.
                try db.execute(sql: "INSERT OR IGNORE INTO membership_dirty (kind, object_id) VALUES (0, ?)", arguments: [profile])
                changed += 1
            }
            try db.execute(
                sql: "UPDATE segments SET member_count = member_count + ?, computed_at = ? WHERE id = ?",
                arguments: [add ? changed : -changed, now.milliseconds, id])
            if changed > 0 { try SegmentChangeOutbox.enqueue(db, after: ledgerID, now: now) }
            return changed
        }
    }
}
