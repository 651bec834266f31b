import GRDB

/// `ManualMembershipStore` on SQLite: membership of manual segments, set by API (contract §6 "Manual
/// segments": `POST /api/v1/segments/:id/add_customers|remove_customers`) or replaced by an import.
public struct ManualMembership: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    /// Adds (or removes) the named customers; unknown ones are ignored. Returns how many changed.
    public func change(account: Int64, segment id: Int64, customers: [CustomerID], add: Bool) async throws -> Int {
        let now = clock.now()
        return try await database.write { db in
            let segment = try Self.manualSegment(db, account: account, id: id)
            let profiles = try customers.compactMap { try $0.profileID(db, account: account) }
            return try Self.apply(db, segment: segment, profiles: profiles, add: add, now: now)
        }
    }

    /// Makes the members exactly `profiles` (a pull from Customer.io): adds the missing, removes the rest.
    public func replace(account: Int64, segment id: Int64, profiles: Set<Int64>) async throws -> (added: Int, removed: Int) {
        let now = clock.now()
        return try await database.write { db in
            let segment = try Self.manualSegment(db, account: account, id: id)
            let current = Set(try Int64.fetchAll(db, sql: "SELECT profile_id FROM segment_members WHERE segment_id = ?", arguments: [id]))
            let removed = try Self.apply(db, segment: segment, profiles: current.subtracting(profiles).sorted(), add: false, now: now)
            let added = try Self.apply(db, segment: segment, profiles: profiles.subtracting(current).sorted(), add: true, now: now)
            return (added, removed)
        }
    }

    public func manualSegment(account: Int64, id: Int64) async throws -> Segment {
        try await database.read { db in try Self.manualSegment(db, account: account, id: id) }
    }

    public func profileIDs(account: Int64, _ people: [(uid: String?, email: String?)]) async throws -> [Int64?] {
        try await database.read { db in
            try people.map { person -> Int64? in
                if let uid = person.uid, let id = try ObjectLookup.uid(uid).profileID(db, account: account) { return id }
                if let email = person.email, let id = try ObjectLookup.email(email).profileID(db, account: account) { return id }
                return nil
            }
        }
    }

    static func manualSegment(_ db: Database, account: Int64, id: Int64) throws -> Segment {
        guard let segment = try Segment.fetch(db, account: account, id: id) else { throw SegmentError.notFound("no segment with id \(id)") }
        guard segment.kind == .manual else {
            throw SegmentError.invalid("segment \(id) is dynamic: its membership follows its filter; only manual segments take ids")
        }
        return segment
    }

    /// Adds (or removes) profiles, each with its ledger row, a re-check of the dynamic segments that use
    /// this one, and the outboxes told; returns how many changed.
    static func apply(_ db: Database, segment: Segment, profiles: [Int64], add: Bool, now: Timestamp) throws -> Int {
        let id = segment.id
        var changed = 0
        let ledgerID = try SegmentChangeOutbox.lastLedgerID(db)
        let member = try db.cachedStatement(sql: "SELECT 1 FROM segment_members WHERE segment_id = ? AND profile_id = ?")
        for profile in profiles {
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
