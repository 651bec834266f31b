import Foundation
import NIOCore
import PostgresNIO
import TroveCore

/// One ingest transaction on PostgreSQL: the engine's `IngestRows` under the ingest rules (`IngestRules`),
/// run on a writer thread over a `BlockingConnection` between BEGIN and COMMIT (`PostgresIngestStore`).
///
/// Round trips are kept few: uid → profile id and event names come from the writer's caches; a chunk's
/// `message_id`s are looked up at once (`prepare`); events are buffered with ids taken from the sequence in
/// blocks, and loaded before commit with one `COPY`, together with what derives from them — the hourly
/// counts' and the membership marks' rows, the names' totals — set-based in the same transaction (a profile's
/// last seen is read from the events themselves). (SQLite derives those
/// after the fact, behind a watermark, because its one writer pays for every dirtied page; here they commit
/// with the events, so readers need no tail and several writers need no watermark.)
final class PostgresWriteSession: IngestRows, IngestWrites {
    let connection: BlockingConnection
    let now: Timestamp
    var catalog = CatalogAccumulator()
    var warnings = WarningAccumulator()
    let caches: PostgresWriteCaches
    /// Ids learned in this transaction, merged into the caches only after it commits.
    var learnedProfiles: [PostgresWriteCaches.Key: Int64] = [:]
    /// Profiles taken from the caches here, as they were cached; profiles read here with their account's
    /// newest deletion id as that read saw it; profiles created here (`checkProfiles`).
    var cachedProfiles: [PostgresWriteCaches.Key: PostgresWriteCaches.Profile] = [:]
    var profilesReadAt: [AccountRow: Int64] = [:]
    var createdProfiles: Set<AccountRow> = []
    /// Per account, its newest deletion id when `checkProfiles` found every profile given events here.
    var profilesExistedAt: [Int64: Int64] = [:]
    var learnedNames: [PostgresWriteCaches.Key: EventNameRow] = [:]
    /// Events to insert before commit. A keyed one's key was free when looked up; another transaction
    /// taking it meanwhile makes the insert fail (unique violation), and the store runs this one again.
    var pending: [PendingEvent] = []
    /// Dedupe keys looked up in this transaction: the event that holds one (stored or pending), or nil when
    /// it is free. Forgotten when events are moved or deleted in the transaction.
    var dedupeKeys: [PostgresWriteCaches.Key: Int64?] = [:]
    /// The profiles given events here; per (account, name, hour) how many.
    var withEvents: Set<AccountRow> = []
    var counts: [CountKey: Int64] = [:]
    var nameUsage: [AccountRow: (count: Int64, last: Int64)] = [:]
    var dirty: Set<DirtyKey> = []
    /// Rows written to `event_count_deltas` (for the store's folds).
    var countRows = 0
    var stored = (profiles: 0, companies: 0, events: 0)
    /// Profiles created or updated (→ account), for the Customer.io destination.
    var changedProfiles: [Int64: Int64] = [:]
    /// The events written, in order: what `event.created` announces.
    var written: [AccountRow] = []
    /// A profile was erased: the writers' caches are cleared once this commits.
    var forgetProfiles = false
    /// Profiles and companies read or written in this transaction (`Memo`).
    var memo = Memo()

    struct AccountRow: Hashable { var account: Int64; var id: Int64 }
    struct CountKey: Hashable { var account: Int64; var name: Int64; var hour: Int64 }
    struct DirtyKey: Hashable { var account: Int64; var kind: Int64; var id: Int64 }
    struct PendingEvent {
        var account: Int64, id: Int64, profile: Int64, name: Int64, timestamp: Int64, source: Int64
        var dedupeKey: String?
        var displayName: String?
        var properties: String?
    }

    /// Runs its body on another connection, outside this transaction: what it writes is committed at once.
    typealias Outside = (_ body: (BlockingConnection) throws -> Void) throws -> Void
    let outside: Outside

    init(connection: BlockingConnection, now: Timestamp, caches: PostgresWriteCaches, outside: @escaping Outside) {
        self.connection = connection
        self.now = now
        self.caches = caches
        self.outside = outside
    }

    // MARK: Events

    func eventID(account: Int64, dedupeKey: String) throws -> Int64? {
        let key = PostgresWriteCaches.Key(account: account, key: dedupeKey)
        if let known = dedupeKeys[key] { return known }
        let id = try connection.query("SELECT id FROM events WHERE account_id = \(account) AND dedupe_key = \(dedupeKey)").first?.decode(Int64.self)
        dedupeKeys[key] = .some(id)
        return id
    }

    func knownProfileAndName(_ e: EventInput, account: Int64) -> (profile: Int64, name: EventNameRow)? {
        guard let uid = e.uid, e.email == nil, e.profileID == nil else { return nil }
        let key = PostgresWriteCaches.Key(account: account, key: uid)
        guard let profile = learnedProfiles[key] ?? cachedProfile(key) else { return nil }
        let nameKey = PostgresWriteCaches.Key(account: account, key: e.nameUID)
        guard let name = learnedNames[nameKey] ?? caches.eventName(nameKey) else { return nil }
        return (profile, name)
    }

    /// A profile's id from the writers' caches, noted with when it was last seen to exist.
    func cachedProfile(_ key: PostgresWriteCaches.Key) -> Int64? {
        guard let cached = caches.profile(key) else { return nil }
        cachedProfiles[key] = cached
        return cached.id
    }

    /// What the caches learn once this transaction commits: the ids learned here, and those created or given
    /// events here stamped with when `checkProfiles` saw them exist.
    var profilesToCache: [PostgresWriteCaches.Key: PostgresWriteCaches.Profile] {
        func existedAt(_ key: PostgresWriteCaches.Key, _ id: Int64) -> Int64? {
            let row = AccountRow(account: key.account, id: id)
            return withEvents.contains(row) || createdProfiles.contains(row) ? profilesExistedAt[key.account] : nil
        }
        var entries: [PostgresWriteCaches.Key: PostgresWriteCaches.Profile] = [:]
        for (key, id) in learnedProfiles { entries[key] = .init(id: id, existedAt: existedAt(key, id)) }
        for (key, cached) in cachedProfiles where learnedProfiles[key] == nil {
            if let seen = existedAt(key, cached.id), seen != cached.existedAt { entries[key] = .init(id: cached.id, existedAt: seen) }
        }
        return entries
    }

    /// Created on first use; a name another transaction is creating at the same moment is waited for and read.
    func internEventName(account: Int64, uid: String, name: String) throws -> EventNameRow {
        let key = PostgresWriteCaches.Key(account: account, key: uid)
        if let cached = learnedNames[key] ?? caches.eventName(key) { return cached }
        let row = try connection.query(
            """
            INSERT INTO event_names (account_id, uid, name) VALUES (\(account), \(uid), \(name))
            ON CONFLICT (account_id, uid) DO NOTHING RETURNING id, name
            """
        ).first ?? connection.query("SELECT id, name FROM event_names WHERE account_id = \(account) AND uid = \(uid)").first!
        let (id, stored) = try row.decode((Int64, String).self)
        let found = EventNameRow(id: id, name: stored)
        learnedNames[key] = found
        return found
    }

    func insertEventRow(_ e: EventInput, account: Int64, profile: Int64, name: EventNameRow) throws -> Int64? {
        let time = e.timestamp.milliseconds
        let display = name.name == e.name ? nil : e.name
        let properties = e.propertiesJSON.map { String(decoding: $0, as: UTF8.self) }
        // A taken key stores nothing (its lookup is usually `prepare`'s, for the whole chunk).
        if let key = e.dedupeKey, try eventID(account: account, dedupeKey: key) != nil { return nil }
        let id = try caches.eventIDs.next(connection)
        if let key = e.dedupeKey { dedupeKeys[PostgresWriteCaches.Key(account: account, key: key)] = id }
        pending.append(PendingEvent(
            account: account, id: id, profile: profile, name: name.id, timestamp: time, source: Int64(e.source.rawValue), dedupeKey: e.dedupeKey,
            displayName: display, properties: properties))
        written.append(AccountRow(account: account, id: id))
        // No event watermark on PostgreSQL: the profile is marked for the evaluator in this transaction.
        dirty.insert(DirtyKey(account: account, kind: MembershipDirtyKind.profile.rawValue, id: profile))
        withEvents.insert(AccountRow(account: account, id: profile))
        counts[CountKey(account: account, name: name.id, hour: Self.hour(time)), default: 0] += 1
        stored.events += 1
        return id
    }

    /// The UTC hour a time falls in, counted in hours since 1970 (as `event_counts.hour` holds it).
    static func hour(_ time: Int64) -> Int64 { Timestamp.floor(time, units: 3_600_000) }

    func countName(_ name: Int64, account: Int64, at time: Int64) {
        let key = AccountRow(account: account, id: name)
        let usage = nameUsage[key] ?? (0, time)
        nameUsage[key] = (usage.count + 1, max(usage.last, time))
    }

    // MARK: The rest of IngestWrites

    func profileID(_ customer: CustomerID, account: Int64) throws -> Int64? {
        if case .uid(let u) = customer { return try profileID(account: account, uid: u) }  // through the caches
        try flushProfiles()
        return try connection.query(PostgresRows.profileQuery("p.id", account: account, customer.lookup)).first?.decode(Int64.self)
    }

    static let idempotencyWindowMs: Int64 = 24 * 3_600_000

    /// Under a lock on the key until this transaction ends, so the same key sent to two nodes at once is
    /// ingested once: the second waits, then finds the first's reply (READ COMMITTED: each statement sees
    /// what committed before it).
    func idempotentReply(account: Int64, key: String) throws -> BatchReply? {
        try connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key), \(account)))")
        guard let row = try connection.query(
            """
            SELECT status, response FROM idempotency_keys
            WHERE account_id = \(account) AND key = \(key) AND created_at > \(now.milliseconds - Self.idempotencyWindowMs)
            """
        ).first else { return nil }
        let (status, body) = try row.decode((Int64, ByteBuffer).self)
        return BatchReply(status: Int(status), body: Array(body.readableBytesView))
    }

    func saveIdempotentReply(account: Int64, key: String, route: String, reply: BatchReply) throws {
        try connection.query(
            """
            INSERT INTO idempotency_keys (account_id, key, route, status, response, created_at)
            VALUES (\(account), \(key), \(route), \(Int64(reply.status)), \(ByteBuffer(bytes: reply.body)), \(now.milliseconds))
            ON CONFLICT (account_id, key) DO UPDATE SET route = excluded.route, status = excluded.status, response = excluded.response,
                created_at = excluded.created_at
            """)
    }
}
