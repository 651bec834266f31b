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

/// The erased person's values: their identifiers and every string among their properties and their events'
/// properties. Catalog examples, warnings and stored replies that quote one of them are wiped.
public struct PersonValues: Sendable, Equatable {
    public static let maxValues = 100_000
    public private(set) var strings: Set<String> = []

    public init() {}

    public mutating func add(_ value: String?) {
        guard let value, !value.isEmpty, strings.count < Self.maxValues else { return }
        strings.insert(value)
    }

    /// Every string inside a JSON value (object keys are property names, not the person's values).
    public mutating func add(_ json: JSON) {
        switch json {
        case .string(let s): add(s)
        case .array(let items): for item in items { add(item) }
        case .object(let members): for m in members { add(m.value) }
        default: break
        }
    }

    public mutating func formUnion(_ other: PersonValues) {
        for s in other.strings { add(s) }
    }

    /// Whether `text` is one of the values, or quotes one of at least `minQuoted` characters (a warning's
    /// detail, a stored reply): shorter ones are too common to tell the person by.
    public func quoted(in text: String) -> Bool {
        strings.contains(text) || strings.contains { $0.count >= Self.minQuoted && text.contains($0) }
    }

    public static let minQuoted = 4

    /// A stored list of catalog examples without the ones that are the person's values; nil when none was.
    public func kept(examples items: [JSON]) -> [JSON]? {
        let kept = items.filter { item in
            if case .string(let s) = item { return !quoted(in: s) }
            return true
        }
        return kept.count == items.count ? nil : kept
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
