import GRDB

/// Reading the record types from their rows.

extension ProfileRecord {
    /// The columns `init(row:)` reads, for a query over `profiles p`.
    static let columns = """
        p.id, p.uid, p.email, p.created_at, p.updated_at, \(ActivityRollup.lastSeenSQL(profile: "p.id")) AS last_seen_at,
        p.company_id, p.disabled, p.properties
        """

    init(row: Row) throws {
        id = row["id"]
        uid = row["uid"]
        email = row["email"]
        createdAt = Timestamp(milliseconds: row["created_at"])
        updatedAt = Timestamp(milliseconds: row["updated_at"])
        lastSeenAt = (row["last_seen_at"] as Int64?).map(Timestamp.init(milliseconds:))
        companyID = row["company_id"]
        disabled = row["disabled"]
        properties = try StoredJSON.properties(row["properties"], "profiles", id: id)
    }
}

extension CompanyRecord {
    /// The columns `init(row:)` reads, for a query over `companies c`.
    static let columns = "c.id, c.uid, c.created_at, c.updated_at, c.properties"

    init(row: Row) throws {
        id = row["id"]
        uid = row["uid"]
        createdAt = Timestamp(milliseconds: row["created_at"])
        updatedAt = Timestamp(milliseconds: row["updated_at"])
        properties = try StoredJSON.properties(row["properties"], "companies", id: id)
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
