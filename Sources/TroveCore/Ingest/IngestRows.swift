/// The row operations the ingest rules (`IngestRules.swift`) need inside one write transaction: what an
/// engine's writer implements (SQLite: `WriteSession`). Synchronous, because a transaction's items are
/// applied in order and each may read what the one before wrote. Nothing here decides anything: which
/// profile an item names, what may be created, how properties merge, what counts as a duplicate are the
/// rules' (contract §3–§4, §8).
public protocol IngestRows: AnyObject {
    /// The transaction's time: `updated_at`, `received_at`, a created row's default `created_at`.
    var now: Timestamp { get }
    /// What the transaction taught about property names, types and examples, and its warnings; the engine
    /// writes both once before commit.
    var catalog: CatalogAccumulator { get set }
    var warnings: WarningAccumulator { get set }

    func profile(account: Int64, uid: String) throws -> StoredProfile?
    func profile(account: Int64, email: String) throws -> StoredProfile?
    func profile(account: Int64, id: Int64) throws -> StoredProfile?
    /// The id of the profile with this uid: the hot lookup of event ingest (engines cache it).
    func profileID(account: Int64, uid: String) throws -> Int64?
    /// The hinted id if the engine handed the hint out and still vouches for it (`ProfileHint`), else nil.
    func profileID(hinted hint: ProfileHint) -> Int64?
    func company(account: Int64, uid: String) throws -> StoredCompany?
    func company(account: Int64, id: Int64) throws -> StoredCompany?

    func insertProfile(_ row: ProfileRow, account: Int64) throws -> Int64
    func updateProfile(id: Int64, account: Int64, _ row: ProfileRow) throws
    func insertCompany(account: Int64, uid: String, createdAt: Int64, properties: String) throws -> Int64
    func updateCompany(id: Int64, account: Int64, createdAt: Int64, properties: String) throws
    /// The membership evaluator must look at this profile (or every profile of this company) again, in the
    /// same transaction as the change (contract §6). Events need no mark: the evaluator reads the log.
    func markForMembership(_ kind: MembershipDirtyKind, _ id: Int64, account: Int64) throws
    /// A profile was stored (created or updated): counted, and told to the Customer.io destination.
    func profileStored(_ id: Int64, account: Int64)
    func companyStored(_ id: Int64, account: Int64)

    /// The event with this `message_id` already stored, if any.
    func eventID(account: Int64, dedupeKey: String) throws -> Int64?
    /// The profile and interned name of an event by uid when the engine knows both without a query (its
    /// caches), or nil.
    func knownProfileAndName(_ e: EventInput, account: Int64) -> (profile: Int64, name: EventNameRow)?
    /// The name's interned row, created on first use.
    func internEventName(account: Int64, uid: String, name: String) throws -> EventNameRow
    /// Stores the event; nil when its dedupe key is taken (nothing stored).
    func insertEventRow(_ e: EventInput, account: Int64, profile: Int64, name: EventNameRow) throws -> Int64?
    /// Events stored under a name in this transaction (its count and latest time), written once before commit.
    func countName(_ name: Int64, account: Int64, at time: Int64)
}

/// A profile as stored, as the rules read it.
public struct StoredProfile: Sendable {
    public var id: Int64
    public var uid: String?
    public var email: String?
    public var companyID: Int64?
    public var disabled: Bool
    public var admin: Bool
    public var createdAt: Int64
    /// The stored JSON object's text.
    public var properties: String

    public init(id: Int64, uid: String?, email: String?, companyID: Int64?, disabled: Bool, admin: Bool, createdAt: Int64, properties: String) {
        self.id = id
        self.uid = uid
        self.email = email
        self.companyID = companyID
        self.disabled = disabled
        self.admin = admin
        self.createdAt = createdAt
        self.properties = properties
    }
}

/// A company as stored.
public struct StoredCompany: Sendable {
    public var id: Int64
    public var uid: String
    public var createdAt: Int64
    public var properties: String

    public init(id: Int64, uid: String, createdAt: Int64, properties: String) {
        self.id = id
        self.uid = uid
        self.createdAt = createdAt
        self.properties = properties
    }
}

/// A profile's columns as the rules decided them, for an insert or an update (`updated_at` is `now`).
public struct ProfileRow: Sendable {
    public var uid: String?
    public var email: String?
    public var companyID: Int64?
    public var disabled: Bool
    public var admin: Bool
    public var createdAt: Int64
    /// The JSON object's text.
    public var properties: String
}

/// An interned event name: its id, and the name as first sent (`display_name` is stored only when an event
/// spells it otherwise).
public struct EventNameRow: Sendable, Equatable {
    public var id: Int64
    public var name: String

    public init(id: Int64, name: String) {
        self.id = id
        self.name = name
    }
}

/// What `membership_dirty` holds: a profile to evaluate again, or a company whose profiles are.
public enum MembershipDirtyKind: Int64, Sendable { case profile = 0, company = 1 }
