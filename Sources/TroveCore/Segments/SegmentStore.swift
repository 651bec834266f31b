import Foundation
import GRDB

/// Segment definitions (SPEC §6): create, change, delete, read. Membership is the evaluator's
/// (`MembershipEvaluator`); a new or changed dynamic segment is left `building` for it.
public struct SegmentStore: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    /// The fields of a segment body (`/v3`, Chameleon grammar), checked.
    struct Fields {
        var name: String?
        var description: String?
        var tags: [String]?
        var kind: Segment.Kind?
        var definition: JSON?
        var filter: FilterNode?

        init(_ body: JSON, requireName: Bool) throws(SegmentError) {
            guard case .object = body else { throw .invalid("body: must be a JSON object") }
            switch body["name"] {
            case nil: if requireName { throw .invalid("name: required") }
            case .string(let s)?:
                let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !trimmed.isEmpty, trimmed.utf8.count <= 255 else { throw .invalid("name: must be 1 to 255 bytes") }
                name = trimmed
            default: throw .invalid("name: must be a string")
            }
            switch body["description"] {
            case nil, .null?: break
            case .string(let s)?: description = s
            default: throw .invalid("description: must be a string")
            }
            switch body["tags"] {
            case nil, .null?: break
            case .array(let elements)?:
                var out: [String] = []
                for (i, e) in elements.enumerated() {
                    guard case .string(let s) = e else { throw .invalid("tags[\(i)]: must be a string") }
                    out.append(s)
                }
                tags = out
            default: throw .invalid("tags: must be an array of strings")
            }
            switch body["kind"] {
            case nil, .null?: break
            case .string(let k)?:
                guard let kind = Segment.Kind(rawValue: k) else { throw .invalid("kind: must be \"dynamic\" or \"manual\"") }
                self.kind = kind
            default: throw .invalid("kind: must be \"dynamic\" or \"manual\"")
            }
            if body["items"] != nil {
                if kind == .manual { throw .invalid("items: a manual segment has no filter") }
                filter = try ChameleonFilter.parse(body)
                definition = ["items": body["items"]!, "items_op": body["items_op"] ?? "and"]
            }
        }
    }

    public func create(account: Int64, body: JSON) async throws -> Segment {
        let fields = try Fields(body, requireName: true)
        let kind = fields.kind ?? .dynamic
        if kind == .dynamic && fields.filter == nil { throw SegmentError.invalid("items: required for a dynamic segment") }
        return try await insert(account: account, name: fields.name!, description: fields.description ?? "", kind: kind, grammar: .chameleon,
                          definition: fields.definition, filter: fields.filter, tags: fields.tags ?? [])
    }

    /// `POST /v1/segments`: a manual segment.
    public func createManual(account: Int64, name: String, description: String) async throws -> Segment {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 255 else { throw SegmentError.invalid("segment.name: must be 1 to 255 bytes") }
        return try await insert(account: account, name: trimmed, description: description, kind: .manual, grammar: nil, definition: nil, filter: nil, tags: [])
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
    public func update(account: Int64, id: Int64, body: JSON) async throws -> Segment {
        let fields = try Fields(body, requireName: false)
        let now = clock.now()
        return try await database.write { db in
            guard let current = try Segment.fetch(db, account: account, id: id) else { throw SegmentError.notFound("no segment with id \(id)") }
            if let kind = fields.kind, kind != current.kind { throw SegmentError.invalid("kind: a segment's kind cannot change") }
            if let filter = fields.filter {
                guard current.kind == .dynamic else { throw SegmentError.invalid("items: a manual segment has no filter") }
                _ = try SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).compile(filter, segment: id)
            }
            try db.execute(
                sql: """
                    UPDATE segments SET name = ?, description = ?, tags = ?, definition = ?, version = version + ?, updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [fields.name ?? current.name, fields.description ?? current.description,
                            JSONWriter.string(.array((fields.tags ?? current.tags).map(JSON.string))),
                            (fields.definition ?? current.definition).map(JSONWriter.string),
                            fields.filter == nil ? 0 : 1, now.milliseconds, id])
            if fields.filter != nil {
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
