import GRDB

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

    static let columns =
        "id, account_id, name, description, kind, grammar, definition, tags, version, built_version, windowed, member_count, computed_at, created_at, updated_at"

    /// `columns` for a query over `segments s`.
    static let qualifiedColumns = columns.split(separator: ",").map { "s." + $0.drop(while: { $0 == " " }) }.joined(separator: ", ")

    init(row: Row) throws(StoredDataError) {
        id = row[0]
        accountID = row[1]
        name = row[2]
        description = row[3]
        guard let kind = Kind(rawValue: row[4]) else { throw StoredDataError(table: "segments", column: "kind", id: row[0], reason: "unknown kind") }
        self.kind = kind
        grammar = try (row[5] as String?).map { text throws(StoredDataError) in
            guard let grammar = Grammar(rawValue: text) else { throw StoredDataError(table: "segments", column: "grammar", id: row[0], reason: "unknown grammar") }
            return grammar
        }
        let text: String? = row[6]
        definition = try text.map { text throws(StoredDataError) in try StoredJSON.parse(text, "segments", "definition", id: row[0]) }
        self.tags = try StoredJSON.strings(row[7], "segments", "tags", id: row[0])
        version = row[8]
        builtVersion = row[9]
        windowed = row[10]
        memberCount = row[11]
        computedAt = (row[12] as Int64?).map(Timestamp.init(milliseconds:))
        createdAt = Timestamp(milliseconds: row[13])
        updatedAt = Timestamp(milliseconds: row[14])
    }

    /// The parsed filter tree of a dynamic segment.
    public func filter() throws(SegmentError) -> FilterNode? {
        guard kind == .dynamic, let definition else { return nil }
        switch grammar ?? .chameleon {
        case .chameleon: return try ChameleonFilter.parse(definition)
        case .customerio: return try CustomerIOFilter.parse(definition)
        }
    }

    static func fetch(_ db: Database, account: Int64, id: Int64) throws -> Segment? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM segments WHERE account_id = ? AND id = ?", arguments: [account, id]).map(Segment.init)
    }

    static func fetchAll(_ db: Database, account: Int64) throws -> [Segment] {
        try Row.fetchAll(db, sql: "SELECT \(columns) FROM segments WHERE account_id = ? ORDER BY id", arguments: [account]).map(Segment.init)
    }

    /// The resolver the compiler uses for segment conditions: manual segments by membership, dynamic
    /// ones inlined.
    static func resolver(_ db: Database, account: Int64) -> (Int64) throws -> SegmentCompiler.Reference? {
        { id in
            guard let segment = try fetch(db, account: account, id: id) else { return nil }
            if segment.kind == .manual { return .manual }
            return try segment.filter().map { .dynamic($0) }
        }
    }
}
