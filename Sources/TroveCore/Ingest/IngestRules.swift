/// The identity, merge and dedupe rules of ingest (contract §3 "profiles", "companies", "events"), once for
/// every engine, over the engine's `IngestRows`.
///
/// Every operation validates before it writes: an `IngestError` is only ever thrown before the first write
/// of that item, so a refused item leaves no trace while the rest of the transaction goes on.
extension IngestRows {

    // MARK: Profiles

    /// Finds the one profile an item's identifiers name, refusing identifiers that name two profiles.
    public func resolveProfile(account: Int64, uid: String?, email: String?, id: Int64?) throws -> StoredProfile? {
        let byUID = try uid.flatMap { try profile(account: account, uid: $0) }
        let byEmail = try email.flatMap { try profile(account: account, email: $0) }
        let byID = try id.flatMap { try profile(account: account, id: $0) }
        if let a = byUID, let b = byEmail, a.id != b.id {
            throw IngestError.invalid("email: \"\(email!)\" belongs to another profile than uid \"\(uid!)\"; nothing was stored")
        }
        if let a = byUID ?? byEmail, let b = byID, a.id != b.id {
            throw IngestError.invalid("id: names another profile than the uid or email; nothing was stored")
        }
        let found = byUID ?? byEmail ?? byID
        if let found, let uid, let storedUID = found.uid, storedUID != uid {
            throw IngestError.invalid("uid: the profile with this email or id has uid \"\(storedUID)\", not \"\(uid)\"; nothing was stored")
        }
        if found == nil, uid == nil, email == nil, let id {
            throw IngestError.notFound("id: no profile with id \(PublicID.encode(id))")
        }
        return found
    }

    public func upsertProfile(_ input: ProfileInput, account: Int64, onMissing: OnModelMissing = .create) throws -> ItemOutcome {
        let existing = try resolveProfile(account: account, uid: input.uid, email: input.email, id: input.id)
        if existing == nil {
            if onMissing == .ignore { return .skipped }
            guard input.uid != nil || (input.createsByEmail && input.email != nil) else {
                throw IngestError.invalid("uid: required to create a profile; no profile has this email or id")
            }
        }
        let properties = IngestMerge.merge(try StoredJSON.properties(existing?.properties, "profiles", id: existing?.id), input.properties)
        try IngestMerge.checkPropertyCount(properties)

        // Validate the company link before writing anything.
        var companyID = existing?.companyID
        var pendingCompany: PreparedCompany?
        switch input.company {
        case nil: break
        case .unlink: companyID = nil
        case .id(let id):
            guard let found = try company(account: account, id: id) else {
                throw IngestError.invalid("company_id: no company with id \(PublicID.encode(id))")
            }
            companyID = found.id
        case .uid(let uid):
            if let found = try company(account: account, uid: uid) {
                companyID = found.id
            } else {
                pendingCompany = PreparedCompany(existingID: nil, uid: uid, createdAt: nil, properties: [], catalog: [])
            }
        case .upsert(let c):
            do {
                pendingCompany = try prepareCompany(c, account: account)
            } catch let error as IngestError {
                throw error.at("company.")
            }
        }

        // Writes.
        if let pendingCompany { companyID = try writeCompany(pendingCompany, account: account) }
        let row = ProfileRow(
            uid: input.uid ?? existing?.uid, email: input.email ?? existing?.email, companyID: companyID,
            disabled: input.disabled ?? existing?.disabled ?? false, admin: input.admin ?? existing?.admin ?? false,
            createdAt: input.createdAt?.milliseconds ?? existing?.createdAt ?? now.milliseconds, properties: IngestMerge.text(properties))
        let rowID: Int64
        if let existing {
            try updateProfile(id: existing.id, account: account, row)
            rowID = existing.id
        } else {
            rowID = try insertProfile(row, account: account)
        }
        try markForMembership(.profile, rowID, account: account)
        profileStored(rowID, account: account)
        catalog.record(account: account, model: .profile, properties: input.properties)
        warnings.record(account: account, model: .profile, warnings: input.warnings, exampleUID: input.uid ?? existing?.uid ?? input.email)
        return .stored(rowID)
    }

    // MARK: Companies

    public func upsertCompany(_ input: CompanyInput, account: Int64, onMissing: OnModelMissing = .create) throws -> ItemOutcome {
        guard let prepared = try prepareCompany(input, account: account, onMissing: onMissing) else { return .skipped }
        let id = try writeCompany(prepared, account: account)
        companyStored(id, account: account)
        return .stored(id)
    }

    /// A company upsert checked and merged, not yet written; nil when it is missing and `onMissing` ignores it.
    func prepareCompany(_ input: CompanyInput, account: Int64, onMissing: OnModelMissing = .create) throws -> PreparedCompany? {
        let byUID = try input.uid.flatMap { try company(account: account, uid: $0) }
        let byID = try input.id.flatMap { try company(account: account, id: $0) }
        if let a = byUID, let b = byID, a.id != b.id {
            throw IngestError.invalid("id: names another company than uid \"\(input.uid!)\"; nothing was stored")
        }
        if byUID == nil, let b = byID, let uid = input.uid, b.uid != uid {
            throw IngestError.invalid("uid: the company with this id has uid \"\(b.uid)\", not \"\(uid)\"; nothing was stored")
        }
        let existing = byUID ?? byID
        if existing == nil {
            guard input.uid != nil else {
                throw IngestError.notFound("id: no company with id \(PublicID.encode(input.id ?? 0))")
            }
            if onMissing == .ignore { return nil }
        }
        let properties = IngestMerge.merge(try StoredJSON.properties(existing?.properties, "companies", id: existing?.id), input.properties)
        try IngestMerge.checkPropertyCount(properties)
        return PreparedCompany(
            existingID: existing?.id, uid: existing?.uid ?? input.uid!, createdAt: input.createdAt?.milliseconds ?? existing?.createdAt,
            properties: properties, catalog: input.properties, warnings: input.warnings)
    }

    func writeCompany(_ c: PreparedCompany, account: Int64) throws -> Int64 {
        let text = IngestMerge.text(c.properties)
        let id: Int64
        if let existing = c.existingID {
            try updateCompany(id: existing, account: account, createdAt: c.createdAt ?? now.milliseconds, properties: text)
            try markForMembership(.company, existing, account: account)  // its profiles' company conditions may change
            id = existing
        } else {
            id = try insertCompany(account: account, uid: c.uid, createdAt: c.createdAt ?? now.milliseconds, properties: text)
        }
        catalog.record(account: account, model: .company, properties: c.catalog)
        warnings.record(account: account, model: .company, warnings: c.warnings, exampleUID: c.uid)
        return id
    }

    // MARK: Events

    public func insertEvent(_ e: EventInput, account: Int64, onMissing: OnModelMissing = .create) throws -> ItemOutcome {
        // A duplicate must leave no trace, so with a dedupe key it is looked up before anything is created —
        // unless the profile and the name are already known (the common case): then the insert itself finds
        // the duplicate on the unique index, one index probe instead of two.
        let known = e.dedupeKey == nil ? nil : knownProfileAndName(e, account: account)
        if let key = e.dedupeKey, known == nil, let id = try eventID(account: account, dedupeKey: key) { return .duplicate(id) }
        let profileID: Int64
        let name: EventNameRow
        if let known {
            (profileID, name) = known
        } else {
            guard let found = try eventProfile(e, account: account, onMissing: onMissing) else { return .skipped }
            profileID = found
            name = try internEventName(account: account, uid: e.nameUID, name: e.name)
        }
        guard let eventID = try insertEventRow(e, account: account, profile: profileID, name: name) else {
            // Only the dedupe key can conflict.
            guard let key = e.dedupeKey, let id = try eventID(account: account, dedupeKey: key) else {
                throw IngestRowsError("an event insert stored nothing without a duplicate")
            }
            return .duplicate(id)
        }
        countName(name.id, account: account, at: e.timestamp.milliseconds)
        if !e.properties.isEmpty { catalog.record(account: account, model: .event, properties: e.properties) }
        if !e.warnings.isEmpty {
            warnings.record(account: account, model: .event, warnings: e.warnings, exampleUID: e.uid ?? e.email)
        }
        return .stored(eventID)
    }

    /// The event's profile: found by uid, email or id; an unknown uid (or, where the source allows it, an
    /// unknown email) creates it, unless `onMissing` ignores it (nil).
    func eventProfile(_ e: EventInput, account: Int64, onMissing: OnModelMissing) throws -> Int64? {
        if let uid = e.uid, e.email == nil, e.profileID == nil {
            if let hint = e.profileHint, let id = profileID(hinted: hint) { return id }
            if let id = try profileID(account: account, uid: uid) { return id }
        } else if let found = try resolveProfile(account: account, uid: e.uid, email: e.email, id: e.profileID) {
            return found.id
        }
        guard e.uid != nil || (e.createsByEmail && e.email != nil) else {
            throw IngestError.invalid("uid: required to create the event's profile; no profile has email \"\(e.email ?? "")\"")
        }
        if onMissing == .ignore { return nil }
        return try insertProfile(
            ProfileRow(uid: e.uid, email: e.email, companyID: nil, disabled: false, admin: false, createdAt: now.milliseconds, properties: "{}"),
            account: account)
    }
}

/// A company upsert checked and merged, not yet written.
struct PreparedCompany {
    var existingID: Int64?
    var uid: String
    var createdAt: Int64?
    var properties: [JSONMember]
    /// The properties as sent (for the catalog) and the warnings to record.
    var catalog: [JSONMember]
    var warnings: [IngestWarning] = []
}

/// How sent properties combine with stored ones (contract §4).
public enum IngestMerge {
    /// Merges key by key: a `.null` value removes the key, others replace or append.
    public static func merge(_ stored: [JSONMember], _ updates: [JSONMember]) -> [JSONMember] {
        guard !stored.isEmpty else { return updates.filter { $0.value != .null } }
        var merged = stored
        var index: [String: Int] = [:]
        for (i, m) in merged.enumerated() { index[m.key] = i }
        var removed = false
        for u in updates {
            if let i = index[u.key] {
                if u.value == .null {
                    merged[i].key = ""
                    index[u.key] = nil
                    removed = true
                } else {
                    merged[i].value = u.value
                }
            } else if u.value != .null {
                index[u.key] = merged.count
                merged.append(u)
            }
        }
        if removed { merged.removeAll { $0.key.isEmpty } }
        return merged
    }

    public static let maxProperties = 1000

    public static func checkPropertyCount(_ members: [JSONMember]) throws(IngestError) {
        if members.count > maxProperties {
            throw .invalid("properties: \(members.count) top-level properties (after merging), more than \(maxProperties)")
        }
    }

    /// The stored text of a properties object.
    public static func text(_ members: [JSONMember]) -> String {
        members.isEmpty ? "{}" : String(decoding: JSONWriter.bytes(.object(members)), as: UTF8.self)
    }
}

/// An engine's writer broke its own contract (a bug, not bad input): the transaction rolls back.
public struct IngestRowsError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
