/// The read capabilities the API, the admin UI and the CLI use, as the seam an engine implements: typed in
/// and out, async, no rule above them but the SQL itself. The SQLite engine implements each with the reader
/// named beside it; a second engine implements the same protocols, and nothing above them changes.

/// Data management (contract §4): what normalization changed, the property catalog, event names. SQLite: `CatalogReader`.
public protocol CatalogStore: Sendable {
    func warnings(account: Int64, model: Model?) async throws -> [CatalogWarning]
    func properties(account: Int64, model: Model?) async throws -> [CatalogProperty]
    /// Most frequent first.
    func eventNames(account: Int64) async throws -> [EventNameSummary]
}

/// Single profiles and companies (contract §5). SQLite: `ObjectReader`.
public protocol ObjectStore: Sendable {
    func profile(account: Int64, _ lookup: ObjectLookup, expandCompany: Bool, expandSegments: Bool) async throws -> ProfileView
    func company(account: Int64, _ lookup: ObjectLookup) async throws -> CompanyRecord
}

/// A person's events newest first (contract §5). SQLite: `TimelineReader`.
public protocol TimelineStore: Sendable {
    func timeline(account: Int64, _ request: TimelineRequest) async throws -> TimelinePage
}

/// Erasure's reads (contract §5 forget) and the record of erasures. SQLite: `ErasureReader`.
public protocol ErasureStore: Sendable {
    func profileID(account: Int64, _ person: ObjectLookup) async throws -> Int64?
    func companyExists(account: Int64, _ company: Int64) async throws -> Bool
    /// The profiles linked to the company now.
    func profileIDs(account: Int64, company: Int64) async throws -> [Int64]
    /// Every event id of the profile, as a reader sees the log now, and the log's top id then.
    func eventIDs(account: Int64, profile: Int64) async throws -> PersonEventIDs
    /// Newest first.
    func deletions(account: Int64, limit: Int, before: Int64?) async throws -> Page<Deletion>
    /// After an erasure: the engine makes the erased bytes leave its logs soon.
    func erased()
}

/// The App API's customer reads (contract §7). SQLite: `CustomerReader`.
public protocol CustomerStore: Sendable {
    func byEmail(account: Int64, email: String) async throws -> [CustomerIdentifiers]
    /// Matching profiles in id order from the `start` cursor; `next` nil at the end.
    func search(account: Int64, filter: FilterNode?, start: String?, limit: Int) async throws -> PeoplePage
    func attributes(account: Int64, customer: CustomerID) async throws -> ProfileRecord
    /// The customers found, in request order.
    func attributes(account: Int64, ids: [CustomerID]) async throws -> [ProfileRecord]
}

/// Materialized membership (contract §5, §6): members now and as of a past time, the ledger, a customer's
/// segments, counts and membership pages. SQLite: `SegmentReader`.
public protocol MembershipStore: Sendable {
    func members(account: Int64, segment id: Int64, asOf: Timestamp?, limit: Int, before: Int64?) async throws -> SegmentMembers
    func changes(account: Int64, segment id: Int64, since: Int64, limit: Int) async throws -> LedgerPage
    func segmentsOf(account: Int64, customer: CustomerID) async throws -> [Segment]
    func customerCount(account: Int64, segment id: Int64) async throws -> Int64
    func membership(account: Int64, segment id: Int64, start: String?, limit: Int) async throws -> PeoplePage
}

extension CatalogReader: CatalogStore {}
extension ObjectReader: ObjectStore {}
extension CustomerReader: CustomerStore {}
extension TimelineReader: TimelineStore {}
extension ErasureReader: ErasureStore {}
extension SegmentReader: MembershipStore {}
