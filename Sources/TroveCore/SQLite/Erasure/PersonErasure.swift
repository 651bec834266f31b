import GRDB

/// Every event id of a profile: both of its chains walked from their newest (`PersonChain`), and the events
/// stored before them (`events_late`). A link that does not descend to an older event of the same profile
/// ends a walk.
enum PersonEvents {
    static func ids(_ db: Database, profile: Int64) throws -> [Int64] {
        var ids: [Int64] = []
        let heads = try TimelineReader.heads(db, profile: profile)
        let walk = try db.cachedStatement(sql: "SELECT prev_id, profile_id FROM events WHERE id = ?")
        var next = heads.ordered
        while next > 0, next < (ids.last ?? .max), let row = try Row.fetchOne(walk, arguments: [next]), row[1] == profile,
              let prev = row[0] as Int64?, prev >= 0 {
            ids.append(next)
            next = prev
        }
        try TimelineReader.walkOutOfOrder(db, profile: profile, from: heads.late) { ids.append($0.id) }
        ids += try Int64.fetchAll(
            db, sql: "SELECT id FROM events INDEXED BY events_late WHERE profile_id = ? AND prev_id IS NULL", arguments: [profile])
        return ids
    }
}

/// The erasure's writes (`Erasure`), each in one transaction of the writer.
extension WriteSession {
    public func deletePersonEvents(_ ids: [Int64], profile: Int64, account: Int64) throws -> ErasedEvents {
        var erased = ErasedEvents(count: 0, values: PersonValues(), top: 0)
        if !ids.isEmpty {
            let condition = "id IN (\(ids.map(String.init).joined(separator: ","))) AND profile_id = ? AND account_id = ?"
            let arguments: StatementArguments = [profile, account]
            for text in try String?.fetchAll(db, sql: "SELECT properties FROM events WHERE \(condition)", arguments: arguments) {
                erased.count += 1
                if let text, text != "{}", let json = try? JSONParser.parse(Array(text.utf8)) { erased.values.add(json) }
            }
            if erased.count > 0 { try deleteEvents(where: condition, arguments: arguments) }
        }
        erased.top = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0
        return erased
    }

    /// One person at a time: each statement a B-tree probe in process; but the deliveries, found by the
    /// person named in their JSON, go for everyone at once.
    public func eraseProfiles(_ people: [PersonErasure], account: Int64, source: Deletion.Source) throws -> [ErasedProfile] {
        let dropped = try dropDeliveries(of: people.map(\.profile), account: account)
        return try people.compactMap { try eraseProfile($0, account: account, source: source, droppedDeliveries: dropped[$0.profile] ?? 0) }
    }

    /// The webhook deliveries about those of `profiles` still here, queued or logged before: counted per
    /// person and dropped, each statement one pass over the account's deliveries (a pass per person made a
    /// company's erasure quadratic).
    private func dropDeliveries(of profiles: [Int64], account: Int64) throws -> [Int64: Int64] {
        let here = try Int64.fetchAll(
            db, sql: "SELECT id FROM profiles WHERE account_id = ? AND id IN (SELECT value FROM json_each(?))",
            arguments: [account, JSONWriter.string(.array(profiles.map { JSON.int($0) }))])
        guard !here.isEmpty else { return [:] }
        let byPublicID = Dictionary(here.map { (PublicID.encode($0), $0) }, uniquingKeysWith: { first, _ in first })
        let condition = """
            endpoint_id IN (SELECT id FROM webhook_endpoints WHERE account_id = ?) AND json_extract(data, '$.profile.id') IN (SELECT value FROM json_each(?))
            """
        let arguments: StatementArguments = [account, JSONWriter.string(.array(byPublicID.keys.sorted().map { JSON.string($0) }))]
        var dropped: [Int64: Int64] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT json_extract(data, '$.profile.id'), count(*) FROM webhook_deliveries WHERE \(condition) GROUP BY 1", arguments: arguments)
        {
            if let id = byPublicID[row[0] as String] { dropped[id] = row[1] }
        }
        if !dropped.isEmpty { try run("DELETE FROM webhook_deliveries WHERE \(condition)", arguments) }
        return dropped
    }

    private func eraseProfile(_ erasure: PersonErasure, account: Int64, source: Deletion.Source, droppedDeliveries: Int64) throws -> ErasedProfile? {
        let (id, events, eventsAfter) = (erasure.profile, erasure.events, erasure.eventsAfter)
        guard let person = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT uid, email, properties FROM profiles WHERE id = ? AND account_id = ?"), arguments: [id, account])
        else { return nil }
        var values = erasure.values
        values.add(person[0] as String?)
        values.add(person[1] as String?)
        if let text = person[2] as String?, let json = try? JSONParser.parse(Array(text.utf8)) { values.add(json) }
        // Events that arrived for the person while the batches ran: all above `eventsAfter`, a short range.
        let arrived = try Int64.fetchAll(
            db.cachedStatement(sql: "SELECT id FROM events WHERE id > ? AND profile_id = ?"), arguments: [eventsAfter, id])
        let late = try deletePersonEvents(arrived, profile: id, account: account)
        values.formUnion(late.values)

        let nowMS = now.milliseconds
        try run("INSERT INTO deletions (account_id, kind, source, created_at) VALUES (?, 'profile', ?, ?)", [account, source.rawValue, nowMS])
        let deletion = db.lastInsertedRowID

        // Deliveries about the person queued or logged before: dropped (the webhooks' by `dropDeliveries`).
        var dropped = droppedDeliveries
        try run("DELETE FROM customerio_deliveries WHERE profile_id = ? AND account_id = ?", [id, account])
        dropped += Int64(db.changesCount)

        // A `segment.exited` for each segment the person was in, from ledger rows written for it.
        let ledgerID = try SegmentChangeOutbox.lastLedgerID(db)
        let lastDelivery = try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(id), 0) FROM webhook_deliveries")) ?? 0
        try run(
            """
            INSERT INTO segment_changes (segment_id, profile_id, entered, at, version)
            SELECT m.segment_id, m.profile_id, 0, ?2, s.built_version FROM segment_members m JOIN segments s ON s.id = m.segment_id
            WHERE m.profile_id = ?1 ORDER BY m.segment_id
            """, [id, nowMS])
        let memberships = Int64(db.changesCount)
        if memberships > 0 {
            try run("UPDATE segments SET member_count = member_count - 1 WHERE id IN (SELECT segment_id FROM segment_members WHERE profile_id = ?)", [id])
            try run("DELETE FROM segment_members WHERE profile_id = ?", [id])
            try WebhookOutbox.enqueueSegmentChanges(db, after: ledgerID, now: now)
            try run("UPDATE webhook_deliveries SET deletion_id = ? WHERE id > ?", [deletion, lastDelivery])
        }
        try CustomerIOOutbox.enqueueDeletion(db, account: account, profile: id, deletion: deletion, now: now, cache: caches)

        // The ledger as if the person had never been a member; the rest of what names them.
        try run("DELETE FROM segment_changes WHERE profile_id = ?", [id])
        let ledgerRows = Int64(db.changesCount) - memberships
        try run("DELETE FROM membership_dirty WHERE kind = ? AND object_id = ?", [MembershipDirtyKind.profile.rawValue, id])
        try run("DELETE FROM profile_activity WHERE profile_id = ?", [id])
        try run("DELETE FROM profiles WHERE id = ?", [id])

        try run(
            """
            UPDATE deletions SET profiles = 1, events = ?2, memberships = ?3, ledger_rows = ?4, deliveries = ?5,
                notifications = (SELECT count(*) FROM webhook_deliveries WHERE deletion_id = ?1)
                    + (SELECT count(*) FROM customerio_deliveries WHERE deletion_id = ?1),
                completed_at = CASE WHEN NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE deletion_id = ?1 AND state = 'pending')
                    AND NOT EXISTS (SELECT 1 FROM customerio_deliveries WHERE deletion_id = ?1 AND state = 'pending') THEN created_at END
            WHERE id = ?1
            """, [deletion, events + late.count, memberships, ledgerRows, dropped])
        if let uid = person[0] as String? { profileIDs[AccountKey(account: account, key: uid)] = nil }
        caches.reset()
        forgetHeads()
        let record = try DeletionRecords.one(db, id: deletion)
        return ErasedProfile(receipt: ErasureReceipt(profileID: id, deletion: record), values: values)
    }

    public func scrubTraces(account: Int64, values: PersonValues) throws {
        try PersonTraces.scrub(db, account: account, values: values)
    }

    /// A statement run once per person erased: compiled once per connection.
    private func run(_ sql: String, _ arguments: StatementArguments) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

/// What is left of erased people outside their rows: catalog examples, warnings and stored batch replies
/// that quote one of their values.
enum PersonTraces {
    static func scrub(_ db: Database, account: Int64, values: PersonValues) throws {
        guard !values.strings.isEmpty else { return }
        for row in try Row.fetchAll(db, sql: "SELECT id, examples FROM properties WHERE account_id = ?", arguments: [account]) {
            guard case .array(let items)? = try? JSONParser.parse(Array((row[1] as String).utf8)) else { continue }
            if let kept = values.kept(examples: items) {
                try db.execute(sql: "UPDATE properties SET examples = ? WHERE id = ?", arguments: [JSONWriter.string(.array(kept)), row[0] as Int64])
            }
        }
        for row in try Row.fetchAll(db, sql: "SELECT id, example_uid, detail FROM warnings WHERE account_id = ?", arguments: [account]) {
            let example = row[1] as String?, detail = row[2] as String?
            let wipeExample = example.map(values.quoted(in:)) ?? false
            let wipeDetail = detail.map(values.quoted(in:)) ?? false
            if wipeExample || wipeDetail {
                try db.execute(
                    sql: "UPDATE warnings SET example_uid = CASE WHEN ?2 THEN NULL ELSE example_uid END, detail = CASE WHEN ?3 THEN NULL ELSE detail END WHERE id = ?1",
                    arguments: [row[0] as Int64, wipeExample, wipeDetail])
            }
        }
        for row in try Row.fetchAll(db, sql: "SELECT key, CAST(response AS TEXT) FROM idempotency_keys WHERE account_id = ?", arguments: [account]) {
            if values.quoted(in: row[1] as String? ?? "") {
                try db.execute(sql: "DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?", arguments: [account, row[0] as String])
            }
        }
    }
}

extension WriteSession {
    public func eraseCompany(_ id: Int64, account: Int64, erasedProfiles: Int64) throws -> CompanyErasureReceipt? {
        guard let company = try Row.fetchOne(db, sql: "SELECT uid, properties FROM companies WHERE id = ? AND account_id = ?", arguments: [id, account])
        else { return nil }
        var values = PersonValues()
        values.add(company[0] as String?)
        if let text = company[1] as String?, let json = try? JSONParser.parse(Array(text.utf8)) { values.add(json) }
        // Its people stay, unlinked; their company conditions are evaluated again.
        try db.execute(
            sql: "INSERT OR IGNORE INTO membership_dirty (kind, object_id) SELECT ?, id FROM profiles WHERE company_id = ?",
            arguments: [MembershipDirtyKind.profile.rawValue, id])
        try db.execute(sql: "UPDATE profiles SET company_id = NULL WHERE company_id = ?", arguments: [id])
        let unlinked = Int64(db.changesCount)
        try db.execute(sql: "DELETE FROM membership_dirty WHERE kind = ? AND object_id = ?", arguments: [MembershipDirtyKind.company.rawValue, id])
        try db.execute(sql: "DELETE FROM companies WHERE id = ?", arguments: [id])
        try PersonTraces.scrub(db, account: account, values: values)
        try db.execute(
            sql: "INSERT INTO deletions (account_id, kind, source, created_at, completed_at, profiles) VALUES (?1, 'company', 'api', ?2, ?2, ?3)",
            arguments: [account, now.milliseconds, erasedProfiles])
        let record = try DeletionRecords.one(db, id: db.lastInsertedRowID)
        return CompanyErasureReceipt(companyID: id, unlinked: unlinked, deletion: record)
    }
}
