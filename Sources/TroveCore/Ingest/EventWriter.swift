import GRDB

/// Event inserts (SPEC §3 "events"): dedupe by `message_id`, the profile found or created, the name interned.
extension WriteSession {
    public func insertEvent(_ e: EventInput, account: Int64, onMissing: OnModelMissing = .create) throws -> ItemOutcome {
        if let key = e.dedupeKey {
            let s = try statement(.eventByDedupeKey)
            s.bind(1, account)
            s.bind(2, key)
            if let id = try s.fetchInt64(db) { return .duplicate(id) }
        }
        guard let profileID = try eventProfile(e, account: account, onMissing: onMissing) else { return .skipped }
        let name = try internEventName(account: account, uid: e.nameUID, name: e.name)
        let insert = try statement(.insertEvent)
        insert.bind(1, account)
        insert.bind(2, profileID)
        insert.bind(3, name.id)
        insert.bind(4, e.timestamp.milliseconds)
        insert.bind(5, now.milliseconds)
        insert.bind(6, Int64(e.source.rawValue))
        insert.bind(7, e.dedupeKey)
        insert.bind(8, name.name == e.name ? nil : e.name)
        insert.bind(9, text: e.propertiesJSON)
        try insert.execute(db)
        let eventID = db.lastInsertedRowID

        insertedEvents += 1
        let usage = nameUsage[name.id] ?? (0, e.timestamp.milliseconds)
        nameUsage[name.id] = (usage.count + 1, max(usage.last, e.timestamp.milliseconds))
        if !e.properties.isEmpty { catalog.record(account: account, model: .event, properties: e.properties) }
        if !e.warnings.isEmpty {
            warnings.record(account: account, model: .event, warnings: e.warnings, exampleUID: e.uid ?? e.email)
        }
        return .stored(eventID)
    }

    /// The event's profile: found by uid, email or id; an unknown uid creates it.
    func eventProfile(_ e: EventInput, account: Int64, onMissing: OnModelMissing) throws -> Int64? {
        if let uid = e.uid, e.email == nil, e.profileID == nil {
            // The common case, served from this transaction's cache when the uid was seen already.
            let key = AccountKey(account: account, key: uid)
            if let id = cachedProfileID(key) { return id }
            let s = try statement(.profileByUID)
            s.bind(1, account)
            s.bind(2, uid)
            if let id = try s.fetchInt64(db) {
                profileIDs[key] = id
                return id
            }
        } else if let found = try resolveProfile(account: account, uid: e.uid, email: e.email, id: e.profileID) {
            return found.id
        }
        guard let uid = e.uid else {
            throw IngestError.invalid("uid: required to create the event's profile; no profile has email \"\(e.email ?? "")\"")
        }
        if onMissing == .ignore { return nil }
        return try insertProfile(
            account: account, uid: uid, email: e.email, companyID: nil, disabled: false, admin: false, createdAt: now, properties: "{}")
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
