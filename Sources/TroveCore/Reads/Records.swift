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

    /// From stored columns (any engine); `properties` is the stored JSON object's text.
    public init(id: Int64, uid: String?, email: String?, createdAt: Int64, updatedAt: Int64, lastSeenAt: Int64?, companyID: Int64?,
                disabled: Bool, properties: String) throws(StoredDataError) {
        self.id = id
        self.uid = uid
        self.email = email
        self.createdAt = Timestamp(milliseconds: createdAt)
        self.updatedAt = Timestamp(milliseconds: updatedAt)
        self.lastSeenAt = lastSeenAt.map(Timestamp.init(milliseconds:))
        self.companyID = companyID
        self.disabled = disabled
        self.properties = try StoredJSON.properties(properties, "profiles", id: id)
    }
}

/// A company as stored.
public struct CompanyRecord: Sendable, Equatable {
    public var id: Int64
    public var uid: String
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var properties: [JSONMember]

    /// From stored columns (any engine); `properties` is the stored JSON object's text.
    public init(id: Int64, uid: String, createdAt: Int64, updatedAt: Int64, properties: String) throws(StoredDataError) {
        self.id = id
        self.uid = uid
        self.createdAt = Timestamp(milliseconds: createdAt)
        self.updatedAt = Timestamp(milliseconds: updatedAt)
        self.properties = try StoredJSON.properties(properties, "companies", id: id)
    }
}

/// One page of a list read newest first: `before` is the cursor for the next page, nil at the end.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var limit: Int
    public var before: Int64?

    /// A full page may have more after it; its last id is the cursor.
    public init(_ items: [Item], limit: Int, id: (Item) -> Int64) {
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

    public init(profileID: Int64, uid: String?, email: String?) {
        self.profileID = profileID
        self.uid = uid
        self.email = email
    }
}
