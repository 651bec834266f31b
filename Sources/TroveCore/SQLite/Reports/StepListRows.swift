import Foundation
import GRDB

/// Writes to one step list's rows inside a write transaction: a profile's events (`StepEvents`, one row
/// per profile in `report_step_profiles`) and the list's grouping values, numbered in
/// `report_step_values`. Each value counts the events that carry it and goes with the last of them, so
/// events deleted (an erasure) leave none of their values behind.
struct StepListRows {
    let db: Database
    let list: Int64
    /// Value numbers found or made in this transaction, by the caller's key for the value.
    private var numbers: [Int32: Int64] = [:]
    /// Events added (removed: negative) per value number, not yet counted (`flush`).
    private var counts: [Int64: Int64] = [:]

    init(_ db: Database, list: Int64) {
        self.db = db
        self.list = list
    }

    /// The list's number for a grouping value (nil or null: 0, none), made if the list has none yet. `key`
    /// names the value within the caller's rows (it is looked up once per transaction). Text "5", integer 5
    /// and real 5.0 are three values, as the funnel reads them.
    mutating func number(of value: JSON?, key: Int32) throws -> Int64 {
        guard let value, value != .null else { return 0 }
        if let n = numbers[key] { return n }
        let find = try RawStatement(db, sql: "SELECT id FROM report_step_values WHERE step_id = ?1 AND value = ?2 AND typeof(value) = typeof(?2)")
        try find.bind(1, list)
        try find.bind(2, value)
        let n: Int64
        if let found = try find.fetchInt64(db) {
            n = found
        } else {
            let next = try RawStatement(db, sql: "SELECT coalesce(max(id), 0) + 1 FROM report_step_values WHERE step_id = ?")
            try next.bind(1, list)
            n = try next.fetchInt64(db) ?? 1
            let add = try RawStatement(db, sql: "INSERT INTO report_step_values (step_id, id, value, events) VALUES (?, ?, ?, 0)")
            try add.bind(1, list)
            try add.bind(2, n)
            try add.bind(3, value)
            try add.execute(db)
        }
        numbers[key] = n
        return n
    }

    /// Adds a profile's events (in list order, each once) to its row; an event already there is left as it
    /// is. `fresh`: the profile is new to the list (a build pass past the list's profiles), so its row is
    /// written without reading one first — and merged after all if there was one.
    mutating func add(_ events: [StepEvents.Event], profile: Int64, fresh: Bool = false) throws {
        guard !events.isEmpty else { return }
        if fresh {
            let insert = try RawStatement(db, sql: "INSERT OR IGNORE INTO report_step_profiles (step_id, profile_id, events) VALUES (?, ?, ?)")
            try insert.bind(1, list)
            try insert.bind(2, profile)
            try insert.bind(3, blob: StepEvents.encode(events))
            try insert.execute(db)
            if db.changesCount == 1 { return count(events, by: 1) }
        }
        let old = try self.events(of: profile)
        let (all, added) = StepEvents.merged(old, adding: events)
        guard !added.isEmpty else { return }
        try write(all, profile: profile)
        count(added, by: 1)
    }

    /// Takes the events with these ids out of a profile's row (the row goes with its last event).
    mutating func remove(_ ids: Set<Int64>, profile: Int64) throws {
        let old = try events(of: profile)
        let kept = old.filter { !ids.contains($0.event) }
        guard kept.count < old.count else { return }
        if kept.isEmpty {
            try db.execute(sql: "DELETE FROM report_step_profiles WHERE step_id = ? AND profile_id = ?", arguments: [list, profile])
        } else {
            try write(kept, profile: profile)
        }
        count(old.filter { ids.contains($0.event) }, by: -1)
    }

    func events(of profile: Int64) throws -> [StepEvents.Event] {
        let read = try RawStatement(db, sql: "SELECT events FROM report_step_profiles WHERE step_id = ? AND profile_id = ?")
        try read.bind(1, list)
        try read.bind(2, profile)
        defer { read.reset() }
        guard try read.step(db) else { return [] }
        return StepEvents.decode(read.blob(0))
    }

    private func write(_ events: [StepEvents.Event], profile: Int64) throws {
        let write = try RawStatement(db, sql: """
            INSERT INTO report_step_profiles (step_id, profile_id, events) VALUES (?, ?, ?)
            ON CONFLICT (step_id, profile_id) DO UPDATE SET events = excluded.events
            """)
        try write.bind(1, list)
        try write.bind(2, profile)
        try write.bind(3, blob: StepEvents.encode(events))
        try write.execute(db)
    }

    private mutating func count(_ events: [StepEvents.Event], by sign: Int64) {
        for e in events where e.value != 0 { counts[e.value, default: 0] += sign }
    }

    /// Moves the values' counts by the events added and removed since the last flush; a value no event
    /// carries any more goes. Before the transaction ends.
    mutating func flush() throws {
        guard !counts.isEmpty else { return }
        let update = try RawStatement(db, sql: "UPDATE report_step_values SET events = events + ?3 WHERE step_id = ?1 AND id = ?2")
        let delete = try RawStatement(db, sql: "DELETE FROM report_step_values WHERE step_id = ?1 AND id = ?2 AND events <= 0")
        for (value, n) in counts {
            for statement in [update, delete] {
                try statement.bind(1, list)
                try statement.bind(2, value)
            }
            try update.bind(3, n)
            try update.execute(db)
            try delete.execute(db)
        }
        counts = [:]
    }
}

extension StepListRows {
    /// Every listed event, decoded, in list, profile and time order, with its grouping value (NULL: none).
    static func listed(_ db: Database) throws -> [(list: Int64, profile: Int64, event: StepEvents.Event, value: DatabaseValue)] {
        var values: [Int64: [Int64: DatabaseValue]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT step_id, id, value FROM report_step_values") {
            values[row[0], default: [:]][row[1]] = row[2]
        }
        return try Row.fetchAll(db, sql: "SELECT step_id, profile_id, events FROM report_step_profiles ORDER BY step_id, profile_id").flatMap { row in
            let (list, profile, bytes): (Int64, Int64, Data) = (row[0], row[1], row[2])
            return StepEvents.decode([UInt8](bytes)).map { e in
                (list, profile, e, e.value == 0 ? .null : values[list]?[e.value] ?? .null)
            }
        }
    }
}
