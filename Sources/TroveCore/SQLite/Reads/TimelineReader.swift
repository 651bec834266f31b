import GRDB

/// A person's events newest first (contract §5), merged from what `PersonChain` keeps: the chain in time
/// order, walked from the profile's newest by the `prev_id` links; the out-of-order chain, read whole and
/// sorted (usually empty or short); and events stored before the chains (`events_late`), read in time order.
/// Timeline order is (timestamp, id), newest first.
///
/// A page costs one rowid lookup per time-ordered event it passes, one per out-of-order event of the person,
/// and one index range. The chains' newest events are the rolled-up heads or ones in the log's tail past the
/// activity watermark (a scan of that tail, which the rollup keeps short). With a name filter the walk
/// passes every linked event of other names on its way, so such a read runs as a heavy read.
public struct TimelineReader: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func timeline(account: Int64, _ request: TimelineRequest) async throws -> TimelinePage {
        let work: @Sendable (Database) throws -> TimelinePage = { db in try Self.page(db, account: account, request) }
        return try await request.nameUID == nil ? database.read(work) : database.heavyRead(work)
    }

    struct StoredEvent {
        var id: Int64
        var time: Int64
        var nameID: Int64
        var prev: Int64
        var displayName: String?
        var properties: String?

        func isBefore(time t: Int64, id i: Int64) -> Bool { time < t || (time == t && id < i) }
    }

    static func page(_ db: Database, account: Int64, _ request: TimelineRequest) throws -> TimelinePage {
        let (column, value) = request.person.profileMatch
        guard let person = try Row.fetchOne(db, sql: "SELECT id, uid FROM profiles WHERE account_id = ? AND \(column) = ?", arguments: [account, value])
        else { throw ReadError.notFound("no profile with \(request.person.describedForErrors)") }
        let profile: Int64 = person[0]
        var page = TimelinePage(profileID: profile, uid: person[1], events: [], limit: request.limit, before: nil)

        var nameID: Int64?
        if let uid = request.nameUID {
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM event_names WHERE account_id = ? AND uid = ?", arguments: [account, uid])
            else { return page }
            nameID = id
        }
        let bound = request.before.map { (time: $0.time, id: $0.id) } ?? (time: .max, id: .max)
        let walk = try db.cachedStatement(
            sql: "SELECT id, timestamp, name_id, prev_id, display_name, properties, profile_id FROM events WHERE id = ?")
        // The linked event `id`, if it is one of this profile's and comes after `below` in timeline order: a
        // link to anything else (an id handed out again after a deletion) ends the walk.
        func linked(_ id: Int64, below: (time: Int64, id: Int64)) throws -> StoredEvent? {
            guard id > 0, let row = try Row.fetchOne(walk, arguments: [id]), row[6] == profile, let prev = row[3] as Int64?, prev >= 0 else { return nil }
            let event = StoredEvent(id: row[0], time: row[1], nameID: row[2], prev: prev, displayName: row[4], properties: row[5])
            return event.isBefore(time: below.time, id: below.id) ? event : nil
        }
        func matching(_ start: StoredEvent?) throws -> StoredEvent? {
            var event = start
            while let e = event, let nameID, e.nameID != nameID { event = try linked(e.prev, below: (e.time, e.id)) }
            return event
        }

        let heads = try self.heads(db, profile: profile)
        let start = request.before.map(\.next) ?? heads.ordered
        var chain = try matching(linked(start, below: bound))
        // Out of order: the whole chain of them, then the events stored before the chains, in one sorted list.
        var late: [StoredEvent] = []
        try walkOutOfOrder(db, profile: profile, from: heads.late) { event in
            if event.isBefore(time: bound.time, id: bound.id), nameID == nil || event.nameID == nameID { late.append(event) }
        }
        late += try Row.fetchAll(
            db,
            sql: """
                SELECT id, timestamp, name_id, display_name, properties FROM events INDEXED BY events_late
                WHERE profile_id = ?1 AND prev_id IS NULL AND (timestamp < ?2 OR (timestamp = ?2 AND id < ?3))
                AND (?5 IS NULL OR name_id = ?5)
                ORDER BY timestamp DESC, id DESC LIMIT ?4
                """,
            arguments: [profile, bound.time, bound.id, request.limit, nameID]
        ).map { StoredEvent(id: $0[0], time: $0[1], nameID: $0[2], prev: 0, displayName: $0[3], properties: $0[4]) }
        late.sort { !$0.isBefore(time: $1.time, id: $1.id) }

        var names: [Int64: String] = [:]
        var lateIndex = 0
        var last: StoredEvent?
        while page.events.count < request.limit {
            let next: StoredEvent
            if let c = chain, lateIndex == late.count || late[lateIndex].isBefore(time: c.time, id: c.id) {
                next = c
                chain = try matching(linked(c.prev, below: (c.time, c.id)))
            } else if lateIndex < late.count {
                next = late[lateIndex]
                lateIndex += 1
            } else {
                break
            }
            page.events.append(try event(db, next, names: &names))
            last = next
        }
        if page.events.count == request.limit, let last {
            page.before = TimelineCursor(time: last.time, id: last.id, next: chain?.id ?? 0)
        }
        return page
    }

    /// The profile's out-of-order chain from `start`, newest first; a link that does not descend to an older
    /// out-of-order event of the same profile ends it.
    static func walkOutOfOrder(_ db: Database, profile: Int64, from start: Int64, _ visit: (StoredEvent) throws -> Void) throws {
        let walk = try db.cachedStatement(sql: "SELECT id, timestamp, name_id, prev_id, display_name, properties, profile_id FROM events WHERE id = ?")
        var next = start
        var below = Int64.max
        while next > 0, next < below, let row = try Row.fetchOne(walk, arguments: [next]), row[6] == profile, let prev = row[3] as Int64?, prev < 0 {
            try visit(StoredEvent(id: row[0], time: row[1], nameID: row[2], prev: prev, displayName: row[4], properties: row[5]))
            below = next
            next = PersonChain.latePrevious(prev)
        }
    }

    /// The newest event of each of the profile's chains (0: none): in the log's tail past the activity
    /// watermark, else the rolled-up ones.
    static func heads(_ db: Database, profile: Int64) throws -> (ordered: Int64, late: Int64) {
        let rolled = try Row.fetchOne(db, sql: "SELECT head_event_id, late_head_id FROM profile_activity WHERE profile_id = ?", arguments: [profile])
        let tail = try Row.fetchOne(
            db,
            sql: """
                SELECT max(CASE WHEN prev_id >= 0 THEN id END), max(CASE WHEN prev_id < 0 THEN id END) FROM events
                WHERE id > (SELECT through_event_id FROM event_rollups WHERE name = ?) AND profile_id = ?
                """,
            arguments: [ActivityRollup.name, profile])
        return ((tail?[0] as Int64?) ?? (rolled?[0] as Int64?) ?? 0, (tail?[1] as Int64?) ?? (rolled?[1] as Int64?) ?? 0)
    }

    static func event(_ db: Database, _ row: StoredEvent, names: inout [Int64: String]) throws -> TimelineEvent {
        let name: String
        if let display = row.displayName {
            name = display
        } else if let known = names[row.nameID] {
            name = known
        } else {
            name = try String.fetchOne(db, sql: "SELECT name FROM event_names WHERE id = ?", arguments: [row.nameID]) ?? ""
            names[row.nameID] = name
        }
        return try TimelineEvent(id: row.id, name: name, timestamp: row.time, properties: row.properties)
    }
}
