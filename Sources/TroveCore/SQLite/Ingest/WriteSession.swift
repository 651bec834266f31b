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

/// One write transaction shared by many requests (group commit). Applies ingest items and accumulates
/// what is cheaper to write once per transaction: catalog, warnings, event-name counts.
/// (`last_seen_at` is derived from the event log afterwards: `ActivityRollup`.)
///
/// Every `apply` validates before it writes: an `IngestError` is only ever thrown before the first write
/// of that item, so a refused item leaves no trace while the rest of the transaction goes on.
public final class WriteSession {
    /// The events one transaction inserted: how many, the last one's id (they are consecutive), and per
    /// profile the latest event time and newest event of each chain (`PersonChain`).
    struct EventsWritten: Sendable {
        var count = 0
        var firstID: Int64 = 0
        var lastID: Int64 = 0
        var latestByProfile: [Int64: ActivityRollup.Latest] = [:]
        /// Events per name and UTC hour (`event_counts`).
        var counts = CountTable()

        /// `prev`: the event's `prev_id` (`PersonChain`), nil when it is stored without one.
        mutating func record(id: Int64, profile: Int64, name: Int64, at time: Int64, prev: Int64?) {
            if count == 0 { firstID = id }
            count += 1
            lastID = id
            latestByProfile[profile, default: ActivityRollup.Latest()].add(id: id, at: time, prev: prev)
            counts.add(name: name, hour: EventCounts.hour(time))
        }
    }

    public let db: Database
    public let now: Timestamp
    var catalog = CatalogAccumulator()
    var warnings = WarningAccumulator()
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
    var eventNames: [AccountKey: (id: Int64, name: String)] = [:]
    /// The log's top id when this transaction first linked an event (`PersonChain`): with its own events,
    /// what the writer's heads reflect once it commits.
    var headsTop: Int64?

    typealias AccountKey = WriteCaches.Key

    init(db: Database, now: Timestamp, caches: WriteCaches = WriteCaches()) {
        self.db = db
        self.now = now
        self.caches = caches
    }

    func cachedProfileID(_ key: AccountKey) -> Int64? {
        caches.profiles[key] ?? profileIDs[key]
    }

    /// Writes the per-transaction aggregates; called once, just before commit.
    func flush() throws {
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

    static func propertiesText(_ members: [JSONMember]) -> String {
        members.isEmpty ? "{}" : String(decoding: JSONWriter.bytes(.object(members)), as: UTF8.self)
    }

    /// Merges key by key: a `.null` value removes the key, others replace or append.
    static func merge(_ stored: [JSONMember], _ updates: [JSONMember]) -> [JSONMember] {
        guard !stored.isEmpty else { return updates.filter { $0.value != .null } }
        var merged = stored
        var index: [String: Int] = [:]
        for (i, m) in merged.enumerated() { index[m.key] = i }
        var removed = false
        for u in updates {
            if let i = index[u.key] {
                if u.value == .null {
                    merged[i].key = ""
                    index[u.key] = nil
                    removed = true
                } else {
                    merged[i].value = u.value
                }
            } else if u.value != .null {
                index[u.key] = merged.count
                merged.append(u)
            }
        }
        if removed { merged.removeAll { $0.key.isEmpty } }
        return merged
    }

    static let maxProperties = 1000

    static func checkPropertyCount(_ members: [JSONMember]) throws(IngestError) {
        if members.count > maxProperties {
            throw .invalid("properties: \(members.count) top-level properties (after merging), more than \(maxProperties)")
        }
    }
}
