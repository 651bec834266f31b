import GRDB

/// A person's events in time order without a per-person index (0017_person_chain.sql): each event stores the
/// id of its profile's previous event (`prev_id`) when its time is not before that one's, so the events of a
/// profile form a chain from its newest (`head`) back to its first; an event older than the head is stored
/// unlinked and found through the partial index `events_late`. A timeline merges the two
/// (`TimelineReader`).
///
/// The writer links an event to its profile's head, found in order:
/// 1. the writer's cache (`WriteCaches.heads`), which holds every profile's head past the activity watermark
///    as it stood when it was read, up to event id `headsThrough`, and the heads this transaction moved (a
///    failed transaction resets the caches). At its first link a transaction compares `headsThrough` with
///    the log's top id: equal, the cache is current; higher (another process wrote), the events in between
///    are read; lower, or no cache (start, a failure, a deletion), it is read again from the tail;
/// 2. `profile_activity.head_event_id`, the rolled-up head (`ActivityRollup`), exact for a profile absent
///    from a current cache — unless the cache was read from the log's start: then there is none. Its time is taken as `last_seen_at`, the profile's latest event time, which is
///    never earlier than the head's: an event between the two is merely stored unlinked, still found.
///
/// Readers trust a link only while it descends (a smaller id, the same profile): ids of deleted events can
/// be handed out again, and a link to one ends the walk.
enum PersonChain {
    struct Head: Sendable, Equatable {
        var id: Int64
        var time: Int64
    }

    /// The heads of linked events with ids in (after, through]: the newest per profile.
    static func heads(_ db: Database, after: Int64, through: Int64) throws -> [Int64: Head] {
        var heads: [Int64: Head] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT profile_id, max(id), timestamp FROM events
                WHERE id > ? AND id <= ? AND prev_id IS NOT NULL GROUP BY profile_id
                """,
            arguments: [after, through])
        while let row = try rows.next() {
            heads[row[0]] = Head(id: row[1], time: row[2])
        }
        return heads
    }
}

extension WriteSession {
    /// The `prev_id` for a new event of `profile` at `time`: the head's id (0 with none), or nil when the
    /// event is older than the head and goes unlinked.
    func chainLink(profile: Int64, at time: Int64) throws -> Int64? {
        guard let head = try chainHead(profile) else { return 0 }
        return time >= head.time ? head.id : nil
    }

    /// Records a linked event as its profile's new head.
    func linked(event id: Int64, profile: Int64, at time: Int64) {
        caches.heads[profile] = PersonChain.Head(id: id, time: time)
    }

    private func chainHead(_ profile: Int64) throws -> PersonChain.Head? {
        try refreshHeads()
        if let head = caches.heads[profile] { return head }
        if caches.headsComplete { return nil }
        let s = try statement(.activityHead)
        try s.bind(1, profile)
        guard try s.step(db) else { return nil }
        defer { s.reset() }
        let id = s.int64(0)
        return id > 0 ? PersonChain.Head(id: id, time: s.int64(1)) : nil
    }

    /// After a deletion: heads may name deleted events, and their ids may be handed out again.
    func forgetHeads() {
        headsTop = nil
        caches.heads = [:]
        caches.headsThrough = nil
        caches.headsComplete = false
    }

    /// Brings the writer's cache of heads up to the log as this transaction found it (once per transaction).
    private func refreshHeads() throws {
        if headsTop != nil { return }
        let top = try Int64.fetchOne(db, sql: "SELECT max(id) FROM events") ?? 0
        headsTop = top
        if let through = caches.headsThrough, through <= top {
            if through < top { caches.heads.merge(try PersonChain.heads(db, after: through, through: top)) { _, new in new } }
        } else {
            let watermark = try ActivityRollup.watermark(db)
            caches.heads = try PersonChain.heads(db, after: watermark, through: top)
            caches.headsComplete = watermark == 0
        }
        caches.headsThrough = top
    }
}
