import GRDB

/// An index segment evaluation reads (contract §6: "properties that segments filter on must not cost a full
/// JSON scan"), created when a segment is built and dropped when no dynamic segment needs it any more.
/// The compiler emits the identical expressions, so SQLite can use it.
///
/// - `profileProperties`: `(account_id, disabled, json_extract(properties, '$."plan"'), …[, company_id])`,
///   one per top-level AND of profile properties (equalities first, then ranges, then the rest), so a
///   segment's property conditions are answered from the index alone: no profile row is read, which is
///   what keeps a cold evaluation fast. Also the single-property form for properties elsewhere in a filter.
/// - `companyProperty`: `(account_id, json_extract(properties, path))` on companies.
/// - `eventName`: `(name_id, profile_id, timestamp) WHERE name_id = N`, a partial index holding only the
///   events of one name a segment counts. Per profile it answers "how many times in the window" with one
///   seek, and in profile order it groups without a sort. Only names segments use pay for it at ingest.
struct SegmentIndex: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case profileProperties(paths: [PropertyPath], company: Bool)
        case companyProperty(path: PropertyPath)
        case eventName(Int64)
    }

    var kind: Kind

    static func profileProperties(_ paths: [PropertyPath], company: Bool = false) -> SegmentIndex {
        SegmentIndex(kind: .profileProperties(paths: paths, company: company))
    }

    static func companyProperty(_ path: PropertyPath) -> SegmentIndex { SegmentIndex(kind: .companyProperty(path: path)) }
    static func eventName(_ id: Int64) -> SegmentIndex { SegmentIndex(kind: .eventName(id)) }

    /// Name prefixes of the indexes this type manages (and may drop); `profiles_prop_` and
    /// `companies_prop_` are the single-property indexes of earlier versions.
    static let managedPrefixes = ["profiles_by_props_", "companies_by_props_", "events_of_name_", "profiles_prop_", "companies_prop_"]

    /// Properties are named by a 64-bit FNV-1a hash of their column list (paths can be long, and two
    /// lists must never share a name); event-name indexes by the name's id.
    var name: String {
        switch kind {
        case .profileProperties(let paths, let company):
            return "profiles_by_props_" + Self.hash(paths.map(\.jsonPath).joined(separator: "\u{1}") + (company ? "\u{1}company_id" : ""))
        case .companyProperty(let path):
            return "companies_by_props_" + Self.hash(path.jsonPath)
        case .eventName(let id):
            return "events_of_name_\(id)"
        }
    }

    var createSQL: String {
        switch kind {
        case .profileProperties(let paths, let company):
            let columns = ["account_id", "disabled"] + paths.map { "json_extract(properties, \($0.sqlLiteral))" } + (company ? ["company_id"] : [])
            return "CREATE INDEX IF NOT EXISTS \"\(name)\" ON profiles(\(columns.joined(separator: ", ")))"
        case .companyProperty(let path):
            return "CREATE INDEX IF NOT EXISTS \"\(name)\" ON companies(account_id, json_extract(properties, \(path.sqlLiteral)))"
        case .eventName(let id):
            return "CREATE INDEX IF NOT EXISTS \"\(name)\" ON events(name_id, profile_id, timestamp) WHERE name_id = \(id)"
        }
    }

    static func hash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Creates the missing ones and gathers statistics for them, so the planner can tell a selective
    /// property from a common one. Returns how many it created.
    @discardableResult
    static func ensure(_ indexes: Set<SegmentIndex>, _ db: Database) throws -> Int {
        let existing = try existingNames(db)
        var created = 0
        for index in indexes.sorted(by: { $0.name < $1.name }) where !existing.contains(index.name) {
            try db.execute(sql: index.createSQL)
            try db.execute(sql: "PRAGMA analysis_limit = 1000")
            try db.execute(sql: "ANALYZE \"\(index.name)\"")
            created += 1
        }
        return created
    }

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
        return dropped
    }

    static func exists(_ index: SegmentIndex, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [index.name]) ?? false
    }

    static func existingNames(_ db: Database) throws -> Set<String> {
        let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'")
        return Set(names.filter { name in managedPrefixes.contains { name.hasPrefix($0) } })
    }
}
