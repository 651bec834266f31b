import GRDB

/// Profile and company rows on SQLite (`IngestRows`); the rules that decide them are `IngestRules`.
extension WriteSession {
    static let profileColumns = "id, uid, email, company_id, disabled, admin, created_at, properties"

    static func storedProfile(_ row: Row) -> StoredProfile {
        StoredProfile(
            id: row[0], uid: row[1], email: row[2], companyID: row[3], disabled: row[4], admin: row[5], createdAt: row[6], properties: row[7])
    }

    public func profile(account: Int64, uid: String) throws -> StoredProfile? {
        let s = try db.cachedStatement(sql: "SELECT \(Self.profileColumns) FROM profiles WHERE account_id = ? AND uid = ?")
        return try Row.fetchOne(s, arguments: [account, uid]).map(Self.storedProfile)
    }

    public func profile(account: Int64, email: String) throws -> StoredProfile? {
        let s = try db.cachedStatement(sql: "SELECT \(Self.profileColumns) FROM profiles WHERE account_id = ? AND email = ?")
        return try Row.fetchOne(s, arguments: [account, email]).map(Self.storedProfile)
    }

    public func profile(account: Int64, id: Int64) throws -> StoredProfile? {
        let s = try db.cachedStatement(sql: "SELECT \(Self.profileColumns) FROM profiles WHERE account_id = ? AND id = ?")
        return try Row.fetchOne(s, arguments: [account, id]).map(Self.storedProfile)
    }

    /// Served from the writer's caches when the uid was seen already.
    public func profileID(account: Int64, uid: String) throws -> Int64? {
        let key = AccountKey(account: account, key: uid)
        if let id = cachedProfileID(key) { return id }
        let s = try statement(.profileByUID)
        try s.bind(1, account)
        try s.bind(2, uid)
        guard let id = try s.fetchInt64(db) else { return nil }
        profileIDs[key] = id
        return id
    }

    public func insertProfile(_ p: ProfileRow, account: Int64) throws -> Int64 {
        let insert = try statement(.insertProfile)
        try insert.bind(1, account)
        try insert.bind(2, p.uid)
        try insert.bind(3, p.email)
        try insert.bind(4, p.companyID)
        try insert.bind(5, Int64(p.disabled ? 1 : 0))
        try insert.bind(6, Int64(p.admin ? 1 : 0))
        try insert.bind(7, p.createdAt)
        try insert.bind(8, now.milliseconds)
        try insert.bind(9, p.properties)
        try insert.execute(db)
        let id = db.lastInsertedRowID
        if let uid = p.uid { profileIDs[AccountKey(account: account, key: uid)] = id }
        changedProfiles[id] = account
        return id
    }

    public func updateProfile(id: Int64, account: Int64, _ p: ProfileRow) throws {
        let update = try db.cachedStatement(
            sql: """
                UPDATE profiles SET uid = ?, email = ?, company_id = ?, disabled = ?, admin = ?, created_at = ?,
                    updated_at = ?, properties = ? WHERE id = ?
                """)
        try update.execute(arguments: [p.uid, p.email, p.companyID, p.disabled, p.admin, p.createdAt, now.milliseconds, p.properties, id])
    }

    public func markForMembership(_ kind: MembershipDirtyKind, _ id: Int64, account: Int64) throws {
        let mark = try db.cachedStatement(sql: "INSERT OR IGNORE INTO membership_dirty (kind, object_id) VALUES (?, ?)")
        try mark.execute(arguments: [kind.rawValue, id])
    }

    public func profileStored(_ id: Int64, account: Int64) {
        changedProfiles[id] = account
        stored.profiles += 1
    }

    public func companyStored(_ id: Int64, account: Int64) {
        stored.companies += 1
    }

    // MARK: Companies

    public func company(account: Int64, uid: String) throws -> StoredCompany? {
        let s = try db.cachedStatement(sql: "SELECT id, uid, created_at, properties FROM companies WHERE account_id = ? AND uid = ?")
        return try Row.fetchOne(s, arguments: [account, uid]).map { StoredCompany(id: $0[0], uid: $0[1], createdAt: $0[2], properties: $0[3]) }
    }

    public func company(account: Int64, id: Int64) throws -> StoredCompany? {
        let s = try db.cachedStatement(sql: "SELECT id, uid, created_at, properties FROM companies WHERE account_id = ? AND id = ?")
        return try Row.fetchOne(s, arguments: [account, id]).map { StoredCompany(id: $0[0], uid: $0[1], createdAt: $0[2], properties: $0[3]) }
    }

    public func insertCompany(account: Int64, uid: String, createdAt: Int64, properties: String) throws -> Int64 {
        let insert = try db.cachedStatement(
            sql: "INSERT INTO companies (account_id, uid, created_at, updated_at, properties) VALUES (?, ?, ?, ?, ?)")
        try insert.execute(arguments: [account, uid, createdAt, now.milliseconds, properties])
        return db.lastInsertedRowID
    }

    public func updateCompany(id: Int64, account: Int64, createdAt: Int64, properties: String) throws {
        let update = try db.cachedStatement(sql: "UPDATE companies SET created_at = ?, updated_at = ?, properties = ? WHERE id = ?")
        try update.execute(arguments: [createdAt, now.milliseconds, properties, id])
    }
}
