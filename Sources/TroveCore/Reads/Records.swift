import GRDB

/// A profile as stored: its fixed fields and its properties exactly as normalized (contract §5).
public struct ProfileRecord: Sendable, Equatable {
    public var id: Int64
    public var uid: String?
    public var email: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var lastSeenAt: Timestamp?
    public var companyID: Int64?
    public var disabled: Bool
    public var properties: [JSONMember]

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

/// A company as stored.
public struct CompanyRecord: Sendable, Equatable {
    public var id: Int64
    public var uid: String
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var properties: [JSONMember]

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

/// One page of a list read newest first: `before` is the cursor for the next page, nil at the end.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var limit: Int
    public var before: Int64?

    /// A full page may have more after it; its last id is the cursor.
    init(_ items: [Item], limit: Int, id: (Item) -> Int64) {
        self.items = items
        self.limit = limit
        before = items.count == limit ? items.last.map(id) : nil
    }
}

/// How a person is named to Customer.io's API: uid as `id`, email, and the row id as `cio_id`.
public struct CustomerIdentifiers: Sendable, Equatable {
    public var profileID: Int64
    public var uid: String?
    public var email: String?

    static let columns = "p.id, p.uid, p.email"

    public init(profileID: Int64, uid: String?, email: String?) {
        self.profileID = profileID
        self.uid = uid
        self.email = email
    }

    init(row: Row) {
        profileID = row["id"]
        uid = row["uid"]
        email = row["email"]
    }
}
