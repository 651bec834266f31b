import GRDB

/// Upserts of profiles and companies (contract §3 "profiles", "companies").
extension WriteSession {
    struct StoredProfile {
        var id: Int64
        var uid: String?
        var email: String?
        var companyID: Int64?
        var disabled: Bool
        var admin: Bool
        var createdAt: Int64
        var properties: String

        init(_ row: Row) {
            id = row[0]; uid = row[1]; email = row[2]; companyID = row[3]
            disabled = row[4]; admin = row[5]; createdAt = row[6]; properties = row[7]
        }
    }

    static let profileColumns = "id, uid, email, company_id, disabled, admin, created_at, properties"

    func profile(account: Int64, uid: String) throws -> StoredProfile? {
        let s = try db.cachedStatement(sql: "SELECT \(Self.profileColumns) FROM profiles WHERE account_id = ? AND uid = ?")
        return try Row.fetchOne(s, arguments: [account, uid]).map(StoredProfile.init)
    }

    func profile(account: Int64, email: String) throws -> StoredProfile? {
        let s = try db.cachedStatement(sql: "SELECT \(Self.profileColumns) FROM profiles WHERE account_id = ? AND email = ?")
        return try Row.fetchOne(s, arguments: [account, email]).map(StoredProfile.init)
    }

    func profile(account: Int64, id: Int64) throws -> StoredProfile? {
        let s = try db.cachedStatement(sql: "SELECT \(Self.profileColumns) FROM profiles WHERE account_id = ? AND id = ?")
        return try Row.fetchOne(s, arguments: [account, id]).map(StoredProfile.init)
    }

    /// Finds the one profile an item's identifiers name, refusing identifiers that name two profiles.
    func resolveProfile(account: Int64, uid: String?, email: String?, id: Int64?) throws -> StoredProfile? {
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
        let properties = Self.merge(try StoredJSON.properties(existing?.properties, "profiles", id: existing?.id), input.properties)
        try Self.checkPropertyCount(properties)

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
        let text = Self.propertiesText(properties)
        let rowID: Int64
        if let existing {
            let update = try db.cachedStatement(
                sql: """
                    UPDATE profiles SET uid = ?, email = ?, company_id = ?, disabled = ?, admin = ?, created_at = ?,
                        updated_at = ?, properties = ? WHERE id = ?
                    """)
            try update.execute(arguments: [
                input.uid ?? existing.uid, input.email ?? existing.email, companyID, input.disabled ?? existing.disabled,
                input.admin ?? existing.admin, input.createdAt?.milliseconds ?? existing.createdAt, now.milliseconds, text,
                existing.id,
            ])
            rowID = existing.id
        } else {
            rowID = try insertProfile(
                account: account, uid: input.uid, email: input.email, companyID: companyID, disabled: input.disabled ?? false,
                admin: input.admin ?? false, createdAt: input.createdAt ?? now, properties: text)
        }
        try markForMembership(.profile, rowID)
        changedProfiles[rowID] = account
        let exampleUID = input.uid ?? existing?.uid ?? input.email
        catalog.record(account: account, model: .profile, properties: input.properties)
        warnings.record(account: account, model: .profile, warnings: input.warnings, exampleUID: exampleUID)
        stored.profiles += 1
        return .stored(rowID)
    }

    func insertProfile(
        account: Int64, uid: String?, email: String?, companyID: Int64?, disabled: Bool, admin: Bool, createdAt: Timestamp,
        properties: String
    ) throws -> Int64 {
        let insert = try statement(.insertProfile)
        try insert.bind(1, account)
        try insert.bind(2, uid)
        try insert.bind(3, email)
        try insert.bind(4, companyID)
        try insert.bind(5, Int64(disabled ? 1 : 0))
        try insert.bind(6, Int64(admin ? 1 : 0))
        try insert.bind(7, createdAt.milliseconds)
        try insert.bind(8, now.milliseconds)
        try insert.bind(9, properties)
        try insert.execute(db)
        let id = db.lastInsertedRowID
        if let uid { profileIDs[AccountKey(account: account, key: uid)] = id }
        changedProfiles[id] = account
        return id
    }

    enum MembershipDirtyKind: Int64 { case profile = 0, company = 1 }

    /// Tells the membership evaluator to re-check this profile (or every profile of this company), in the
    /// same transaction as the change (contract §6). Events need no mark: the evaluator reads the log.
    func markForMembership(_ kind: MembershipDirtyKind, _ id: Int64) throws {
        let mark = try db.cachedStatement(sql: "INSERT OR IGNORE INTO membership_dirty (kind, object_id) VALUES (?, ?)")
        try mark.execute(arguments: [kind.rawValue, id])
    }

    // MARK: Companies

    struct StoredCompany {
        var id: Int64
        var uid: String
        var createdAt: Int64
        var properties: String
    }

    struct PreparedCompany {
        var existingID: Int64?
        var uid: String
        var createdAt: Int64?
        var properties: [JSONMember]
        /// The properties as sent (for the catalog) and the warnings to record.
        var catalog: [JSONMember]
        var warnings: [IngestWarning] = []
    }

    func company(account: Int64, uid: String) throws -> StoredCompany? {
        let s = try db.cachedStatement(sql: "SELECT id, uid, created_at, properties FROM companies WHERE account_id = ? AND uid = ?")
        return try Row.fetchOne(s, arguments: [account, uid]).map { StoredCompany(id: $0[0], uid: $0[1], createdAt: $0[2], properties: $0[3]) }
    }

    func company(account: Int64, id: Int64) throws -> StoredCompany? {
        let s = try db.cachedStatement(sql: "SELECT id, uid, created_at, properties FROM companies WHERE account_id = ? AND id = ?")
        return try Row.fetchOne(s, arguments: [account, id]).map { StoredCompany(id: $0[0], uid: $0[1], createdAt: $0[2], properties: $0[3]) }
    }

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
        let properties = Self.merge(try StoredJSON.properties(existing?.properties, "companies", id: existing?.id), input.properties)
        try Self.checkPropertyCount(properties)
        return PreparedCompany(
            existingID: existing?.id, uid: existing?.uid ?? input.uid!, createdAt: input.createdAt?.milliseconds ?? existing?.createdAt,
            properties: properties, catalog: input.properties, warnings: input.warnings)
    }

    func writeCompany(_ c: PreparedCompany, account: Int64) throws -> Int64 {
        let text = Self.propertiesText(c.properties)
        let id: Int64
        if let existing = c.existingID {
            let update = try db.cachedStatement(sql: "UPDATE companies SET created_at = ?, updated_at = ?, properties = ? WHERE id = ?")
            try update.execute(arguments: [c.createdAt ?? now.milliseconds, now.milliseconds, text, existing])
            try markForMembership(.company, existing)  // its profiles' company conditions may change
            id = existing
        } else {
            let insert = try db.cachedStatement(
                sql: "INSERT INTO companies (account_id, uid, created_at, updated_at, properties) VALUES (?, ?, ?, ?, ?)")
            try insert.execute(arguments: [account, c.uid, c.createdAt ?? now.milliseconds, now.milliseconds, text])
            id = db.lastInsertedRowID
        }
        catalog.record(account: account, model: .company, properties: c.catalog)
        warnings.record(account: account, model: .company, warnings: c.warnings, exampleUID: c.uid)
        return id
    }

    public func upsertCompany(_ input: CompanyInput, account: Int64, onMissing: OnModelMissing = .create) throws -> ItemOutcome {
        guard let prepared = try prepareCompany(input, account: account, onMissing: onMissing) else { return .skipped }
        stored.companies += 1
        return .stored(try writeCompany(prepared, account: account))
    }
}
