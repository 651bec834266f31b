/// The write side of ingest as the seam an engine implements. Every source (hooks, batches, imports, the
/// Track API, Customer.io webhooks) parses and normalizes above it, once for every engine (`Ingestor`,
/// `TrackAPI`, `CustomerIOSource`, `NDJSONImporter`), and hands typed inputs to one write transaction here.
/// The engine decides how transactions are grouped (SQLite: the group-commit `WriteQueue`) and keeps its
/// derived tables (activity, counts) current after them.
public protocol IngestStore: Sendable {
    var clock: TroveClock { get }
    /// Runs `work` in a write transaction, possibly shared with other callers' work (each caller's work
    /// commits or rolls back as a whole). `weight`: how many items it writes, for pacing.
    func write<T: Sendable>(weight: Int, _ work: @escaping @Sendable (any IngestWrites) throws -> T) async throws -> T
    /// Brings the derived tables up to the last commit (imports, tests).
    func catchUp() async throws
    /// Waits for the background work started by commits to finish (a graceful stop).
    func settled() async
    /// Asks for the derived tables to be brought up to date soon (a tail left by a crash).
    func requestRollup()
    /// Before an import of about `expected` events into `account`: the store may load at once what their
    /// lookups will need, and hand the importer a directory of uids to stamp events with (SQLite: every
    /// uid's profile id, read off the writer).
    @discardableResult
    func prepareForEvents(account: Int64, expected: Int) async throws -> (any ProfileDirectory)?
}

extension IngestStore {
    @discardableResult
    public func prepareForEvents(account: Int64, expected: Int) async throws -> (any ProfileDirectory)? { nil }

    public func write<T: Sendable>(_ work: @escaping @Sendable (any IngestWrites) throws -> T) async throws -> T {
        try await write(weight: 1, work)
    }
}

/// What one ingest transaction may do. The identity, merge and dedupe rules of contract §4–§5 and §8 are
/// applied here, on normalized inputs; a bad item throws `IngestError` and leaves nothing written.
public protocol IngestWrites {
    /// Before a chunk of items: an engine may read what they name at once (PostgreSQL, where every read is a
    /// round trip). The rules then ask for each row as usual.
    func prepare(_ items: [Ingestor.Item], account: Int64) throws
    /// After the chunk, before anything else reads: an engine writes what it held back (SQLite: events,
    /// inserted many rows to a statement).
    func finishChunk() throws
    func upsertProfile(_ input: ProfileInput, account: Int64, onMissing: OnModelMissing) throws -> ItemOutcome
    func upsertCompany(_ input: CompanyInput, account: Int64, onMissing: OnModelMissing) throws -> ItemOutcome
    func insertEvent(_ input: EventInput, account: Int64, onMissing: OnModelMissing) throws -> ItemOutcome
    /// An event with no profile yet, kept under its `anonymous_id`.
    func insertAnonymousEvent(_ input: EventInput, anonymousID: String, account: Int64) throws -> ItemOutcome
    /// Moves that visitor's anonymous events of the last `days` days to the profile; returns how many.
    @discardableResult
    func mergeAnonymousEvents(_ anonymousID: String, into profile: Int64, account: Int64, days: Int64) throws -> Int
    /// The profile a customer id names, if any.
    func profileID(_ customer: CustomerID, account: Int64) throws -> Int64?
    /// Up to `limit` events older than `cutoff` (and the anonymous ones); returns how many went.
    func deleteEvents(before cutoff: Timestamp, limit: Int) throws -> Int
    /// Up to `limit` anonymous events older than `cutoff`; returns how many went.
    func deleteAnonymousEvents(before cutoff: Timestamp, limit: Int) throws -> Int
    /// An erasure's batch (`Erasure`): those of `ids` that are events of the profile go; returns how many,
    /// and the strings among their properties.
    func deletePersonEvents(_ ids: [Int64], profile: Int64, account: Int64) throws -> ErasedEvents
    /// An erasure's last step (`Erasure`) for several people at once: for each profile still there, its events
    /// above `eventsAfter` (written while the batches ran) go with everything else of it but the traces its
    /// values left (`scrubTraces`, done once for the lot). Those erased, in the order given.
    func eraseProfiles(_ people: [PersonErasure], account: Int64, source: Deletion.Source) throws -> [ErasedProfile]
    /// What is left of erased people outside their rows: catalog examples, warnings and stored batch replies
    /// that quote one of their values (`PersonValues.quoted(in:)`).
    func scrubTraces(account: Int64, values: PersonValues) throws
    /// A company erasure's last step: its remaining people unlinked, the company gone and recorded; nil when
    /// it is gone already.
    func eraseCompany(_ id: Int64, account: Int64, erasedProfiles: Int64) throws -> CompanyErasureReceipt?
    /// The reply stored for this Idempotency-Key within its 24 hours, if any.
    func idempotentReply(account: Int64, key: String) throws -> BatchReply?
    func saveIdempotentReply(account: Int64, key: String, route: String, reply: BatchReply) throws
}

extension IngestWrites {
    /// Nothing to read ahead (SQLite: a lookup is a B-tree probe in process).
    public func prepare(_ items: [Ingestor.Item], account: Int64) throws {}
    public func finishChunk() throws {}

    public func apply(_ item: Ingestor.Item, account: Int64, onMissing: OnModelMissing) throws -> ItemOutcome {
        switch item {
        case .profile(let p): return try upsertProfile(p, account: account, onMissing: onMissing)
        case .company(let c): return try upsertCompany(c, account: account, onMissing: onMissing)
        case .event(let e): return try insertEvent(e, account: account, onMissing: onMissing)
        }
    }

    /// Applies items in order. A bad item fails alone (`.failed`); any other error propagates, so the
    /// transaction rolls back and nothing half-written commits.
    public func apply(_ items: [Ingestor.Item], account: Int64, onMissing: OnModelMissing) throws -> [ItemOutcome] {
        try prepare(items, account: account)
        var outcomes: [ItemOutcome] = []
        outcomes.reserveCapacity(items.count)
        for item in items {
            do {
                outcomes.append(try apply(item, account: account, onMissing: onMissing))
            } catch let error as IngestError {
                outcomes.append(.failed(error))
            }
        }
        try finishChunk()
        return outcomes
    }
}
