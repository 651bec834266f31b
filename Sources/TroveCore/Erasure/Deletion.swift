/// A record that an erasure happened (contract §5 forget): what kind of thing, when, and how much went —
/// never the erased person's identifiers or values.
public struct Deletion: Sendable, Equatable {
    public enum Kind: String, Sendable { case profile, company }
    /// Who asked: the `/v3` API, the Track API's customer delete, the CLI, or a company erased with its people.
    public enum Source: String, Sendable { case api, track, cli, company }

    public var id: Int64
    public var kind: Kind
    public var source: Source
    public var createdAt: Timestamp
    /// When the last notification naming the person (a `segment.exited` webhook, the Customer.io delete)
    /// was sent or given up, and wiped; nil while one is still queued.
    public var completedAt: Timestamp?
    public var profiles: Int64
    public var events: Int64
    public var memberships: Int64
    public var ledgerRows: Int64
    /// Queued or logged deliveries about the person that were dropped.
    public var deliveries: Int64
    /// Notifications queued by the erasure itself.
    public var notifications: Int64

    public init(id: Int64, kind: Kind, source: Source, createdAt: Timestamp, completedAt: Timestamp?, profiles: Int64, events: Int64,
                memberships: Int64, ledgerRows: Int64, deliveries: Int64, notifications: Int64) {
        self.id = id
        self.kind = kind
        self.source = source
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.profiles = profiles
        self.events = events
        self.memberships = memberships
        self.ledgerRows = ledgerRows
        self.deliveries = deliveries
        self.notifications = notifications
    }

    /// A stored `deletions` row, its kind and source checked (both engines read the table through this).
    public init(id: Int64, storedKind: String, storedSource: String, createdAt: Int64, completedAt: Int64?, profiles: Int64, events: Int64,
                memberships: Int64, ledgerRows: Int64, deliveries: Int64, notifications: Int64) throws(StoredDataError) {
        guard let kind = Kind(rawValue: storedKind), let source = Source(rawValue: storedSource) else {
            throw StoredDataError(table: "deletions", column: "kind", id: id, reason: "unknown kind or source")
        }
        self.init(id: id, kind: kind, source: source, createdAt: Timestamp(milliseconds: createdAt),
                  completedAt: completedAt.map(Timestamp.init(milliseconds:)), profiles: profiles, events: events, memberships: memberships,
                  ledgerRows: ledgerRows, deliveries: deliveries, notifications: notifications)
    }
}

/// A company erasure's answer: the company that went, how many of its people were unlinked (kept), and the
/// deletion that records it (`profiles`: the people erased with it).
public struct CompanyErasureReceipt: Sendable, Equatable {
    public var companyID: Int64
    public var unlinked: Int64
    public var deletion: Deletion

    public init(companyID: Int64, unlinked: Int64, deletion: Deletion) {
        self.companyID = companyID
        self.unlinked = unlinked
        self.deletion = deletion
    }
}

/// An erasure's answer: the profile that went and the deletion that records it.
public struct ErasureReceipt: Sendable, Equatable {
    public var profileID: Int64
    public var deletion: Deletion

    public init(profileID: Int64, deletion: Deletion) {
        self.profileID = profileID
        self.deletion = deletion
    }
}

/// One batch of an erasure's events: how many went, the strings among their properties, and the log's top
/// id afterwards (events written later all have higher ids).
public struct ErasedEvents: Sendable {
    public var count: Int64
    public var values: PersonValues
    public var top: Int64

    public init(count: Int64, values: PersonValues, top: Int64) {
        self.count = count
        self.values = values
        self.top = top
    }
}

/// A person's events as an erasure lists them: their ids, and the log's top id when they were listed.
public struct PersonEventIDs: Sendable {
    public var ids: [Int64]
    public var top: Int64

    public init(ids: [Int64], top: Int64) {
        self.ids = ids
        self.top = top
    }
}

/// A person as their erasure's last step gets them (`Erasure`): the values and count of the events that went
/// in batches, and the id above which events may have arrived since.
public struct PersonErasure: Sendable {
    public var profile: Int64
    public var values: PersonValues
    public var events: Int64
    public var eventsAfter: Int64

    public init(profile: Int64, values: PersonValues, events: Int64, eventsAfter: Int64) {
        self.profile = profile
        self.values = values
        self.events = events
        self.eventsAfter = eventsAfter
    }
}

/// A person's last step done: the receipt, and every value of theirs seen, for the scrub.
public struct ErasedProfile: Sendable {
    public var receipt: ErasureReceipt
    public var values: PersonValues

    public init(receipt: ErasureReceipt, values: PersonValues) {
        self.receipt = receipt
        self.values = values
    }
}
