import Foundation
import GRDB

/// Segment definitions (contract §6): create, change, delete, read. Membership is the evaluator's
/// (`MembershipEvaluator`); a new or changed dynamic segment is left `building` for it.
public struct SegmentStore: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    public func create(account: Int64, _ change: SegmentChange) async throws -> Segment {
        guard let name = change.name else { throw SegmentError.invalid("name: required") }
        let kind = change.kind ?? .dynamic
        if kind == .manual && change.definition != nil { throw SegmentError.invalid("items: a manual segment has no filter") }
        if kind == .dynamic && change.definition == nil { throw SegmentError.invalid("items: required for a dynamic segment") }
        return try await insert(account: account, name: try Self.checkedName(name), description: change.description ?? "", kind: kind, grammar: .chameleon,
                                definition: change.definition?.document, filter: change.definition?.filter, tags: change.tags ?? [])
    }

    /// A name trimmed of surrounding white space, 1 to 255 bytes.
    static func checkedName(_ name: String, field: String = "name") throws(SegmentError) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 255 else { throw .invalid("\(field): must be 1 to 255 bytes") }
        return trimmed
    }

    /// `POST /v1/segments`: a manual segment.
    public func createManual(account: Int64, name: String, description: String) async throws -> Segment {
        return try await insert(account: account, name: try Self.checkedName(name, field: "segment.name"), description: description, kind: .manual, grammar: nil, definition: nil, filter: nil, tags: [])
    }

    func insert(account: Int64, name: String, description: String, kind: Segment.Kind, grammar: Segment.Grammar?, definition: JSON?,
                filter: FilterNode?, tags: [String]) async throws -> Segment {
        let now = clock.now()
        return try await database.write { db in
            if let filter {
                _ = try SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).compile(filter)
            }
            try db.execute(
                sql: """
                    INSERT INTO segments (account_id, name, description, kind, grammar, definition, tags, built_version, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [account, name, description, kind.rawValue, kind == .dynamic ? grammar?.rawValue : nil,
                            definition.map(JSONWriter.string), JSONWriter.string(.array(tags.map(JSON.string))),
                            kind == .manual ? 1 : 0, now.milliseconds, now.milliseconds])
            return try Segment.fetch(db, account: account, id: db.lastInsertedRowID)!
        }
    }

    /// `PATCH`: changes what the body names. A new filter makes a new version, built in the background;
    /// segments that use this one (inlined) are rebuilt too.
    public func update(account: Int64, id: Int64, _ change: SegmentChange) async throws -> Segment {
        let name = try change.name.map { name throws(SegmentError) in try Self.checkedName(name) }
        let now = clock.now()
        return try await database.write { db in
            guard let current = try Segment.fetch(db, account: account, id: id) else { throw SegmentError.notFound("no segment with id \(id)") }
            if let kind = change.kind, kind != current.kind { throw SegmentError.invalid("kind: a segment's kind cannot change") }
            if let filter = change.definition?.filter {
                guard current.kind == .dynamic else { throw SegmentError.invalid("items: a manual segment has no filter") }
                _ = try SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).compile(filter, segment: id)
            }
            try db.execute(
                sql: """
                    UPDATE segments SET name = ?, description = ?, tags = ?, definition = ?, version = version + ?, updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [name ?? current.name, change.description ?? current.description,
                            JSONWriter.string(.array((change.tags ?? current.tags).map(JSON.string))),
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

    /// Refuses (409) while other segments use this one, and names them.
    public func delete(account: Int64, id: Int64) async throws {
        let now = clock.now()
        try await database.write { db in
            guard try Segment.fetch(db, account: account, id: id) != nil else { throw SegmentError.notFound("no segment with id \(id)") }
            let users = try Self.dependents(of: id, db: db, account: account, now: now)
            if !users.isEmpty {
                let names = users.map { "\"\($0.name)\" (id \($0.id))" }.joined(separator: ", ")
                throw SegmentError.conflict("segment \(id) is used by \(names); change or delete those first")
            }
            try db.execute(sql: "DELETE FROM segments WHERE id = ?", arguments: [id])
            try SegmentIndex.reconcile(db, now: now)
        }
    }

    public func get(account: Int64, id: Int64) async throws -> Segment {
        try await database.read { db in
            guard let segment = try Segment.fetch(db, account: account, id: id) else { throw SegmentError.notFound("no segment with id \(id)") }
            return segment
        }
    }

    public func list(account: Int64) async throws -> [Segment] {
        try await database.read { db in try Segment.fetchAll(db, account: account) }
    }

    /// Dynamic segments that refer to `id`, directly or through others.
    static func dependents(of id: Int64, db: Database, account: Int64, now: Timestamp) throws -> [Segment] {
        let compiler = SegmentCompiler.over(db, account: account, now: now, checkingOnly: true)
        return try Segment.fetchAll(db, account: account).filter { segment in
            // A stored definition that does not parse is an error, not "refers to nothing"; one that no
            // longer compiles (a segment it names is gone) refers to nothing that exists.
            guard segment.id != id, let filter = try segment.filter() else { return false }
            let compiled = try? compiler.compile(filter, segment: segment.id)
            return compiled?.segments.contains(id) ?? false
        }
    }
}

/// What a request sets on a segment; nil leaves a field as it is (on create, `name` is required and a
/// dynamic segment needs a definition).
public struct SegmentChange: Sendable {
    public var name: String?
    public var description: String?
    public var tags: [String]?
    public var kind: Segment.Kind?
    public var definition: ChameleonDefinition?

    public init(name: String? = nil, description: String? = nil, tags: [String]? = nil, kind: Segment.Kind? = nil, definition: ChameleonDefinition? = nil) {
        self.name = name
        self.description = description
        self.tags = tags
        self.kind = kind
        self.definition = definition
    }
}

/// A filter in the Chameleon grammar (contract §6.1): the document `{items, items_op}` as given (stored and
/// shown back) and its parsed tree.
public struct ChameleonDefinition: Sendable {
    public let document: JSON
    public let filter: FilterNode

    public init(items: JSON, op: JSON?) throws(SegmentError) {
        document = ["items": items, "items_op": op ?? "and"]
        filter = try ChameleonFilter.parse(document)
    }
}
