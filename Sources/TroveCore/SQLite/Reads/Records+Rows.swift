import GRDB

/// Reading the record types from their rows.

extension ProfileRecord {
    /// The columns `init(row:)` reads, for a query over `profiles p`.
    static let columns = """
        p.id, p.uid, p.email, p.created_at, p.updated_at, \(ActivityRollup.lastSeenSQL(profile: "p.id")) AS last_seen_at,
        p.company_id, p.disabled, p.properties
        """

    init(row: Row) throws {
        try self.init(
            id: row["id"], uid: row["uid"], email: row["email"], createdAt: row["created_at"], updatedAt: row["updated_at"],
            lastSeenAt: row["last_seen_at"], companyID: row["company_id"], disabled: row["disabled"], properties: row["properties"])
    }
}

extension CompanyRecord {
    /// The columns `init(row:)` reads, for a query over `companies c`.
    static let columns = "c.id, c.uid, c.created_at, c.updated_at, c.properties"

    init(row: Row) throws {
        try self.init(id: row["id"], uid: row["uid"], createdAt: row["created_at"], updatedAt: row["updated_at"], properties: row["properties"])
    }
}

extension CustomerIdentifiers {
    static let columns = "p.id, p.uid, p.email"

    init(row: Row) {
        profileID = row["id"]
        uid = row["uid"]
        email = row["email"]
    }
}
