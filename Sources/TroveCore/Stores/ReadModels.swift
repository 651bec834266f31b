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
}

/// An event name as sent and normalized, how many events carry it, and when the last came.
public struct EventNameSummary: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var uid: String
    public var count: Int64
    public var lastSeenAt: Timestamp?
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
}

/// Ledger rows after a cursor; `next` is the cursor to pass next time.
public struct LedgerPage: Sendable {
    public var changes: [LedgerEntry]
    public var next: Int64
    public var computedAt: Timestamp?
}

/// Members in profile-id order; `next` is the cursor of the following page, nil at the end.
public struct PeoplePage: Sendable {
    public var identifiers: [CustomerIdentifiers]
    public var next: Int64?
}
