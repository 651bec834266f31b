/// A stored segment (contract §6 model).
public struct Segment: Sendable, Equatable {
    public enum Kind: String, Sendable { case dynamic, manual }
    public enum Grammar: String, Sendable { case chameleon, customerio }

    public var id: Int64
    public var accountID: Int64
    public var name: String
    public var description: String
    public var kind: Kind
    public var grammar: Grammar?
    /// The filter as accepted, in `grammar` (dynamic segments).
    public var definition: JSON?
    public var tags: [String]
    public var version: Int64
    public var builtVersion: Int64
    public var windowed: Bool
    public var memberCount: Int64
    public var computedAt: Timestamp?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public var isReady: Bool { kind == .manual || builtVersion >= version }

    /// From stored columns (any engine, in `Segment+Rows` order): texts as stored, checked here.
    public init(id: Int64, accountID: Int64, name: String, description: String, kind: String, grammar: String?, definition: String?,
                tags: String, version: Int64, builtVersion: Int64, windowed: Bool, memberCount: Int64, computedAt: Int64?, createdAt: Int64,
                updatedAt: Int64) throws(StoredDataError) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.description = description
        guard let kind = Kind(rawValue: kind) else { throw StoredDataError(table: "segments", column: "kind", id: id, reason: "unknown kind") }
        self.kind = kind
        self.grammar = try grammar.map { text throws(StoredDataError) in
            guard let grammar = Grammar(rawValue: text) else { throw StoredDataError(table: "segments", column: "grammar", id: id, reason: "unknown grammar") }
            return grammar
        }
        self.definition = try definition.map { text throws(StoredDataError) in try StoredJSON.parse(text, "segments", "definition", id: id) }
        self.tags = try StoredJSON.strings(tags, "segments", "tags", id: id)
        self.version = version
        self.builtVersion = builtVersion
        self.windowed = windowed
        self.memberCount = memberCount
        self.computedAt = computedAt.map(Timestamp.init(milliseconds:))
        self.createdAt = Timestamp(milliseconds: createdAt)
        self.updatedAt = Timestamp(milliseconds: updatedAt)
    }

    /// The parsed filter tree of a dynamic segment.
    public func filter() throws(SegmentError) -> FilterNode? {
        guard kind == .dynamic, let definition else { return nil }
        switch grammar ?? .chameleon {
        case .chameleon: return try ChameleonFilter.parse(definition)
        case .customerio: return try CustomerIOFilter.parse(definition)
        }
    }
}

extension Segment {
    /// What a segment condition naming this segment compiles to: membership for a manual segment, the
    /// filter inlined for a dynamic one (nil: one without a filter).
    public func reference() throws -> SegmentCompiler.Reference? {
        if kind == .manual { return .manual }
        return try filter().map { .dynamic($0) }
    }
}
