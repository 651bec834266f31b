/// The typed results of the read capabilities (`ReadStores.swift`): engine-neutral values.

/// What normalization changed or dropped, per model, property and kind.
public struct CatalogWarning: Sendable, Equatable {
    public var kind: String
    public var model: String
    public var prop: String
    public var count: Int64
    public var firstAt: Timestamp
    public var lastAt: Timestamp
    public var exampleUID: String?
    public var detail: String?

    public init(kind: String, model: String, prop: String, count: Int64, firstAt: Timestamp, lastAt: Timestamp, exampleUID: String?, detail: String?) {
        self.kind = kind
        self.model = model
        self.prop = prop
        self.count = count
        self.firstAt = firstAt
        self.lastAt = lastAt
        self.exampleUID = exampleUID
        self.detail = detail
    }
}

/// A property seen on a model: its normalized name, the name as first sent, its types and a few values.
public struct CatalogProperty: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var prop: String
    public var model: String
    public var types: [String]
    public var examples: [JSON]
    public var lastSeenAt: Timestamp?

    /// From stored columns (any engine): `types` and `examples` are the stored JSON arrays' text.
    public init(id: Int64, name: String, prop: String, model: String, types: String, examples: String, lastSeenAt: Int64?) throws(StoredDataError) {
        guard case .array(let list) = try StoredJSON.parse(examples, "properties", "examples", id: id) else {
            throw StoredDataError(table: "properties", column: "examples", id: id, reason: "not a JSON array")
        }
        self.id = id
        self.name = name
        self.prop = prop
        self.model = model
        self.types = try StoredJSON.strings(types, "properties", "types", id: id)
        self.examples = list
        self.lastSeenAt = lastSeenAt.map(Timestamp.init(milliseconds:))
    }
}

/// An event name as sent and normalized, how many events carry it, and when the last came.
public struct EventNameSummary: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var uid: String
    public var count: Int64
    public var lastSeenAt: Timestamp?

    public init(id: Int64, name: String, uid: String, count: Int64, lastSeenAt: Timestamp?) {
        self.id = id
        self.name = name
        self.uid = uid
        self.count = count
        self.lastSeenAt = lastSeenAt
    }
}

/// A profile with, when asked, its company (`expand[company]`; nil inside when it has none) and the
/// segments it is in now (`expand[segments]`).
public struct ProfileView: Sendable {
    public var profile: ProfileRecord
    public var company: CompanyRecord??
    public var segments: [Segment]?

    public init(profile: ProfileRecord, company: CompanyRecord?? = nil, segments: [Segment]? = nil) {
        self.profile = profile
        self.company = company
        self.segments = segments
    }
}

/// Members newest first, as of now (`computedAt`) or a past time.
public struct SegmentMembers: Sendable {
    public var page: Page<ProfileRecord>
    public var asOf: Timestamp?
    public var computedAt: Timestamp?

    public init(page: Page<ProfileRecord>, asOf: Timestamp?, computedAt: Timestamp?) {
        self.page = page
        self.asOf = asOf
        self.computedAt = computedAt
    }
}

/// One row of a segment's ledger.
public struct LedgerEntry: Sendable, Equatable {
    public var id: Int64
    public var profileID: Int64
    /// Nil once the profile is gone.
    public var profileUID: String?
    public var entered: Bool
    public var at: Timestamp
    public var version: Int64

    public init(id: Int64, profileID: Int64, profileUID: String?, entered: Bool, at: Timestamp, version: Int64) {
        self.id = id
        self.profileID = profileID
        self.profileUID = profileUID
        self.entered = entered
        self.at = at
        self.version = version
    }
}

/// Ledger rows after a cursor; `next` is the cursor to pass next time.
public struct LedgerPage: Sendable {
    public var changes: [LedgerEntry]
    public var next: Int64
    public var computedAt: Timestamp?

    public init(changes: [LedgerEntry], next: Int64, computedAt: Timestamp?) {
        self.changes = changes
        self.next = next
        self.computedAt = computedAt
    }
}

/// Members in profile-id order; `next` is the cursor of the following page, nil at the end.
public struct PeoplePage: Sendable {
    public var identifiers: [CustomerIdentifiers]
    public var next: Int64?

    public init(identifiers: [CustomerIdentifiers], next: Int64?) {
        self.identifiers = identifiers
        self.next = next
    }
}
