import Foundation

/// Segment definitions (contract §6): create, change, delete, read; the rules (names, kinds, what a manual
/// segment may carry, when a segment may go); the rows are the engine's `SegmentStore`. Membership is the
/// evaluator's (`MembershipEvaluator`); a new or changed dynamic segment is left `building` for it.
public struct SegmentDefinitions: Sendable {
    public let store: any SegmentStore
    public let clock: TroveClock

    public init(store: any SegmentStore, clock: TroveClock = .system) {
        self.store = store
        self.clock = clock
    }

    public func create(account: Int64, _ change: SegmentChange) async throws -> Segment {
        guard let name = change.name else { throw SegmentError.invalid("name: required") }
        let kind = change.kind ?? .dynamic
        if kind == .manual && change.definition != nil { throw SegmentError.invalid("items: a manual segment has no filter") }
        if kind == .dynamic && change.definition == nil { throw SegmentError.invalid("items: required for a dynamic segment") }
        return try await store.insert(
            account: account,
            NewSegment(name: try Self.checkedName(name), description: change.description ?? "", kind: kind, grammar: kind == .dynamic ? .chameleon : nil,
                       definition: change.definition, tags: change.tags ?? []),
            now: clock.now())
    }

    /// A name trimmed of surrounding white space, 1 to 255 bytes.
    static func checkedName(_ name: String, field: String = "name") throws(SegmentError) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 255 else { throw .invalid("\(field): must be 1 to 255 bytes") }
        return trimmed
    }

    /// `POST /v1/segments`: a manual segment.
    public func createManual(account: Int64, name: String, description: String) async throws -> Segment {
        try await store.insert(
            account: account,
            NewSegment(name: try Self.checkedName(name, field: "segment.name"), description: description, kind: .manual, grammar: nil, definition: nil, tags: []),
            now: clock.now())
    }

    /// `PATCH`: changes what the body names. A new filter makes a new version, built in the background;
    /// segments that use this one (inlined) are rebuilt too.
    public func update(account: Int64, id: Int64, _ change: SegmentChange) async throws -> Segment {
        var change = change
        change.name = try change.name.map { name throws(SegmentError) in try Self.checkedName(name) }
        return try await store.update(account: account, id: id, now: clock.now()) { [change] current throws(SegmentError) in
            if let kind = change.kind, kind != current.kind { throw .invalid("kind: a segment's kind cannot change") }
            if change.definition != nil && current.kind != .dynamic { throw .invalid("items: a manual segment has no filter") }
            return change
        }
    }

    /// Refuses (409) while other segments use this one, and names them.
    public func delete(account: Int64, id: Int64) async throws {
        let users = try await store.delete(account: account, id: id, now: clock.now())
        if !users.isEmpty {
            let names = users.map { "\"\($0.name)\" (id \($0.id))" }.joined(separator: ", ")
            throw SegmentError.conflict("segment \(id) is used by \(names); change or delete those first")
        }
    }

    public func get(account: Int64, id: Int64) async throws -> Segment {
        try await store.segment(account: account, id: id)
    }

    public func list(account: Int64) async throws -> [Segment] {
        try await store.segments(account: account)
    }
}

/// A segment as created, its values checked.
public struct NewSegment: Sendable {
    public var name: String
    public var description: String
    public var kind: Segment.Kind
    public var grammar: Segment.Grammar?
    public var definition: ChameleonDefinition?
    public var tags: [String]
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
