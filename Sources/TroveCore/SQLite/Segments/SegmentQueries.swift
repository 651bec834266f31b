import GRDB

/// Ad-hoc audience questions answered by evaluating a filter now (contract §5 `/v3/analyze/profiles`, §6
/// preview), each one prepared statement over one read snapshot.
public struct SegmentQueries: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    /// What an audience query selects: a filter, or a segment's materialized membership.
    public enum Audience: Sendable {
        case filter(FilterNode)
        case segment(Int64)
        case everyone
    }

    /// `POST /v3/edit/segments/preview`: count, a sample of uids, and how many would enter or leave the
    /// segment `editing` (when given) if the body were saved.
    /// How many profiles a filter selects, a sample of their uids (newest first), and for a segment being
    /// edited how many would enter and leave it.
    public struct Preview: Sendable, Equatable {
        public var count: Int64
        public var sample: [String]
        public var entering: Int64
        public var exiting: Int64

        public init(count: Int64, sample: [String], entering: Int64, exiting: Int64) {
            self.count = count
            self.sample = sample
            self.entering = entering
            self.exiting = exiting
        }
    }

    public func preview(account: Int64, filter: FilterNode, editing: Int64?) async throws -> Preview {
        let now = clock.now()
        return try await database.heavyRead { db in
            if let editing { _ = try SegmentReader.segment(db, account: account, id: editing) }
            let compiler = SegmentCompiler.over(db, account: account, now: now)
            let matched = try compiler.membersQuery(filter, segment: editing, columns: "p.id").resolved(db).named("matched")
            let segment = (editing ?? 0).sqlValue
            let counts = matched + SQLFragment("""
                 SELECT (SELECT count(*) FROM matched),
                  (SELECT count(*) FROM matched WHERE id NOT IN (SELECT profile_id FROM segment_members WHERE segment_id = ?)),
                  (SELECT count(*) FROM segment_members WHERE segment_id = ? AND profile_id NOT IN (SELECT id FROM matched))
                """, [segment, segment])
            let row = try Row.fetchOne(db.cachedStatement(sql: counts.sql), arguments: counts.statementArguments)!
            let sample = matched + SQLFragment(" SELECT coalesce(p.uid, p.email) FROM profiles p WHERE p.id IN (SELECT id FROM matched) ORDER BY p.id DESC LIMIT 20")
            let uids = try String.fetchAll(db.cachedStatement(sql: sample.sql), arguments: sample.statementArguments)
            return Preview(count: row[0], sample: uids, entering: editing == nil ? row[0] : row[1], exiting: editing == nil ? 0 : row[2])
        }
    }

    /// `GET|POST /v3/analyze/profiles`: newest first, paged by `before`.
    public func profiles(account: Int64, audience: Audience, limit: Int, before: Int64?) async throws -> Page<ProfileRecord> {
        try await database.heavyRead { db in
            let selection = try self.selection(db, account: account, audience: audience, subject: .profiles)
            let query = SQLFragment("SELECT \(ProfileRecord.columns) FROM profiles p WHERE ") + selection
                + SQLFragment(" AND p.id < ? ORDER BY p.id DESC LIMIT ?", [(before ?? .max).sqlValue, limit.sqlValue])
            let rows = try Row.fetchAll(db.cachedStatement(sql: query.sql), arguments: query.statementArguments)
            return Page(try rows.map(ProfileRecord.init), limit: limit, id: \.id)
        }
    }

    /// `GET|POST /v3/analyze/companies`.
    public func companies(account: Int64, audience: Audience, limit: Int, before: Int64?) async throws -> Page<CompanyRecord> {
        try await database.heavyRead { db in
            let selection = try self.selection(db, account: account, audience: audience, subject: .companies)
            let query = SQLFragment("SELECT \(CompanyRecord.columns) FROM companies c WHERE ") + selection
                + SQLFragment(" AND c.id < ? ORDER BY c.id DESC LIMIT ?", [(before ?? .max).sqlValue, limit.sqlValue])
            let rows = try Row.fetchAll(db.cachedStatement(sql: query.sql), arguments: query.statementArguments)
            return Page(try rows.map(CompanyRecord.init), limit: limit, id: \.id)
        }
    }

    /// `.../profiles/count` and `.../companies/count`.
    public func count(account: Int64, audience: Audience, companies: Bool) async throws -> Int64 {
        try await database.heavyRead { db in
            let selection = try self.selection(db, account: account, audience: audience, subject: companies ? .companies : .profiles)
            let query = SQLFragment(companies ? "SELECT count(*) FROM companies c WHERE " : "SELECT count(*) FROM profiles p WHERE ") + selection
            return try Int64.fetchOne(db.cachedStatement(sql: query.sql), arguments: query.statementArguments) ?? 0
        }
    }

    /// Full evaluation of a segment's filter as of now, without storing anything (`trove segments eval`,
    /// the benchmark): the member count.
    public func evaluate(account: Int64, segment id: Int64) async throws -> Int64 {
        let now = clock.now()
        return try await database.heavyRead { db in
            let segment = try SegmentReader.segment(db, account: account, id: id)
            guard let (_, members) = try MembershipEvaluator.membersQuery(segment: id, account: account, now: now, db: db, columns: "count(*)") else {
                throw SegmentError.invalid("segment \(segment.id) is manual: it has no filter to evaluate")
            }
            let query = try members.resolved(db).statement()
            return try Int64.fetchOne(db.cachedStatement(sql: query.sql), arguments: query.statementArguments) ?? 0
        }
    }

    func selection(_ db: Database, account: Int64, audience: Audience, subject: SegmentCompiler.Subject) throws -> SQLFragment {
        let alias = subject == .profiles ? "p" : "c"
        let scope = SQLFragment("\(alias).account_id = ?", [account.sqlValue])
        switch audience {
        case .everyone:
            return scope
        case .segment(let id):
            guard subject == .profiles else { throw SegmentError.invalid("segment_id: selects profiles, not companies") }
            _ = try SegmentReader.segment(db, account: account, id: id)
            return scope + SQLFragment(" AND p.id IN (SELECT profile_id FROM segment_members WHERE segment_id = ?)", [id.sqlValue])
        case .filter(let filter):
            var compiler = SegmentCompiler.over(db, account: account, now: clock.now())
            compiler.subject = subject
            return scope + SQLFragment(" AND (") + (try compiler.compile(filter).condition) + SQLFragment(")")
        }
    }
}
