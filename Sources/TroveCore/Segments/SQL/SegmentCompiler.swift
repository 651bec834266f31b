/// Compiles a filter tree into one boolean SQL expression over `profiles p` (contract §6). Values are bound,
/// never spliced; spliced are only property paths as JSON-path literals (normalized names only), so that
/// the expression indexes `SegmentIndex` creates match them, and event-name ids read from `event_names`,
/// so that SQLite can use the partial index of that name.
///
/// The plan it aims for, measured on the reference set (README, segments): the top-level AND's profile
/// properties are one range of one composite index, read without touching a profile row; its company
/// condition is a set of company ids from the company index; its event conditions are counted per
/// surviving profile with one seek each into the name's index (about 28k seeks, not a 260k-entry window
/// grouped with a sort) — or, where the engine keeps each profile's latest times of the name, only the
/// candidates among that index's range are kept, and "at least once or twice" is then counted only for the
/// profiles with events past those times. Where no property narrows the profiles first (an event-only
/// segment, a condition under OR or NOT), an event condition is the set of profiles grouped in index order
/// instead.
public struct SegmentCompiler {
    /// What a segment condition refers to.
    public enum Reference {
        case manual
        case dynamic(FilterNode)
    }

    /// Resolves segment conditions among `segments` (an account's).
    public static func resolver(_ segments: [Segment]) -> (Int64) throws -> Reference? {
        let byID = Dictionary(segments.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return { id in try byID[id]?.reference() }
    }

    public struct Output {
        public var condition: SQLFragment
        /// Whether membership can change with time alone (event windows, `gt-d`/`lt-d`, `$now`, `-7d`).
        public var windowed = false
        /// Indexes the condition is meant to use (`SegmentIndex.ensure` creates them before a build).
        public var indexes: Set<SegmentIndex> = []
        /// Segments referred to, directly or through others.
        public var segments: Set<Int64> = []
        /// The top-level AND split where its events are counted per candidate profile (`condition` is the
        /// parts joined). A members query can then find the candidates first and seek their events in
        /// profile-id order (`SQLDialect.seeksCandidatesInOrder`).
        public var candidatesFirst: CandidatesFirst?
        /// An event condition was compiled as a count per candidate (one seek each).
        var countsPerCandidate = false
        /// `CandidateCount.few`: the most candidates for which a seek each costs less than a pass over the
        /// index of every name counted.
        var candidateLimit: Int64?
    }

    /// The top-level AND of a filter whose events are counted per candidate, in three parts.
    public struct CandidatesFirst {
        /// The conditions on the profile row that narrow the profiles through the composite index (other than
        /// the company ones below), over `profiles p`.
        public var narrowing: SQLFragment
        /// The positive company conditions, each as the query of the company ids that pass it
        /// (`SELECT c.id FROM companies c WHERE …`): a candidate's `company_id` must be in every one.
        public var companies: [SQLFragment]
        /// The event counts, over a candidate `p` (only `p.id` is read).
        public var events: SQLFragment
        /// Queries of profile ids a candidate must be among to pass `events` (a superset of those that do:
        /// `EventName.profilesDoing`), one per event condition that has them; each id may come more than once.
        public var required: [SQLFragment] = []
        /// `events` for candidates already among every `required` query's profiles: the conditions those
        /// answer exactly count only the tail's profiles (`EventName.profilesDoing`). Nil when none does.
        public var trusting: SQLFragment?
    }

    /// What the filter selects: profiles (`profiles p`), or companies (`companies c`, property items only).
    public enum Subject: Sendable { case profiles, companies }

    let account: Int64
    let now: Timestamp
    public let dialect: any SQLDialect
    public var subject = Subject.profiles
    /// Segment conditions: what segment `id` is (nil: none such).
    let resolve: (Int64) throws -> Reference?
    /// Event conditions: an event name's id (nil: never seen, so nobody did it), and whether its index
    /// will be there when the statement runs.
    let eventName: (String) throws -> EventName?
    /// Count every event condition per profile (re-checking a few touched profiles, explain) rather
    /// than as the set of all profiles that qualify.
    var perProfile = false
    /// How the top-level AND's candidates are sized where a seek per candidate is an option.
    var candidateCount = CandidateCount.counted

    enum CandidateCount {
        /// Counted when compiling (`candidates`), up to the point where a pass over a name's index costs less.
        case counted
        /// Taken as few (a seek each); `Output.candidateLimit` says up to how many that holds, for a caller
        /// that finds the candidates first and counts them as it goes.
        case few
        /// Taken as too many: every event condition is one pass over its name's index.
        case many
    }

    public struct EventName {
        var id: Int64
        /// Without its index, counting per profile would scan every event once per profile: the set form
        /// scans them once.
        var indexed: Bool
        /// How many events have the name (`event_names.count`): what the set form reads.
        var events: Int64 = 0
        /// Where the engine keeps each profile's two latest times of the name, and only while they can be read
        /// now (nil otherwise; asked only for a staged members query): the query of the profiles that did it at
        /// least `k` (1 or 2) times later than `after` or have events `tail` names, and the query of the
        /// profiles with events of the name the latest times do not reflect yet.
        var profilesDoing: ((_ k: Int64, _ after: Int64) throws -> (profiles: SQLFragment, tail: SQLFragment)?)?

        public init(id: Int64, indexed: Bool, events: Int64, profilesDoing: ((Int64, Int64) throws -> (profiles: SQLFragment, tail: SQLFragment)?)? = nil) {
            self.id = id
            self.indexed = indexed
            self.events = events
            self.profilesDoing = profilesDoing
        }
    }

    /// How many profiles pass `condition` (the top-level AND's properties), counted no further than
    /// `limit`, through the composite index; nil when that index is not there to count with.
    let candidates: ((_ condition: SQLFragment, _ limit: Int64, _ index: SegmentIndex) throws -> Int64?)?

    /// One seek per candidate profile costs about as much as reading this many entries of the name's
    /// index in order (measured on the reference set: 24k seeks ≈ 30 ms, 778k entries grouped ≈ 100 ms).
    static let seekCost: Int64 = 8

    public init(account: Int64, now: Timestamp, dialect: any SQLDialect, perProfile: Bool = false, resolve: @escaping (Int64) throws -> Reference?,
         eventName: @escaping (String) throws -> EventName?,
         candidates: ((SQLFragment, Int64, SegmentIndex) throws -> Int64?)? = nil) {
        self.account = account
        self.now = now
        self.dialect = dialect
        self.perProfile = perProfile
        self.resolve = resolve
        self.eventName = eventName
        self.candidates = candidates
    }

    /// The segments among `segments` that refer to `id`, directly or through others.
    public func dependents(of id: Int64, among segments: [Segment]) throws -> [Segment] {
        try segments.filter { segment in
            // A stored definition that does not parse is an error, not "refers to nothing"; one that no
            // longer compiles (a segment it names is gone) refers to nothing that exists.
            guard segment.id != id, let filter = try segment.filter() else { return false }
            let compiled = try? compile(filter, segment: segment.id)
            return compiled?.segments.contains(id) ?? false
        }
    }

    /// Where a condition stands in the filter.
    struct Placement {
        /// A condition of the top-level AND whose profile properties a composite index seeks on: its
        /// event conditions are counted per candidate, and its company condition must not drive the plan
        /// (SQLite's estimates would otherwise start from the company's profiles).
        var narrowed = false
        /// A profile property covered by the top-level AND's composite index (no index of its own).
        var covered = false
        /// At most how many profiles the top-level AND's properties let through (nil: not counted). An event
        /// condition is counted per profile only when that is a small share of the name's events.
        var candidates: Int64?
    }

    /// A profile property the composite index answers without reading the row.
    func isIndexedProfileProperty(_ node: FilterNode) -> Bool {
        guard case .condition(let c) = node, case .property(let test) = c.kind, test.owner == .profile,
              case .json = ValueSource.profile(test.path, dialect: dialect) else { return false }
        return true
    }

    /// At most how many profiles pass the top-level AND's properties, counted no further than `limit`
    /// (nil: not counted). The conditions the composite index answers alone go first: their count is an
    /// upper bound, and under the limit it decides. Only otherwise is every condition counted — the company
    /// one costs a lookup per candidate: at 10× the reference set ~150 of the count's ~175 ms, at 1× ~15 ms
    /// of each evaluation's ~50.
    func countCandidates(_ parts: [SQLFragment], indexed: [SQLFragment], limit: Int64, index: SegmentIndex) throws -> Int64? {
        guard let candidates else { return nil }
        if !indexed.isEmpty, indexed.count < parts.count, let bound = try candidates(.joined(indexed, separator: " AND "), limit, index), bound < limit {
            return bound
        }
        return try candidates(.joined(parts, separator: " AND "), limit, index)
    }

    public func compile(_ node: FilterNode, segment: Int64? = nil) throws -> Output {
        var output = Output(condition: dialect.true)
        var visiting: [Int64] = segment.map { [$0] } ?? []
        guard subject == .profiles, case .all = node else {
            output.condition = try compile(node, into: &output, visiting: &visiting)
            return output
        }
        let items = Self.conjuncts(node)
        let index = compositeIndex(items)
        var placement = Placement()
        if let index {
            output.indexes.insert(index.index)
            placement = Placement(narrowed: index.seeks, covered: true)
        }
        // Events last: SQLite tests the terms it does not seek on in the order written.
        let events = items.filter(\.isEventCondition)
        var parts: [SQLFragment] = [], indexed: [SQLFragment] = [], narrowing: [SQLFragment] = [], companies: [SQLFragment] = []
        for item in items where !item.isEventCondition {
            let part = try compile(item, into: &output, visiting: &visiting, placement: placement)
            parts.append(part)
            if isIndexedProfileProperty(item) { indexed.append(part) }
            if placement.narrowed, let ids = companyIDs(item) { companies.append(ids) } else { narrowing.append(part) }
        }
        if placement.narrowed, !perProfile, let index, !events.isEmpty {
            let counts = try events.compactMap { node -> Int64? in
                guard case .condition(let c) = node, case .event(let test) = c.kind else { return nil }
                return try eventName(test.name)?.events
            }
            if let most = counts.max(), most > 0 {
                switch candidateCount {
                case .counted:
                    placement.candidates = try countCandidates(parts, indexed: indexed, limit: most / Self.seekCost + 1, index: index.index)
                case .few:
                    output.candidateLimit = counts.min()! / Self.seekCost
                case .many:
                    placement.candidates = .max
                }
            }
        }
        let counts = try events.map { try compile($0, into: &output, visiting: &visiting, placement: placement) }
        if placement.narrowed, !perProfile, output.countsPerCandidate, !parts.isEmpty, !counts.isEmpty {
            let doing = try events.map(profilesDoing)
            let trusting = zip(counts, doing).map { count, doing in
                doing?.exceptTail.map { SQLFragment("(p.id NOT IN (") + $0 + SQLFragment(") OR ") + count + SQLFragment(")") } ?? count
            }
            output.candidatesFirst = CandidatesFirst(narrowing: narrowing.isEmpty ? dialect.true : .joined(narrowing, separator: " AND "),
                                                     companies: companies, events: .joined(counts, separator: " AND "),
                                                     required: doing.compactMap { $0?.profiles },
                                                     trusting: doing.contains { $0?.exceptTail != nil } ? .joined(trusting, separator: " AND ") : nil)
        }
        parts += counts
        output.condition = parts.isEmpty ? dialect.true : .joined(parts, separator: " AND ")
        return output
    }

    /// The top-level AND's conditions, nested ANDs flattened.
    static func conjuncts(_ node: FilterNode) -> [FilterNode] {
        guard case .all(let nodes) = node else { return [node] }
        return nodes.flatMap(conjuncts)
    }

    /// The composite index for the top-level AND's profile properties: equalities first (the planner
    /// seeks on all of them), then ranges (it seeks on the first), then the rest (read from the index
    /// rather than the row), then `company_id` when a company condition needs it.
    func compositeIndex(_ items: [FilterNode]) -> (index: SegmentIndex, seeks: Bool)? {
        var equalities: [PropertyPath] = [], ranges: [PropertyPath] = [], others: [PropertyPath] = []
        var company = false
        for case .condition(let c) in items {
            guard case .property(let test) = c.kind else { continue }
            if test.owner == .company { company = true; continue }
            guard test.owner == .profile, case .json(_, let path) = ValueSource.profile(test.path, dialect: dialect) else { continue }
            switch test.op {
            case .eq where !test.asStrings:
                if case .bool = PropertyPredicate(source: .text(""), now: now, dialect: dialect).typed(test.value, key: test.keys.last ?? "") {
                    others.append(path)
                } else {
                    equalities.append(path)
                }
            case .gt, .gte, .lt, .lte, .newerThanDays, .olderThanDays: ranges.append(path)
            default: others.append(path)
            }
        }
        var paths: [PropertyPath] = []
        let byText = { (a: PropertyPath, b: PropertyPath) in a.jsonPath < b.jsonPath }
        for path in equalities.sorted(by: byText) + ranges.sorted(by: byText) + others.sorted(by: byText) where !paths.contains(path) {
            paths.append(path)
        }
        guard !paths.isEmpty else { return nil }
        return (SegmentIndex.profileProperties(Array(paths.prefix(Self.maxIndexedProperties)), company: company),
                !equalities.isEmpty || !ranges.isEmpty)
    }

    /// Members-query columns the candidates alone answer.
    static let idColumns: Set<String> = ["p.id", "count(*)"]

    /// Properties per composite index; conditions past these read the row.
    static let maxIndexedProperties = 8

    /// A statement selecting from the members of a filter.
    public struct MembersQuery {
        /// The members as one statement.
        public var select: SQLFragment
        public var output: Output
        /// Where the dialect seeks candidates in order (SQLite): the candidates are found by queries of their
        /// own first, and the members are then selected from them (`Staged`) — or, past `Staged.limit`
        /// candidates, by `select`. An engine runs these instead of `select`.
        public var staged: Staged?

        /// `[INSERT INTO table (profile_id)] SELECT …`.
        public func statement(insertingInto table: String? = nil) -> SQLFragment {
            table.map { SQLFragment("INSERT INTO \($0) (profile_id) ") + select } ?? select
        }

        /// `WITH name(id) AS MATERIALIZED (SELECT …)`, to be followed by a statement over `name`.
        public func named(_ name: String) -> SQLFragment {
            SQLFragment("WITH \(name)(id) AS MATERIALIZED (") + select + SQLFragment(")")
        }
    }

    /// A members query in steps: the candidates' rows, the company ids they must be among, then the members
    /// among the candidates, each counted by seeks into the names' indexes in profile-id order.
    public struct Staged: Sendable {
        /// `SELECT p.id, p.company_id FROM profiles p WHERE …`: the candidates before their company conditions.
        public var candidates: SQLFragment
        /// Past this many candidates, `MembersQuery.select` instead: every event condition one pass over its
        /// name's index.
        public var limit: Int64
        /// `CandidatesFirst.companies`.
        public var companies: [SQLFragment]
        /// `CandidatesFirst.required`.
        public var required: [SQLFragment]
        /// The statement selecting the members from a table `candidates(id)` of the candidates in id order,
        /// which the engine defines before it (`WITH candidates(id) AS (…) ` + this).
        public var members: SQLFragment
        /// `members` over candidates already among every `required` query's profiles
        /// (`CandidatesFirst.trusting`).
        public var trustingMembers: SQLFragment?
    }

    /// Selects `columns` from the members of `node` (enabled profiles of the account).
    ///
    /// Measured on the reference set: SQLite already checks `p.id IN (<event subquery>)` on the rowid from
    /// the property index before it reads the row, so the event subquery acts as the first filter and only
    /// the few survivors have their JSON read. Where events are counted per candidate the candidates come
    /// first, sorted by id (`Output.candidatesFirst`, `staged`): unsorted they were 2× slower on the
    /// reference set, sorted 2.5–3× faster cold at 3× it (each page of the name's index read once, in order).
    ///
    /// Staged, the candidates are not counted when compiling: the caller counts them as it finds them, and
    /// past the limit runs the form without seeks (compiled too, counting nothing). At 10× the reference set
    /// the count at compile time read the composite index's 280k entries a second time (~30 ms).
    public func membersQuery(_ node: FilterNode, segment: Int64? = nil, columns: String) throws -> MembersQuery {
        let scope = SQLFragment("p.account_id = ? AND \(dialect.enabledProfile) AND (", [account.sqlValue])
        func select(_ output: Output) -> SQLFragment {
            SQLFragment("SELECT \(columns) FROM profiles p WHERE ") + scope + output.condition + SQLFragment(")")
        }
        guard dialect.seeksCandidatesInOrder, candidateCount == .counted, !perProfile else {
            let output = try compile(node, segment: segment)
            return MembersQuery(select: select(output), output: output)
        }
        var seeking = self
        seeking.candidateCount = .few
        let output = try seeking.compile(node, segment: segment)
        // No event counted per candidate even when they are taken as few: what counting them would compile.
        guard let split = output.candidatesFirst else { return MembersQuery(select: select(output), output: output) }
        var otherwise = output
        if output.candidateLimit != nil {
            var passing = self
            passing.candidateCount = .many
            otherwise = try passing.compile(node, segment: segment)
        }
        // The candidates are named `p` again so the counts' `p.id` is theirs. Ids or a count need no profile
        // row: reading the members' rows cost a random page each, cold.
        func members(_ events: SQLFragment) -> SQLFragment {
            Self.idColumns.contains(columns)
                ? SQLFragment("SELECT \(columns) FROM candidates p WHERE ") + events
                : SQLFragment("SELECT \(columns) FROM profiles p WHERE p.id IN (SELECT p.id FROM candidates p WHERE ") + events + SQLFragment(")")
        }
        let staged = Staged(candidates: SQLFragment("SELECT p.id, p.company_id FROM profiles p WHERE ") + scope + split.narrowing + SQLFragment(")"),
                            limit: output.candidateLimit ?? .max, companies: split.companies, required: split.required, members: members(split.events),
                            trustingMembers: split.trusting.map(members))
        return MembersQuery(select: select(otherwise), output: output, staged: staged)
    }

    private func compile(_ node: FilterNode, into output: inout Output, visiting: inout [Int64], placement: Placement = Placement()) throws -> SQLFragment {
        switch node {
        case .all(let nodes):
            if nodes.isEmpty { return dialect.true }
            return .joined(try nodes.map { try compile($0, into: &output, visiting: &visiting) }, separator: " AND ")
        case .any(let nodes):
            if nodes.isEmpty { return dialect.false }
            return .joined(try nodes.map { try compile($0, into: &output, visiting: &visiting) }, separator: " OR ")
        case .not(let inner):
            return dialect.not(try compile(inner, into: &output, visiting: &visiting))
        case .condition(let c):
            return try condition(c, into: &output, visiting: &visiting, placement: placement)
        }
    }

    func condition(_ c: FilterCondition, into output: inout Output, visiting: inout [Int64], placement: Placement = Placement()) throws -> SQLFragment {
        switch c.kind {
        case .property(let test):
            return try property(test, into: &output, placement: placement)
        case .event(let test):
            guard subject == .profiles else { throw SegmentError.invalid("\(c.path): a company filter takes property items only") }
            return try event(test, into: &output, placement: placement)
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
                positive = dialect.manualMember(account: account, segment: id)
            case .dynamic(let node):
                visiting.append(id)
                positive = try compile(node, into: &output, visiting: &visiting)
                visiting.removeLast()
            }
            return member ? positive : dialect.not(positive)
        }
    }

    // MARK: Properties

    func property(_ test: PropertyTest, into output: inout Output, placement: Placement = Placement()) throws -> SQLFragment {
        if test.op == .newerThanDays || test.op == .olderThanDays || FilterValues.isRelativeTime(test.value) { output.windowed = true }
        let positiveOp = test.op.negated ?? test.op
        var positive = test
        positive.op = positiveOp
        let fragment: SQLFragment
        switch subject == .companies && test.owner == .profile ? .company : test.owner {
        case .company where subject == .companies:
            let source = ValueSource.company(test.path)
            if case .json(_, let path) = source { output.indexes.insert(.companyProperty(path)) }
            fragment = PropertyPredicate(source: source, now: now, dialect: dialect).sql(for: positive)
        case .profile:
            let source = ValueSource.profile(test.path, dialect: dialect)
            if case .json(_, let path) = source, !placement.covered { output.indexes.insert(.profileProperties([path])) }
            fragment = PropertyPredicate(source: source, now: now, dialect: dialect).sql(for: positive)
        case .company:
            let source = ValueSource.company(test.path)
            if case .json(_, let path) = source { output.indexes.insert(.companyProperty(path)) }
            // `+` keeps SQLite from driving the plan by `profiles_by_company` when the properties are narrower.
            fragment = SQLFragment("\(placement.narrowed ? "+" : "")p.company_id IN (") + companyIDs(source, positive) + SQLFragment(")")
        case .event:
            fragment = PropertyPredicate(source: .json(alias: "e", path: test.path), now: now, dialect: dialect).sql(for: positive)
        }
        return test.op.negated == nil ? fragment : dialect.not(fragment)
    }

    /// `SELECT c.id FROM companies c WHERE …`: the companies that pass `test` (the positive form).
    func companyIDs(_ source: ValueSource, _ test: PropertyTest) -> SQLFragment {
        SQLFragment("SELECT c.id FROM companies c WHERE c.account_id = ? AND ", [account.sqlValue])
            + PropertyPredicate(source: source, now: now, dialect: dialect).sql(for: test)
    }

    /// The company ids `node` asks a profile's `company_id` to be among, when it is a positive company
    /// condition. A negated one stays a test of the row: a profile without a company passes it, where it
    /// passes no positive one.
    func companyIDs(_ node: FilterNode) -> SQLFragment? {
        guard subject == .profiles, case .condition(let c) = node, case .property(let test) = c.kind, test.owner == .company,
              test.op.negated == nil else { return nil }
        return companyIDs(ValueSource.company(test.path), test)
    }

    // MARK: Events

    /// `perProfile`: `(SELECT count(*) … WHERE e.profile_id = p.id …) op n`, one seek per profile.
    /// Otherwise `p.id [NOT] IN (SELECT profile_id … GROUP BY profile_id HAVING …)`, one pass over the name's
    /// index in profile order; NOT IN when a profile without any such event qualifies (`lt 3`, `eq 0`).
    func event(_ test: EventTest, into output: inout Output, placement: Placement = Placement()) throws -> SQLFragment {
        if test.window != .ever { output.windowed = true }
        guard let name = try eventName(test.name) else {
            return test.matchesZero ? dialect.true : dialect.false  // nobody did it (yet): re-evaluated when it arrives
        }
        output.indexes.insert(.eventName(name.id))
        var matching = try events(test, name: name.id, into: &output)
        let op = Self.countSQL[test.countOp] ?? ">="
        let fewCandidates = placement.narrowed && (placement.candidates.map { $0 <= name.events / Self.seekCost } ?? true)
        if (perProfile || fewCandidates) && name.indexed {
            output.countsPerCandidate = true
            return SQLFragment("(SELECT count(*) FROM events e WHERE ") + matching + SQLFragment(" AND e.profile_id = p.id) \(op) ?", [test.count.sqlValue])
        }
        matching = SQLFragment("SELECT e.profile_id FROM events e WHERE ") + matching + SQLFragment(" GROUP BY e.profile_id HAVING ")
        if test.matchesZero {
            return SQLFragment("p.id NOT IN (") + matching + SQLFragment("NOT (count(*) \(op) ?))", [test.count.sqlValue])
        }
        return SQLFragment("p.id IN (") + matching + SQLFragment("count(*) \(op) ?)", [test.count.sqlValue])
    }

    /// The query of the profiles that can pass event condition `node` (`EventName.profilesDoing`), where the
    /// engine keeps latest times and the condition asks for at least one event within the last days or ever:
    /// at least k events later than the window's start means a k-th latest time after it. `exceptTail`: the
    /// query's profiles pass, but for those of the tail — "at least 1 or 2 times" with no
    /// filters on the events (these only narrow the count, and a third time is not kept).
    func profilesDoing(_ node: FilterNode) throws -> (profiles: SQLFragment, exceptTail: SQLFragment?)? {
        guard case .condition(let c) = node, case .event(let test) = c.kind, !test.matchesZero,
              let name = try eventName(test.name), let profilesDoing = name.profilesDoing else { return nil }
        // A count of 1 passing, or else only counts of 2 and more (none below passes: 0 does not).
        let k: Int64 = test.countOp.compare(Int64(1), test.count) ? 1 : 2
        let exact = test.filters.isEmpty && ((test.countOp == .gte && k == test.count) || (test.countOp == .gt && k == test.count + 1))
        let after: Int64
        switch test.window {
        case .ever: after = .min
        case .newerThan(let days): after = Self.daysAgo(days, from: now)
        case .olderThan: return nil
        }
        return try profilesDoing(k, after).map { ($0.profiles, exact ? $0.tail : nil) }
    }

    /// The events a test counts: its name (spliced: the partial index's own term), window and filters.
    func events(_ test: EventTest, name: Int64, into output: inout Output) throws -> SQLFragment {
        var matching = SQLFragment("e.name_id = \(name)") + dialect.eventsOfAccount(account)
        switch test.window {
        case .ever: break
        case .newerThan(let days): matching = matching + SQLFragment(" AND e.timestamp > ?", [Self.daysAgo(days, from: now).sqlValue])
        case .olderThan(let days): matching = matching + SQLFragment(" AND e.timestamp < ?", [Self.daysAgo(days, from: now).sqlValue])
        }
        for filter in test.filters {
            matching = matching + SQLFragment(" AND ") + (try property(filter, into: &output))
        }
        return matching
    }

    /// One condition of segment `segment`'s filter alone, as a test of profile `p` (explain).
    public func test(_ c: FilterCondition, segment: Int64) throws -> SQLFragment {
        var output = Output(condition: dialect.true)
        var visiting = [segment]
        return try condition(c, into: &output, visiting: &visiting)
    }

    /// How many events of this test's name, window and filters the profile `p` did (explain's "actual").
    public func eventCount(_ test: EventTest) throws -> SQLFragment {
        guard let name = try eventName(test.name) else { return SQLFragment("0") }
        var output = Output(condition: dialect.true)
        return SQLFragment("SELECT count(*) FROM events e WHERE ") + (try events(test, name: name.id, into: &output)) + SQLFragment(" AND e.profile_id = p.id")
    }

    static let countSQL: [FilterOperator: String] = [.eq: "=", .ne: "<>", .gt: ">", .lt: "<", .gte: ">=", .lte: "<="]

    /// The instant `days` before `now`. A window is clamped to ±3,660,000 days (10,000 years): every
    /// representable time is within that of any other, so a wider window selects the same rows — and the
    /// product of a huge filter value (`"int": 1e300`) cannot overflow.
    static func daysAgo(_ days: Double, from now: Timestamp) -> Int64 {
        let clamped = min(max(days, -maxWindowDays), maxWindowDays)
        return now.milliseconds - Int64((clamped * 86_400_000).rounded())
    }

    static let maxWindowDays: Double = 3_660_000
}
