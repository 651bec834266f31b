import GRDB

/// Event rows on SQLite (`IngestRows`: the insert, the name interned, the dedupe lookup) and their deletion;
/// the rules that decide them are `IngestRules`.
extension WriteSession {
    /// Links the event into its profile's chain (`PersonChain`) and notes it for the rollups.
    public func insertEventRow(_ e: EventInput, account: Int64, profile profileID: Int64, name: EventNameRow) throws -> Int64? {
        let time = e.timestamp.milliseconds
        let displayName = name.name == e.name ? nil : e.name
        return try linkEvent(profile: profileID, at: time) { prev in
            let eventID: Int64
            if e.dedupeKey == nil, let id = heldEvents?.nextID {
                heldEvents!.hold(
                    HeldEvents.Row(id: id, account: account, profile: profileID, name: name.id, time: time, source: Int64(e.source.rawValue),
                                   displayName: displayName, properties: e.propertiesJSON, prev: prev))
                if heldEvents!.isFull { try writeHeldEvents() }
                eventID = id
            } else {
                try writeHeldEvents()  // first: this insert takes the next id
                let insert = try statement(.insertEvent)
                try insert.bind(1, account)
                try insert.bind(2, profileID)
                try insert.bind(3, name.id)
                try insert.bind(4, time)
                try insert.bind(5, now.milliseconds)
                try insert.bind(6, Int64(e.source.rawValue))
                try insert.bind(7, e.dedupeKey)
                try insert.bind(8, displayName)
                try insert.bind(9, text: e.propertiesJSON)
                try insert.bind(10, prev)
                try insert.execute(db)
                if db.changesCount == 0 { return nil }  // the dedupe key was taken
                eventID = db.lastInsertedRowID
                heldEvents?.nextID = eventID + 1
            }
            events.record(id: eventID, profile: profileID, name: name.id, at: time, prev: prev)
            return eventID
        }
    }

    /// From here until `writeHeldEvents`, events without a dedupe key are held and inserted
    /// `HeldEvents.perStatement` rows to a statement, with the ids the log would have given them.
    func holdEvents() throws {
        heldEvents = HeldEvents(nextID: try logTop() + 1)
    }

    /// The newest event's id as this transaction sees it (0: none).
    func logTop() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(id) FROM events")) ?? 0
    }

    /// Inserts the events held so far; called before anything reads the log again.
    func writeHeldEvents() throws {
        guard let rows = heldEvents?.rows, !rows.isEmpty else { return }
        heldEvents!.rows = []
        heldEvents!.rows.reserveCapacity(HeldEvents.perStatement)
        if rows.count == HeldEvents.perStatement {
            let insert = try statement(.insertHeldEvents)
            for (i, row) in rows.enumerated() { try bind(row, to: insert, from: Int32(i * HeldEvents.columns)) }
            try insert.execute(db)
        } else {
            let insert = try statement(.insertHeldEvent)
            for row in rows {
                try bind(row, to: insert, from: 0)
                try insert.execute(db)
            }
        }
    }

    private func bind(_ row: HeldEvents.Row, to insert: RawStatement, from base: Int32) throws {
        try insert.bind(base + 1, row.id)
        try insert.bind(base + 2, row.account)
        try insert.bind(base + 3, row.profile)
        try insert.bind(base + 4, row.name)
        try insert.bind(base + 5, row.time)
        try insert.bind(base + 6, now.milliseconds)
        try insert.bind(base + 7, row.source)
        try insert.bind(base + 8, row.displayName)
        try insert.bind(base + 9, text: row.properties)
        try insert.bind(base + 10, row.prev)
    }

    public func countName(_ name: Int64, account: Int64, at time: Int64) {
        let usage = nameUsage[name] ?? (0, time)
        nameUsage[name] = (usage.count + 1, max(usage.last, time))
    }

    /// Deletes the events matching `condition` and keeps what is derived from the log exact: their rolled-up
    /// counts come out, watermarks above the new top id come down, and the writer forgets its record
    /// (`WriteQueue.commit`). Every deletion of events goes through here.
    func deleteEvents(where condition: String, arguments: StatementArguments) throws {
        try EventCounts.subtract(eventsWhere: condition, arguments: arguments, db)
        try uncount(sql: "SELECT name_id, count(*) FROM events WHERE \(condition) GROUP BY name_id", arguments: arguments)
        try ReportSteps.forget(eventsWhere: condition, arguments: arguments, db)
        let recency = try EventRecency.affected(eventsWhere: condition, arguments: arguments, db)
        try db.execute(sql: "DELETE FROM events WHERE \(condition)", arguments: arguments)
        try EventCounts.lowerWatermarks(db)
        try ReportSteps.lowerWatermarks(db)
        try EventRecency.lowerWatermarks(db)
        try EventRecency.afterDeleting(recency, db)
        deletedEvents = true
        forgetHeads()
    }

    /// Takes deleted events out of their names' totals (`event_names.count`: events stored under it), through
    /// the per-transaction usage the flush applies, so inserts and deletes in one transaction net out.
    /// `sql` yields (name id, how many).
    func uncount(sql: String, arguments: StatementArguments) throws {
        for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
            let (id, n): (Int64, Int64) = (row[0], row[1])
            let usage = nameUsage[id] ?? (0, .min)
            nameUsage[id] = (usage.count - n, usage.last)
        }
    }

    public func eventID(account: Int64, dedupeKey key: String) throws -> Int64? {
        let s = try statement(.eventByDedupeKey)
        try s.bind(1, account)
        try s.bind(2, key)
        return try s.fetchInt64(db)
    }

    public func knownProfileAndName(_ e: EventInput, account: Int64) -> (profile: Int64, name: EventNameRow)? {
        guard let uid = e.uid, e.email == nil, e.profileID == nil,
            let profile = e.profileHint.flatMap(profileID(hinted:)) ?? cachedProfileID(AccountKey(account: account, key: uid))
        else { return nil }
        let nameKey = AccountKey(account: account, key: e.nameUID)
        guard let name = caches.eventNames[nameKey] ?? eventNames[nameKey] else { return nil }
        return (profile, name)
    }

    public func internEventName(account: Int64, uid: String, name: String) throws -> EventNameRow {
        let key = AccountKey(account: account, key: uid)
        if let cached = caches.eventNames[key] ?? eventNames[key] { return cached }
        let select = try db.cachedStatement(sql: "SELECT id, name, last_seen_at IS NULL AND count = 0 FROM event_names WHERE account_id = ? AND uid = ?")
        if let row = try Row.fetchOne(select, arguments: [account, uid]) {
            var found = EventNameRow(id: row[0], name: row[1])
            if row[2] as Bool, found.name != name {
                // Registered by a segment before any event (`SegmentCompiler.registerUnseen`): the first event names it.
                try db.execute(sql: "UPDATE event_names SET name = ? WHERE id = ?", arguments: [name, found.id])
                found = EventNameRow(id: found.id, name: name)
            }
            eventNames[key] = found
            return found
        }
        let insert = try db.cachedStatement(sql: "INSERT INTO event_names (account_id, uid, name) VALUES (?, ?, ?)")
        try insert.execute(arguments: [account, uid, name])
        let created = EventNameRow(id: db.lastInsertedRowID, name: name)
        eventNames[key] = created
        return created
    }
}
