import PostgresNIO
import TroveCore

/// `GET /v3/edit/segments/:id/explain` on PostgreSQL (contract §6): whether the profile is a member, and
/// each condition of the filter tested alone for it now, with the value(s) that decided it.
public struct PostgresExplainStore: ExplainStore {
    public let database: PostgresAppDatabase
    public let clock: TroveClock

    public init(database: PostgresAppDatabase, clock: TroveClock) {
        self.database = database
        self.clock = clock
    }

    public func explain(account: Int64, segment id: Int64, profile lookup: ObjectLookup) async throws -> SegmentExplain.Explanation {
        let now = clock.now()
        let run: PostgresCompiling.Run = { try await database.heavyQuery($0) }
        let segments = try await PostgresCompiling.segments(account: account, run)
        guard let segment = segments.first(where: { $0.id == id }) else { throw SegmentError.notFound("no segment with id \(id)") }
        guard let profile = try await run(PostgresRows.profileQuery("p.id", account: account, lookup)).first?.decode(Int64.self) else {
            throw SegmentError.notFound("no profile with \(lookup.describedForErrors)")
        }
        let member = try await isMember(account: account, segment: id, profile: profile)
        var conditions: [SegmentExplain.Condition] = []
        if let filter = try segment.filter() {
            let compiler = try await PostgresCompiling.compiler(for: filter, segment: id, account: account, now: now, segments: segments, perProfile: true, run)
            for condition in filter.conditions {
                let test = try compiler.test(condition, segment: id)
                let passed = try await scalar(SQLFragment("coalesce((") + test + SQLFragment("), false)"), account: account, profile: profile)
                    .decode(Bool.self)
                let actual: [JSON]
                switch condition.kind {
                case .property(let p):
                    actual = try await self.actual(p, account: account, profile: profile)
                case .event(let e):
                    let count = try await scalar(SQLFragment("(") + (try compiler.eventCount(e)) + SQLFragment(")"), account: account, profile: profile)
                    actual = [.int(try count.decode(Int64.self))]
                case .segment(let other, _):
                    actual = [.bool(try await isMember(account: account, segment: other, profile: profile))]
                }
                conditions.append(SegmentExplain.Condition(condition, result: passed, actual: actual))
            }
        }
        return SegmentExplain.Explanation(member: member, computedAt: segment.computedAt, conditions: conditions)
    }

    func isMember(account: Int64, segment: Int64, profile: Int64) async throws -> Bool {
        try await !database.heavyQuery(
            "SELECT 1 FROM segment_members WHERE account_id = \(account) AND segment_id = \(segment) AND profile_id = \(profile)").isEmpty
    }

    /// `expression` evaluated for profile `p`.
    func scalar(_ expression: SQLFragment, account: Int64, profile: Int64) async throws -> PostgresCell {
        let query = SQLFragment("SELECT ") + expression + SQLFragment(" FROM profiles p WHERE p.account_id = ? AND p.id = ?",
                                                                      [.integer(account), .integer(profile)])
        return try await database.heavyQuery(query.postgresQuery)[0].first!
    }

    /// The stored value(s) of the property the condition reads: `[]` when absent.
    func actual(_ test: PropertyTest, account: Int64, profile: Int64) async throws -> [JSON] {
        let source = test.owner == .company ? ValueSource.company(test.path) : ValueSource.profile(test.path, dialect: PostgresDialect())
        let expression: String
        switch source {
        case .json(let alias, let path): expression = "(\(alias).properties\(PostgresDialect.chain(path)))::text"
        case .text(let column), .flag(let column), .time(let column): expression = "to_jsonb(\(column))::text"
        }
        let sql = test.owner == .company
            ? "(SELECT \(expression) FROM companies c WHERE c.account_id = p.account_id AND c.id = p.company_id)"
            : expression
        guard let text = try await scalar(SQLFragment(sql), account: account, profile: profile).decode(String?.self) else { return [] }
        let (table, row) = test.owner == .company ? ("companies", nil) : ("profiles", profile)
        var value = try StoredJSON.parse(text, table, "properties", id: row)
        if case .time = source, case .int(let ms) = value { value = .string(Timestamp(milliseconds: ms).iso8601) }
        return value == .null ? [] : [value]
    }
}
