import Foundation
import GRDB

extension SegmentIndex {
    var createSQL: String { SQLiteDialect().createSQL(self) }

    /// Creates the missing ones and gathers statistics for them, so the planner can tell a selective
    /// property from a common one. Returns how many it created.
    @discardableResult
    static func ensure(_ indexes: Set<SegmentIndex>, _ db: Database) throws -> Int {
        let existing = try currentNames(db)
        let missing = indexes.filter { !existing.contains($0.name) }.sorted { $0.name < $1.name }
        guard !missing.isEmpty else { return 0 }
        for index in missing {
            try db.execute(sql: "DROP INDEX IF EXISTS \"\(index.name)\"")  // one of an earlier shape
            try db.execute(sql: index.createSQL)
            try db.execute(sql: "PRAGMA analysis_limit = 1000")
            try db.execute(sql: "ANALYZE \"\(index.name)\"")
        }
        return missing.count
    }

    /// Runs `work` (write transactions that create indexes; none may be open) with SQLite's sorter in helper
    /// threads, then restores the connection's settings. The sorter uses threads only with temporary files:
    /// `temp_store = MEMORY` (AppDatabase's) turns them off, and it cannot change inside a transaction; the
    /// change drops the connection's temporary tables (the membership evaluator makes them again at each
    /// step). Measured at 10× the reference set (sqlite3 3.40.1, warm cache): the reference segment's property
    /// index 36.7 s in memory → 18.2 s with files and 2 helpers, its event-name index 12.9 → 8.5 s.
    static func sortingInThreads<T>(_ db: Database, _ work: () throws -> T) throws -> T {
        let store = try Int.fetchOne(db, sql: "PRAGMA temp_store") ?? 0
        let threads = try Int.fetchOne(db, sql: "PRAGMA threads") ?? 0
        try db.execute(sql: "PRAGMA temp_store = FILE")
        try db.execute(sql: "PRAGMA threads = \(sortThreads)")
        defer {
            try? db.execute(sql: "PRAGMA threads = \(threads)")
            try? db.execute(sql: "PRAGMA temp_store = \(store)")
        }
        return try work()
    }

    /// Helper threads for an index's sort: the machine's cores, at most 4.
    static let sortThreads = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 4)

    /// Drops the managed indexes that no dynamic segment of any account needs: each one costs every
    /// insert into its table. Returns the names dropped.
    @discardableResult
    static func reconcile(_ db: Database, now: Timestamp) throws -> [String] {
        var needed: Set<String> = []
        for row in try Row.fetchAll(db, sql: "SELECT id, account_id FROM segments WHERE kind = 'dynamic'") {
            let (id, account): (Int64, Int64) = (row[0], row[1])
            // A definition that no longer compiles (a segment it refers to is gone) cannot be evaluated.
            guard let filter = try Segment.fetch(db, account: account, id: id)?.filter(),
                  let output = try? SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).compile(filter, segment: id)
            else { continue }
            needed.formUnion(output.indexes.map(\.name))
        }
        let dropped = try existingNames(db).subtracting(needed).sorted()
        for name in dropped { try db.execute(sql: "DROP INDEX IF EXISTS \"\(name)\"") }
        // Latest times are kept only beside their name's index.
        for id in try Int64.fetchAll(db, sql: "SELECT name_id FROM event_recency_names") where !needed.contains(SegmentIndex.eventName(id).name) {
            try EventRecency.forget(name: id, db)
        }
        return dropped
    }

    static func exists(_ index: SegmentIndex, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [index.name]) ?? false
    }

    static func existingNames(_ db: Database) throws -> Set<String> {
        let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'")
        return Set(names.filter { name in managedPrefixes.contains { name.hasPrefix($0) } })
    }

    /// The managed indexes there are in the current shape: one of an earlier shape (`outdated`) counts as
    /// missing.
    static func currentNames(_ db: Database) throws -> Set<String> {
        try existingNames(db).subtracting(outdated(db).map(\.name))
    }

    /// The indexes there are in an earlier shape, to make again (`MembershipEvaluator.makeMissingIndex`).
    static func outdated(_ db: Database) throws -> [SegmentIndex] {
        let prefix = "events_of_name_"
        return try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name GLOB 'events_of_name_*' ORDER BY name")
            .compactMap { row in
                let (name, sql): (String, String?) = (row[0], row[1])
                guard let sql, outdatedShapes.contains(where: { sql.contains($0) }), let id = Int64(name.dropFirst(prefix.count)) else { return nil }
                return .eventName(id)
            }
    }

    /// Index shapes of earlier versions, by a piece of their SQL (only names' indexes have had another). Such
    /// an index still answers (the planner uses it), and is made again in the current shape in a step of its
    /// own (`outdated`), or by the first evaluation that needs it before that:
    /// - a name's index led by `name_id` (until 2026-12-06): the same value in every entry, so every key
    ///   comparison of a seek went past the first column, where SQLite's integer comparison decides on it.
    ///   Led by `profile_id`, the reference segment's 236k seeks at 10× took ~150 ms instead of ~185.
    static let outdatedShapes = ["ON events(name_id, profile_id, timestamp)"]
}
