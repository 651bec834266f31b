import GRDB

/// Compiles a filter tree into one boolean SQL expression over `profiles p` (SPEC §6). Values are bound,
/// never spliced; property paths are spliced as JSON-path literals (normalized names only) so that the
/// expression indexes `PropertyIndex` creates match them.
struct SegmentCompiler {
    /// What a segment condition refers to.
    enum Reference {
        case manual
        case dynamic(FilterNode)
    }

    struct Output {
        var condition: SQLFragment
        /// Whether membership can change with time alone (event windows, `gt-d`/`lt-d`, `$now`, `-7d`).
        var windowed = false
        /// Expression indexes the condition can use.
        var indexes: Set<PropertyIndex> = []
        /// Segments referred to, directly or through others.
        var segments: Set<Int64> = []
    }

    /// What the filter selects: profiles (`profiles p`), or companies (`companies c`, property items only).
    enum Subject { case profiles, companies }

    let account: Int64
    let now: Timestamp
    var subject = Subject.profiles
    let resolve: (Int64) throws -> Reference?
    /// A table of profile ids that event subqueries may restrict themselves to (incremental evaluation).
    var restrictEventsTo: String?

    init(account: Int64, now: Timestamp, restrictEventsTo: String? = nil, resolve: @escaping (Int64) throws -> Reference?) {
        self.account = account
        self.now = now
        self.restrictEventsTo = restrictEventsTo
        self.resolve = resolve
    }

    func compile(_ node: FilterNode, segment: Int64? = nil) throws -> Output {
        var output = Output(condition: .true)
        var visiting: [Int64] = segment.map { [$0] } ?? []
        output.condition = try compile(node, into: &output, visiting: &visiting)
        return output
    }

    /// A statement selecting from the members of a filter.
    struct MembersQuery {
        var select: SQLFragment
        var output: Output

        /// `[INSERT INTO table (profile_id)] SELECT …`.
        func statement(insertingInto table: String? = nil) -> SQLFragment {
            table.map { SQLFragment("INSERT INTO \($0) (profile_id) ") + select } ?? select
        }

        /// `WITH name(id) AS MATERIALIZED (SELECT …)`, to be followed by a statement over `name`.
        func named(_ name: String) -> SQLFragment {
            SQLFragment("WITH \(name)(id) AS MATERIALIZED (") + select + SQLFragment(")")
        }
    }

    /// Selects `columns` from the members of `node` (enabled profiles of the account), as one statement.
    ///
    /// Measured on the reference set: SQLite already checks `p.id IN (<event subquery>)` on the rowid from
    /// the property index before it reads the row, so the event subquery acts as the first filter and only
    /// the few survivors have their JSON read. Selecting event-free candidates first (a CTE) was 2× slower.
    func membersQuery(_ node: FilterNode, segment: Int64? = nil, columns: String) throws -> MembersQuery {
        let output = try compile(node, segment: segment)
        let select = SQLFragment("SELECT \(columns) FROM profiles p WHERE p.account_id = ? AND p.disabled = 0 AND (", [account.databaseValue])
            + output.condition + SQLFragment(")")
        return MembersQuery(select: select, output: output)
    }

    private func compile(_ node: FilterNode, into output: inout Output, visiting: inout [Int64]) throws -> SQLFragment {
        switch node {
        case .all(let nodes):
            if nodes.isEmpty { return .true }
            return .joined(try nodes.map { try compile($0, into: &output, visiting: &visiting) }, separator: " AND ")
        case .any(let nodes):
            if nodes.isEmpty { return .false }
            return .joined(try nodes.map { try compile($0, into: &output, visiting: &visiting) }, separator: " OR ")
        case .not(let inner):
            return try compile(inner, into: &output, visiting: &visiting).negated
        case .condition(let c):
            return try condition(c, into: &output, visiting: &visiting)
        }
    }

    func condition(_ c: FilterCondition, into output: inout Output, visiting: inout [Int64]) throws -> SQLFragment {
        switch c.kind {
        case .property(let test):
            return try property(test, into: &output)
        case .event(let test):
            guard subject == .profiles else { throw SegmentError.invalid("\(c.path): a company filter takes property items only") }
            return try event(test, into: &output)
        case .segment(let id, let member):
            guard subject == .profiles else { throw SegmentError.invalid("\(c.path): a company filter takes property items only") }
            if visiting.contains(id) {
                throw SegmentError.invalid("\(c.path): segment \(id) refers to itself through other segments")
            }
            guard let reference = try resolve(id) else { throw SegmentError.invalid("\(c.path).value: no segment with id \(id)") }
            output.segments.insert(id)
            let positive: SQLFragment
            switch reference {
            case .manual:
                positive = SQLFragment("p.id IN (SELECT profile_id FROM segment_members WHERE segment_id = ?)", [id.databaseValue])
            case .dynamic(let node):
                visiting.append(id)
                positive = try compile(node, into: &output, visiting: &visiting)
                visiting.removeLast()
            }
            return member ? positive : positive.negated
        }
    }

    // MARK: Properties

    func property(_ test: PropertyTest, into output: inout Output) throws -> SQLFragment {
        if test.op == .newerThanDays || test.op == .olderThanDays || FilterValues.isRelativeTime(test.value) { output.windowed = true }
        let positiveOp = test.op.negated ?? test.op
        var positive = test
        positive.op = positiveOp
        let fragment: SQLFragment
        switch subject == .companies && test.owner == .profile ? .company : test.owner {
        case .company where subject == .companies:
            let source = ValueSource.company(test.keys)
            if case .json(_, let path) = source { output.indexes.insert(PropertyIndex(table: .companies, path: path)) }
            fragment = PropertyPredicate(source: source, now: now).sql(for: positive)
        case .profile:
            let source = ValueSource.profile(test.keys)
            if case .json(_, let path) = source { output.indexes.insert(PropertyIndex(table: .profiles, path: path)) }
            fragment = PropertyPredicate(source: source, now: now).sql(for: positive)
        case .company:
            let source = ValueSource.company(test.keys)
            if case .json(_, let path) = source { output.indexes.insert(PropertyIndex(table: .companies, path: path)) }
            let inner = PropertyPredicate(source: source, now: now).sql(for: positive)
            fragment = SQLFragment("p.company_id IN (SELECT c.id FROM companies c WHERE c.account_id = ? AND ", [account.databaseValue])
                + inner + SQLFragment(")")
        case .event:
            fragment = PropertyPredicate(source: .json(alias: "e", path: ValueSource.jsonPath(test.keys)), now: now).sql(for: positive)
        }
        return test.op.negated == nil ? fragment : fragment.negated
    }

    // MARK: Events

    func event(_ test: EventTest, into output: inout Output) throws -> SQLFragment {
        var set = SQLFragment(
            "SELECT e.profile_id FROM events e WHERE e.name_id = (SELECT id FROM event_names WHERE account_id = ? AND uid = ?)",
            [account.databaseValue, test.name.databaseValue])
        switch test.window {
        case .ever: break
        case .newerThan(let days):
            output.windowed = true
            set = set + SQLFragment(" AND e.timestamp > ?", [Self.daysAgo(days, from: now).databaseValue])
        case .olderThan(let days):
            output.windowed = true
            set = set + SQLFragment(" AND e.timestamp < ?", [Self.daysAgo(days, from: now).databaseValue])
        }
        for filter in test.filters {
            set = set + SQLFragment(" AND ") + (try property(filter, into: &output))
        }
        if let restrictEventsTo { set = set + SQLFragment(" AND e.profile_id IN (SELECT profile_id FROM \(restrictEventsTo))") }
        let op = Self.countSQL[test.countOp] ?? ">="
        if test.matchesZero {
            return SQLFragment("p.id NOT IN (") + set + SQLFragment(" GROUP BY e.profile_id HAVING NOT (count(*) \(op) ?))", [test.count.databaseValue])
        }
        return SQLFragment("p.id IN (") + set + SQLFragment(" GROUP BY e.profile_id HAVING count(*) \(op) ?)", [test.count.databaseValue])
    }

    /// How many events of this test's name, window and filters the profile `p` did (explain's "actual").
    func eventCount(_ test: EventTest) throws -> SQLFragment {
        var output = Output(condition: .true)
        var count = SQLFragment(
            "SELECT count(*) FROM events e WHERE e.name_id = (SELECT id FROM event_names WHERE account_id = ? AND uid = ?) AND e.profile_id = p.id",
            [account.databaseValue, test.name.databaseValue])
        switch test.window {
        case .ever: break
        case .newerThan(let days): count = count + SQLFragment(" AND e.timestamp > ?", [Self.daysAgo(days, from: now).databaseValue])
        case .olderThan(let days): count = count + SQLFragment(" AND e.timestamp < ?", [Self.daysAgo(days, from: now).databaseValue])
        }
        for filter in test.filters { count = count + SQLFragment(" AND ") + (try property(filter, into: &output)) }
        return count
    }

    static let countSQL: [FilterOperator: String] = [.eq: "=", .ne: "<>", .gt: ">", .lt: "<", .gte: ">=", .lte: "<="]

    static func daysAgo(_ days: Double, from now: Timestamp) -> Int64 {
        now.milliseconds - Int64((days * 86_400_000).rounded())
    }
}
