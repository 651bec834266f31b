import GRDB

/// A person's events in time order without a per-person index (0017_person_chain.sql). Each event stores one
/// link in `prev_id`:
/// - an event whose time is not before its profile's newest linked event's links to it (`prev_id` >= 0, 0 for
///   the first): these form a chain in time order from the profile's `head`;
/// - an event that arrives out of order (older than the head) links to the profile's previous out-of-order
///   event (`prev_id` = -(that id) - 1, so -1 for the first): a second chain, in arrival order from `late`,
///   which a timeline reads whole and sorts. Events sent in time order (the usual case) never enter it, and
///   either way the link costs ingest a dictionary lookup: an index kept at insert time for them cost a random
///   b-tree leaf per event (the http benchmarks send events at random times and lost half their rate).
/// `TimelineReader` merges the two.
///
/// The writer finds a profile's heads in order:
/// 1. its cache (`WriteCaches.heads`), which holds the heads of every profile with events past the activity
///    watermark as it stood when it was read, up to event id `headsThrough`, and the heads this transaction
///    moved (a failed transaction resets the caches). At its first link a transaction compares `headsThrough`
///    with the log's top id: equal, the cache is current; higher (another process wrote), the events in
///    between are read; lower, or no cache (start, a failure, a deletion), it is read again from the tail;
/// 2. `profile_activity.head_event_id` / `late_head_id`, rolled up (`ActivityRollup`), exact for a profile
///    absent from a current cache — unless the cache was read from the log's start: then it has none. The
///    head's time is taken as `last_seen_at`, the profile's latest event time, never earlier than the head's:
///    an event between the two merely goes to the second chain, still found.
///
/// Readers trust a link only while it descends (a smaller id, the same profile): ids of deleted events can
/// be handed out again, and a link to one ends the walk.
enum PersonChain {
    struct Head: Sendable, Equatable {
        /// The newest event of the time-ordered chain (0: none) and its time.
        var id: Int64
        var time: Int64
        /// The newest out-of-order event (0: none).
        var late: Int64

        /// A profile known to have no linked event yet.
        static let none = Head(id: 0, time: .min, late: 0)

        /// The `prev_id` of a new event at `time`.
        func link(at t: Int64) -> Int64 { t >= time ? id : -(late + 1) }

        /// The heads once event `event` with link `prev` is stored.
        mutating func add(event: Int64, at t: Int64, prev: Int64) {
            if prev >= 0 {
                id = event
                time = t
            } else {
                late = event
            }
        }
    }

    /// The previous out-of-order event a negative `prev_id` names (0: none).
    static func latePrevious(_ prev: Int64) -> Int64 { -prev - 1 }
}

extension WriteSession {
    /// Links a new event of `profile` at `time` into its chains: `store` writes it with the `prev_id` given
    /// (`Head.link`) and returns its id, or nil when it stored nothing; the profile's heads then move to it.
    /// One probe of the heads table per event: at ten million profiles each is a cache miss.
    func linkEvent(profile: Int64, at time: Int64, _ store: (_ prev: Int64) throws -> Int64?) throws -> Int64? {
        try refreshHeads()
        return try caches.heads.update(profile, initial: try rolledUpHead(profile)) { head in
            let prev = head.link(at: time)
            guard let id = try store(prev) else { return nil }
            head.add(event: id, at: time, prev: prev)
            return id
        }
    }

    /// The heads of a profile absent from the cache: none if the cache was read from the log's start, else
    /// the rolled-up ones (exact: the cache holds every profile with events past the watermark).
    private func rolledUpHead(_ profile: Int64) throws -> PersonChain.Head {
        if caches.headsComplete { return .none }
        let s = try statement(.activityHead)
        try s.bind(1, profile)
        var head = PersonChain.Head.none
        if try s.step(db) {
            head = PersonChain.Head(id: s.int64(0), time: s.int64(0) > 0 ? s.int64(1) : .min, late: s.int64(2))
            s.reset()
        }
        return head
    }

    /// After a deletion: heads may name deleted events, and their ids may be handed out again.
    func forgetHeads() {
        headsTop = nil
        caches.heads.removeAll()
        caches.headsThrough = nil
        caches.headsComplete = false
    }

    /// Brings the writer's cache of heads up to the log as this transaction found it (once per transaction).
    private func refreshHeads() throws {
        if headsTop != nil { return }
        let top = try logTop()
        headsTop = top
        let from: Int64
        if let through = caches.headsThrough, through <= top {
            from = through
        } else {
            from = try ActivityRollup.watermark(db)
            caches.heads.removeAll()
            caches.headsComplete = from == 0
        }
        caches.headsThrough = top
        guard from < top else { return }
        let rows = try Row.fetchCursor(
            db, sql: "SELECT id, profile_id, timestamp, prev_id FROM events WHERE id > ? AND id <= ? AND prev_id IS NOT NULL ORDER BY id",
            arguments: [from, top])
        while let row = try rows.next() {
            let profile: Int64 = row[1]
            try caches.heads.update(profile, initial: try rolledUpHead(profile)) { $0.add(event: row[0], at: row[2], prev: row[3]) }
        }
    }
}
