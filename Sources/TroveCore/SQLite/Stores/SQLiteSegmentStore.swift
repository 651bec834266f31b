import Foundation
import GRDB

/// `SegmentStore` on SQLite: `segments`. A filter is checked by compiling it against the account's segments
/// (a segment it names must exist, none may use itself).
public struct SQLiteSegmentStore: SegmentStore {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    static func tags(_ tags: [String]) -> String { JSONWriter.string(.array(tags.map(JSON.string))) }

    public func insert(account: Int64, _ s: NewSegment, now: Timestamp) async throws -> Segment {
        try await database.write { db in
            if let filter = s.definition?.filter {
                _ = try SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).compile(filter)
            }
            try db.execute(
                sql: """
                    INSERT INTO segments (account_id, name, description, kind, grammar, definition, tags, built_version, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [account, s.name, s.description, s.kind.rawValue, s.grammar?.rawValue,
                            s.definition.map { JSONWriter.string($0.document) }, Self.tags(s.tags),
                            s.kind == .manual ? 1 : 0, now.milliseconds, now.milliseconds])
            return try Segment.fetch(db, account: account, id: db.lastInsertedRowID)!
        }
    }

    public func update(account: Int64, id: Int64, now: Timestamp,
                       _ decide: @escaping @Sendable (Segment) throws(SegmentError) -> SegmentChange) async throws -> Segment {
        try await database.write { db in
            guard let current = try Segment.fetch(db, account: account, id: id) else { throw SegmentError.notFound("no segment with id \(id)") }
            let change = try decide(current)
            if let filter = change.definition?.filter {
                _ = try SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).compile(filter, segment: id)
            }
            try db.execute(
                sql: """
                    UPDATE segments SET name = ?, description = ?, tags = ?, definition = ?, version = version + ?, updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [change.name ?? current.name, change.description ?? current.description, Self.tags(change.tags ?? current.tags),
                            (change.definition?.document ?? current.definition).map(JSONWriter.string),
                            change.definition == nil ? 0 : 1, now.milliseconds, id])
            if change.definition != nil {
                let dependents = try Self.dependents(of: id, db: db, account: account, now: now).map(\.id)
                if !dependents.isEmpty {
                    try db.execute(sql: "UPDATE segments SET version = version + 1 WHERE id IN (\(dependents.map(String.init).joined(separator: ",")))")
                }
            }
            return try Segment.fetch(db, account: account, id: id)!
        }
    }

    public func delete(account: Int64, id: Int64, now: Timestamp) async throws -> [Segment] {
        try await database.write { db in
            guard try Segment.fetch(db, account: account, id: id) != nil else { throw SegmentError.notFound("no segment with id \(id)") }
            let users = try Self.dependents(of: id, db: db, account: account, now: now)
            guard users.isEmpty else { return users }
            try db.execute(sql: "DELETE FROM segments WHERE id = ?", arguments: [id])
            try SegmentIndex.reconcile(db, now: now)
            return []
        }
    }

    public func segment(account: Int64, id: Int64) async throws -> Segment {
        try await database.read { db in
            guard let segment = try Segment.fetch(db, account: account, id: id) else { throw SegmentError.notFound("no segment with id \(id)") }
            return segment
        }
    }

    public func segments(account: Int64) async throws -> [Segment] {
        try await database.read { db in try Segment.fetchAll(db, account: account) }
    }

    /// Dynamic segments that refer to `id`, directly or through others.
    static func dependents(of id: Int64, db: Database, account: Int64, now: Timestamp) throws -> [Segment] {
        try SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).dependents(of: id, among: Segment.fetchAll(db, account: account))
    }
}

extension SegmentDefinitions {
    /// On the SQLite engine.
    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.init(store: SQLiteSegmentStore(database: database), clock: clock)
    }
}
