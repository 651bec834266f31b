import GRDB

/// Calls to Customer.io, enqueued by the changes that cause them inside their transactions (contract §10):
/// profile changes → identify, events that fire → Track events, segment changes of synced segments →
/// add/remove. Rows of one profile keep the order they were written in.
enum CustomerIOOutbox {
    /// What one write transaction did, as rows for Customer.io: an identify per changed profile (its state
    /// at commit), then the events that fire. Nothing at all when no account has a destination.
    static func enqueue(_ db: Database, session s: WriteSession) throws {
        guard !s.changedProfiles.isEmpty || s.events.count > 0 else { return }
        let destinations = try SQLiteIntegrationStore.destinations(db, cache: s.caches)
        guard !destinations.isEmpty else { return }
        for (account, error) in destinations.broken {
            if s.changedProfiles.values.contains(account) { throw error }
            if s.events.count > 0, try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM events WHERE id BETWEEN ? AND ? AND account_id = ?)",
                arguments: [s.events.firstID, s.events.lastID, account]) == true { throw error }
        }
        for (account, destination) in destinations.usable.sorted(by: { $0.key < $1.key }) {
            if destination.syncProfiles {
                let profiles = s.changedProfiles.filter { $0.value == account }.keys.sorted()
                if !profiles.isEmpty { try enqueueIdentifies(db, account: account, profiles: profiles, destination: destination, now: s.now) }
            }
            if s.events.count > 0 {
                try enqueueEvents(db, account: account, from: s.events.firstID, through: s.events.lastID, destination: destination, now: s.now)
            }
        }
    }

    /// The columns shared by every insert: a row without an identifier is failed at once, saying why.
    static func identified(_ destination: CustomerIODestination) -> (identifier: String, state: String, error: String) {
        destination.identified(SQLiteDialect())
    }

    /// An erased person (contract §5 forget): one `DELETE /api/v1/customers/:id`, marked as the erasure's
    /// notification (its identifier is wiped once sent). Nothing without a usable destination.
    static func enqueueDeletion(_ db: Database, account: Int64, profile: Int64, deletion: Int64, now: Timestamp, cache: WriteCaches) throws {
        guard let destination = try SQLiteIntegrationStore.destinations(db, cache: cache).usable[account] else { return }
        let c = identified(destination)
        try db.execute(
            sql: """
                INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, state, last_error, next_attempt_at, created_at, deletion_id)
                SELECT p.account_id, p.id, 'delete', \(c.identifier), \(c.state), \(c.error), ?1, ?1, ?2
                FROM profiles p WHERE p.id = ?3
                """, arguments: [now.milliseconds, deletion, profile])
    }

    static func enqueueIdentifies(_ db: Database, account: Int64, profiles: [Int64], destination: CustomerIODestination, now: Timestamp) throws {
        let c = identified(destination)
        try db.execute(
            sql: """
                INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, body, state, last_error, next_attempt_at, created_at)
                SELECT p.account_id, p.id, 'identify', \(c.identifier),
                    json_patch(coalesce(p.properties, '{}'), json_object('email', p.email, 'created_at', p.created_at / 1000)),
                    \(c.state), \(c.error), ?1, ?1
                FROM profiles p WHERE p.account_id = ?2 AND p.id IN (SELECT value FROM json_each(?3))
                ORDER BY p.id
                """, arguments: [now.milliseconds, account, JSONWriter.string(.array(profiles.map(JSON.int)))])
    }

    /// The events `from…through` of `account` that fire (`CustomerIODestination.fires`), as Track events
    /// `{name, data, timestamp, id}` with a ULID made from the event so a retry dedupes.
    static func enqueueEvents(_ db: Database, account: Int64, from first: Int64, through last: Int64, destination: CustomerIODestination,
                              now: Timestamp) throws {
        let needsProperties = !destination.triggerPaths.isEmpty
        // Unless every name goes out by default, only the names switched on can fire: read just those.
        var names = ""
        if let on = destination.namesThatCanFire {
            guard !on.isEmpty else { return }
            names = " AND n.uid IN (" + on.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ", ") + ")"
        }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT e.id, n.uid, e.timestamp, p.admin, \(needsProperties ? "e.properties" : "NULL")
                FROM events e JOIN event_names n ON n.id = e.name_id JOIN profiles p ON p.id = e.profile_id
                WHERE e.id BETWEEN ? AND ? AND e.account_id = ?\(names)
                """, arguments: [first, last, account])
        var fired: [JSON] = []
        for row in rows {
            let properties = needsProperties ? try StoredJSON.properties(row[4], "events", id: row[0]) : []
            guard destination.fires(nameUID: row[1], properties: properties, admin: row[3]) else { continue }
            let id: Int64 = row[0]
            let ulid = ULID.make(milliseconds: row[2], high: UInt16(truncatingIfNeeded: account), low: UInt64(bitPattern: id))
            fired.append(.array([.int(id), .string(ulid)]))
        }
        guard !fired.isEmpty else { return }
        let c = identified(destination)
        try db.execute(
            sql: """
                INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, body, state, last_error, next_attempt_at, created_at)
                SELECT e.account_id, e.profile_id, 'event', \(c.identifier),
                    json_object('name', coalesce(e.display_name, n.name), 'data', json(coalesce(e.properties, '{}')),
                                'timestamp', e.timestamp / 1000, 'id', f.value ->> 1),
                    \(c.state), \(c.error), ?1, ?1
                FROM json_each(?2) f
                JOIN events e ON e.id = f.value ->> 0
                JOIN event_names n ON n.id = e.name_id
                JOIN profiles p ON p.id = e.profile_id
                ORDER BY e.id
                """, arguments: [now.milliseconds, JSONWriter.string(.array(fired))])
    }

    /// `segment_add` / `segment_remove` for the ledger rows after `ledgerID` of segments synced to a
    /// Customer.io segment (called in each membership step's transaction).
    static func enqueueSegmentChanges(_ db: Database, after ledgerID: Int64, now: Timestamp) throws {
        let destinations = try SQLiteIntegrationStore.destinations(db)
        for (account, error) in destinations.broken {
            let concerned = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM segment_changes c JOIN segments s ON s.id = c.segment_id WHERE c.id > ? AND s.account_id = ?)",
                arguments: [ledgerID, account]) == true
            if concerned { throw error }
        }
        for (account, destination) in destinations.usable.sorted(by: { $0.key < $1.key }) where !destination.syncSegments.isEmpty {
            let c = identified(destination)
            let pairs = JSON.array(destination.syncSegments.map { .array([.int($0.segmentID), .string($0.customerIOSegmentID)]) })
            try db.execute(
                sql: """
                    INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, target, state, last_error, next_attempt_at, created_at)
                    SELECT ?2, c.profile_id, CASE WHEN c.entered THEN 'segment_add' ELSE 'segment_remove' END, \(c.identifier),
                        m.value ->> 1, \(c.state), \(c.error), ?1, ?1
                    FROM segment_changes c
                    CROSS JOIN json_each(?3) m ON m.value ->> 0 = c.segment_id
                    JOIN segments s ON s.id = c.segment_id AND s.account_id = ?2
                    LEFT JOIN profiles p ON p.id = c.profile_id
                    WHERE c.id > ?4
                    ORDER BY c.id
                    """, arguments: [now.milliseconds, account, JSONWriter.string(pairs), ledgerID])
        }
    }
}
