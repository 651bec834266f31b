import GRDB

/// Event inserts (contract §3 "events"): dedupe by `message_id`, the profile found or created, the name interned.
extension WriteSession {
    public func insertEvent(_ e: EventInput, account: Int64, onMissing: OnModelMissing = .create) throws -> ItemOutcome {
        // A duplicate must leave no trace, so with a dedupe key it is looked up before anything is created —
        // unless the profile and the name are already known (the common case): then the insert itself finds
        // the duplicate on the unique index, one index probe instead of two.
        let known = e.dedupeKey == nil ? nil : knownProfileAndName(e, account: account)
        if let key = e.dedupeKey, known == nil, let id = try existingEvent(account: account, key: key) { return .duplicate(id) }
        let profileID: Int64
        let name: (id: Int64, name: String)
        if let known {
            (profileID, name) = known
        } else {
            guard let found = try eventProfile(e, account: account, onMissing: onMissing) else { return .skipped }
            profileID = found
            name = try internEventName(account: account, uid: e.nameUID, name: e.name)
        }
        let head = try chainHead(profileID)
        let link = head.link(at: e.timestamp.milliseconds)
        let insert = try statement(.insertEvent)
        try insert.bind(1, account)
        try insert.bind(2, profileID)
        try insert.bind(3, name.id)
        try insert.bind(4, e.timestamp.milliseconds)
        try insert.bind(5, now.milliseconds)
        try insert.bind(6, Int64(e.source.rawValue))
        try insert.bind(7, e.dedupeKey)
        try insert.bind(8, name.name == e.name ? nil : e.name)
        try insert.bind(9, text: e.propertiesJSON)
        try insert.bind(10, link)
        try insert.execute(db)
        if db.changesCount == 0 {  // only the dedupe key can conflict
            guard let key = e.dedupeKey, let id = try existingEvent(account: account, key: key) else {
                throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "event insert changed nothing without a duplicate")
            }
            return .duplicate(id)
        }
        let eventID = db.lastInsertedRowID
        linked(head, event: eventID, profile: profileID, at: e.timestamp.milliseconds, prev: link)
        events.record(id: eventID, profile: profileID, name: name.id, at: e.timestamp.milliseconds, prev: link)
        let usage = nameUsage[name.id] ?? (0, e.timestamp.milliseconds)
        nameUsage[name.id] = (usage.count + 1, max(usage.last, e.timestamp.milliseconds))
        if !e.properties.isEmpty { catalog.record(account: account, model: .event, properties: e.properties) }
        if !e.warnings.isEmpty {
            warnings.record(account: account, model: .event, warnings: e.warnings, exampleUID: e.uid ?? e.email)
        }
        return .stored(eventID)
    }

    /// Deletes the events matching `condition` and keeps what is derived from the log exact: their rolled-up
    /// counts come out, watermarks above the new top id come down, and the writer forgets its record
    /// (`WriteQueue.commit`). Every deletion of events goes through here.
    func deleteEvents(where condition: String, arguments: StatementArguments) throws {
        try EventCounts.subtract(eventsWhere: condition, arguments: arguments, db)
        try uncount(sql: "SELECT name_id, count(*) FROM events WHERE \(condition) GROUP BY name_id", arguments: arguments)
        try ReportSteps.forget(eventsWhere: condition, arguments: arguments, db)
        try db.execute(sql: "DELETE FROM events WHERE \(condition)", arguments: arguments)
        try EventCounts.lowerWatermarks(db)
        try ReportSteps.lowerWatermarks(db)
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

    func existingEvent(account: Int64, key: String) throws -> Int64? {
        let s = try statement(.eventByDedupeKey)
        try s.bind(1, account)
        try s.bind(2, key)
        return try s.fetchInt64(db)
    }

    /// The profile and interned name of an event by uid when both are cached, without touching the database.
    func knownProfileAndName(_ e: EventInput, account: Int64) -> (Int64, (id: Int64, name: String))? {
        guard let uid = e.uid, e.email == nil, e.profileID == nil,
            let profile = cachedProfileID(AccountKey(account: account, key: uid))
        else { return nil }
        let nameKey = AccountKey(account: account, key: e.nameUID)
        guard let name = caches.eventNames[nameKey] ?? eventNames[nameKey] else { return nil }
        return (profile, name)
    }

    /// The event's profile: found by uid, email or id; an unknown uid creates it.
    func eventProfile(_ e: EventInput, account: Int64, onMissing: OnModelMissing) throws -> Int64? {
        if let uid = e.uid, e.email == nil, e.profileID == nil {
            // The common case, served from this transaction's cache when the uid was seen already.
            let key = AccountKey(account: account, key: uid)
            if let id = cachedProfileID(key) { return id }
            let s = try statement(.profileByUID)
            try s.bind(1, account)
            try s.bind(2, uid)
            if let id = try s.fetchInt64(db) {
                profileIDs[key] = id
                return id
            }
        } else if let found = try resolveProfile(account: account, uid: e.uid, email: e.email, id: e.profileID) {
            return found.id
        }
        guard e.uid != nil || (e.createsByEmail && e.email != nil) else {
            throw IngestError.invalid("uid: required to create the event's profile; no profile has email \"\(e.email ?? "")\"")
        }
        if onMissing == .ignore { return nil }
        return try insertProfile(
            account: account, uid: e.uid, email: e.email, companyID: nil, disabled: false, admin: false, createdAt: now, properties: "{}")
    }

    func internEventName(account: Int64, uid: String, name: String) throws -> (id: Int64, name: String) {
        let key = AccountKey(account: account, key: uid)
        if let cached = caches.eventNames[key] ?? eventNames[key] { return cached }
        let select = try db.cachedStatement(sql: "SELECT id, name FROM event_names WHERE account_id = ? AND uid = ?")
        if let row = try Row.fetchOne(select, arguments: [account, uid]) {
            let found = (id: row[0] as Int64, name: row[1] as String)
            eventNames[key] = found
            return found
        }
        let insert = try db.cachedStatement(sql: "INSERT INTO event_names (account_id, uid, name) VALUES (?, ?, ?)")
        try insert.execute(arguments: [account, uid, name])
        let created = (id: db.lastInsertedRowID, name: name)
        eventNames[key] = created
        return created
    }
}
