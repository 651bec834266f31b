import GRDB

extension CustomerID {
    func profileID(_ db: Database, account: Int64) throws -> Int64? {
        try lookup.profileID(db, account: account)
    }
}

extension ObjectLookup {
    /// The row id of the profile this names in the account, or nil. Cached statements: on a per-request path
    /// GRDB's preparation (its authorizer tracking what a statement reads) cost more than the lookup.
    func profileID(_ db: Database, account: Int64) throws -> Int64? {
        switch self {
        case .uid(let u): return try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM profiles WHERE account_id = ? AND uid = ?"), arguments: [account, u])
        case .email(let e):
            return try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM profiles WHERE account_id = ? AND email = ?"), arguments: [account, Identifiers.normalizeEmail(e)])
        case .id(let i): return try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM profiles WHERE account_id = ? AND id = ?"), arguments: [account, i])
        }
    }
}
