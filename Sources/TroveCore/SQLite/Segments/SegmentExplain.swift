import GRDB

/// `GET /v3/edit/segments/:id/explain?uid=` (contract §6): whether the profile is a member, and for each
/// condition of the segment's filter its result now and the actual value(s) that decided it.
public struct SegmentExplain: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    /// Whether the profile is a member (as materialized), and each condition's result now.
    public struct Explanation: Sendable, Equatable {
        public var member: Bool
        public var computedAt: Timestamp?
        public var conditions: [Condition]

        public init(member: Bool, computedAt: Timestamp?, conditions: [Condition]) {
            self.member = member
            self.computedAt = computedAt
            self.conditions = conditions
        }
    }

    /// One condition of the filter: what it tests (`prop` is the property or event name, nil for a
    /// segment), its result for the profile now, and the value(s) that decided it.
    public struct Condition: Sendable, Equatable {
        public enum Kind: String, Sendable { case property, event, segment }

        public var path: String
        public var kind: Kind
        public var prop: String?
        public var op: String
        public var value: JSON
        public var result: Bool
        public var actual: [JSON]

        /// `condition` explained, once the engine answered whether it holds now and with what: the
        /// property's stored value(s) (`[]` when absent), the event count, or membership of the other segment.
        public init(_ condition: FilterCondition, result: Bool, actual: [JSON]) {
            self.path = condition.path
            self.result = result
            self.actual = actual
            switch condition.kind {
            case .property(let p): (kind, prop, op, value) = (.property, p.displayName, p.op.rawValue, p.value)
            case .event(let e): (kind, prop, op, value) = (.event, e.name, e.countOp.rawValue, .int(e.count))
            case .segment(let other, let isMember): (kind, prop, op, value) = (.segment, nil, isMember ? "eq" : "ne", .string(PublicID.encode(other)))
            }
        }
    }

    public func explain(account: Int64, segment id: Int64, profile lookup: ObjectLookup) async throws -> Explanation {
        let now = clock.now()
        return try await database.heavyRead { db in
            let segment = try SegmentReader.segment(db, account: account, id: id)
            guard let profile = try lookup.profileID(db, account: account) else {
                throw SegmentError.notFound("no profile with \(lookup.describedForErrors)")
            }
            let member = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM segment_members WHERE segment_id = ? AND profile_id = ?", arguments: [id, profile]) ?? false
            var conditions: [Condition] = []
            if let filter = try segment.filter() {
                let compiler = SegmentCompiler.over(db, account: account, now: now, perProfile: true)
                for condition in filter.conditions {
                    conditions.append(try explain(condition, profile: profile, compiler: compiler, segment: id, db: db))
                }
            }
            return Explanation(member: member, computedAt: segment.computedAt, conditions: conditions)
        }
    }

    func explain(_ condition: FilterCondition, profile: Int64, compiler: SegmentCompiler, segment: Int64, db: Database) throws -> Condition {
        let test = try compiler.test(condition, segment: segment)
        let result = try Self.scalar(db, SQLFragment("coalesce((") + test + SQLFragment("), 0)"), profile: profile)
        let passed = result == .int(1)
        let actual: [JSON]
        switch condition.kind {
        case .property(let p):
            actual = try Self.actual(p, profile: profile, db: db)
        case .event(let e):
            actual = [try Self.scalar(db, SQLFragment("(") + (try compiler.eventCount(e)) + SQLFragment(")"), profile: profile)]
        case .segment(let other, _):
            actual = [.bool(try Bool.fetchOne(
                db, sql: "SELECT 1 FROM segment_members WHERE segment_id = ? AND profile_id = ?", arguments: [other, profile]) ?? false)]
        }
        return Condition(condition, result: passed, actual: actual)
    }

    static func scalar(_ db: Database, _ expression: SQLFragment, profile: Int64) throws -> JSON {
        let query = SQLFragment("SELECT ") + expression + SQLFragment(" FROM profiles p WHERE p.id = ?", [profile.sqlValue])
        let value = try DatabaseValue.fetchOne(db, sql: query.sql, arguments: query.statementArguments) ?? .null
        return Int64.fromDatabaseValue(value).map(JSON.int) ?? .null
    }

    /// The stored value(s) of the property the condition reads: `[]` when absent.
    static func actual(_ test: PropertyTest, profile: Int64, db: Database) throws -> [JSON] {
        let source = test.owner == .company ? ValueSource.company(test.path) : ValueSource.profile(test.path, dialect: SQLiteDialect())
        let expression: String
        switch source {
        case .json(let alias, let path): expression = "\(alias).properties -> \(path.sqlLiteral)"
        case .text(let column): expression = "json_quote(\(column))"
        case .time(let column): expression = "json_quote(\(Timestamp.iso8601SQL(column)))"
        case .flag(let column): expression = "CASE \(column) WHEN 1 THEN 'true' ELSE 'false' END"
        }
        let sql = test.owner == .company
            ? "SELECT (SELECT \(expression) FROM companies c WHERE c.id = p.company_id) FROM profiles p WHERE p.id = ?"
            : "SELECT \(expression) FROM profiles p WHERE p.id = ?"
        guard let text = try String.fetchOne(db, sql: sql, arguments: [profile]) else { return [] }
        let (table, row) = test.owner == .company ? ("companies", nil) : ("profiles", profile)
        let value = try StoredJSON.parse(text, table, "properties", id: row)
        return value == .null ? [] : [value]
    }
}
