import GRDB

/// The result of one ingested item.
public enum ItemOutcome: Sendable, Equatable {
    /// Stored (created or updated); the row id.
    case stored(Int64)
    /// A repeated `message_id`: nothing stored; the first event's row id.
    case duplicate(Int64)
    /// `on_model_missing: "ignore"` and the model did not exist.
    case skipped
    case failed(IngestError)

    public var rowID: Int64? {
        switch self {
        case .stored(let id), .duplicate(let id): return id
        default: return nil
        }
    }
}

/// One write transaction shared by many requests (group commit): the SQLite engine's `IngestRows`, under
/// the ingest rules (`IngestRules`). Accumulates what is cheaper to write once per transaction: catalog,
/// warnings, event-name counts.
/// (`last_seen_at` is derived from the event log afterwards: `ActivityRollup`.)
public final class WriteSession: IngestRows {
    /// The events one transaction inserted: how many, the last one's id (they are consecutive), and per
    /// profile the latest event time and newest event of each chain (`PersonChain`).
    struct EventsWritten: Sendable {
        var count = 0
        var firstID: Int64 = 0
        var lastID: Int64 = 0
        var latestByProfile = ProfileTable(filler: ActivityRollup.Latest())
        /// Events per name and UTC hour (`event_counts`).
        var counts = CountTable()

        /// `prev`: the event's `prev_id` (`PersonChain`), nil when it is stored without one.
        mutating func record(id: Int64, profile: Int64, name: Int64, at time: Int64, prev: Int64?) {
            if count == 0 { firstID = id }
            count += 1
            lastID = id
            latestByProfile.update(profile, initial: ActivityRollup.Latest()) { $0.add(id: id, at: time, prev: prev) }
            counts.add(name: name, hour: EventCounts.hour(time))
        }
    }

    public let db: Database
    public let now: Timestamp
    public var catalog = CatalogAccumulator()
    public var warnings = WarningAccumulator()
    var hotStatements = [RawStatement?](repeating: nil, count: HotStatement.allCases.count)
    /// What this transaction's events mean for `last_seen_at`, rolled up later (`ActivityRollup`).
    var events = EventsWritten()
    var nameUsage: [Int64: (count: Int64, last: Int64)] = [:]
    /// Events were deleted: what the writer remembers of the log no longer holds (`WriteQueue.commit`).
    var deletedEvents = false
    /// Profiles and companies stored (created or updated) in this transaction, for the ingest metrics.
    var stored = (profiles: 0, companies: 0)
    /// Profiles created or updated in this transaction (→ account), for the Customer.io destination.
    var changedProfiles: [Int64: Int64] = [:]
    /// Ids resolved in earlier, committed transactions, and the ones learned in this one.
    let caches: WriteCaches
    var profileIDs: [AccountKey: Int64] = [:]
    var eventNames: [AccountKey: EventNameRow] = [:]
    /// The log's top id when this transaction first linked an event (`PersonChain`): with its own events,
    /// what the writer's heads reflect once it commits.
    var headsTop: Int64?
    /// Events waiting for a multi-row insert while a chunk of items is applied (nil: each goes at once).
    var heldEvents: HeldEvents?

    init(db: Database, now: Timestamp, caches: WriteCaches = WriteCaches()) {
        self.db = db
        self.now = now
        self.caches = caches
    }

    public func prepare(_ items: [Ingestor.Item], account: Int64) throws {
        if items.count > 1, items.contains(where: { if case .event = $0 { true } else { false } }) { try holdEvents() }
    }

    public func finishChunk() throws {
        try writeHeldEvents()
        heldEvents = nil
    }

    func cachedProfileID(_ key: AccountKey) -> Int64? {
        caches.profileID(key) ?? profileIDs[key]
    }

    public func profileID(hinted hint: ProfileHint) -> Int64? {
        hint.epoch == caches.epoch ? hint.id : nil
    }

    /// Writes the per-transaction aggregates; called once, just before commit.
    func flush() throws {
        try writeHeldEvents()
        if !nameUsage.isEmpty {
            let update = try db.cachedStatement(
                sql: "UPDATE event_names SET count = count + ?1, last_seen_at = max(coalesce(last_seen_at, ?2), ?2) WHERE id = ?3")
            for (id, usage) in nameUsage { try update.execute(arguments: [usage.count, usage.last, id]) }
        }
        try catalog.flush(db, now: now)
        try warnings.flush(db, now: now)
        if events.count > 0 { try WebhookOutbox.enqueueEventsCreated(db, from: events.firstID, through: events.lastID, now: now) }
        try CustomerIOOutbox.enqueue(db, session: self)
    }
}
