import PostgresNIO
import TroveCore

/// Ad-hoc audience questions on PostgreSQL (contract §5 `/v3/analyze/…`, §6 preview): a filter compiled by
/// the one compiler and evaluated now, each question one statement.
public struct PostgresAudienceStore: AudienceStore {
    public let database: PostgresAppDatabase
    public let clock: TroveClock

    public init(database: PostgresAppDatabase, clock: TroveClock) {
        self.database = database
        self.clock = clock
    }

    var run: PostgresCompiling.Run { { try await database.heavyQuery($0) } }

    public func preview(account: Int64, filter: FilterNode, editing: Int64?) async throws -> SegmentQueries.Preview {
        let now = clock.now()
        let segments = try await PostgresCompiling.segments(account: account, run)
        if let editing, !segments.contains(where: { $0.id == editing }) { throw SegmentError.notFound("no segment with id \(editing)") }
        let compiler = try await PostgresCompiling.compiler(for: filter, segment: editing, account: account, now: now, segments: segments, run)
        let matched = try compiler.membersQuery(filter, segment: editing, columns: "p.id").named("matched")
        let segment = editing ?? 0
        let counts = matched + SQLFragment(
            """
             SELECT (SELECT count(*) FROM matched),
              (SELECT count(*) FROM matched WHERE NOT EXISTS (
                  SELECT 1 FROM segment_members m WHERE m.account_id = ? AND m.segment_id = ? AND m.profile_id = matched.id)),
              (SELECT count(*) FROM segment_members m WHERE m.account_id = ? AND m.segment_id = ? AND NOT EXISTS (
                  SELECT 1 FROM matched WHERE matched.id = m.profile_id)),
              ARRAY(SELECT coalesce(p.uid, p.email) FROM profiles p JOIN matched ON p.id = matched.id WHERE p.account_id = ?
                    ORDER BY p.id DESC LIMIT 20)
            """, [.integer(account), .integer(segment), .integer(account), .integer(segment), .integer(account)])
        let (count, entering, exiting, sample) = try await database.heavyQuery(counts.postgresQuery)[0].decode((Int64, Int64, Int64, [String]).self)
        return SegmentQueries.Preview(count: count, sample: sample, entering: editing == nil ? count : entering, exiting: editing == nil ? 0 : exiting)
    }

    public func profiles(account: Int64, audience: SegmentQueries.Audience, limit: Int, before: Int64?) async throws -> Page<ProfileRecord> {
        let query = SQLFragment("SELECT \(PostgresRows.profileColumns) FROM profiles p WHERE ")
            + (try await selection(account: account, audience: audience, subject: .profiles))
            + SQLFragment(" AND p.id < ? ORDER BY p.id DESC LIMIT ?", [.integer(before ?? .max), .integer(Int64(limit))])
        return Page(try await database.heavyQuery(query.postgresQuery).map(PostgresRows.profile), limit: limit, id: \.id)
    }

    public func companies(account: Int64, audience: SegmentQueries.Audience, limit: Int, before: Int64?) async throws -> Page<CompanyRecord> {
        let query = SQLFragment("SELECT \(PostgresRows.companyColumns) FROM companies c WHERE ")
            + (try await selection(account: account, audience: audience, subject: .companies))
            + SQLFragment(" AND c.id < ? ORDER BY c.id DESC LIMIT ?", [.integer(before ?? .max), .integer(Int64(limit))])
        return Page(try await database.heavyQuery(query.postgresQuery).map(PostgresRows.company), limit: limit, id: \.id)
    }

    public func count(account: Int64, audience: SegmentQueries.Audience, companies: Bool) async throws -> Int64 {
        let query = SQLFragment(companies ? "SELECT count(*) FROM companies c WHERE " : "SELECT count(*) FROM profiles p WHERE ")
            + (try await selection(account: account, audience: audience, subject: companies ? .companies : .profiles))
        return try await database.heavyQuery(query.postgresQuery)[0].decode(Int64.self)
    }

    public func evaluate(account: Int64, segment id: Int64) async throws -> Int64 {
        let segments = try await PostgresCompiling.segments(account: account, run)
        guard let segment = segments.first(where: { $0.id == id }) else { throw SegmentError.notFound("no segment with id \(id)") }
        guard let filter = try segment.filter() else { throw SegmentError.invalid("segment \(id) is manual: it has no filter to evaluate") }
        let compiler = try await PostgresCompiling.compiler(for: filter, segment: id, account: account, now: clock.now(), segments: segments, run)
        let query = try compiler.membersQuery(filter, segment: id, columns: "count(*)")
        return try await database.heavyQuery(query.statement().postgresQuery)[0].decode(Int64.self)
    }

    func selection(account: Int64, audience: SegmentQueries.Audience, subject: SegmentCompiler.Subject) async throws -> SQLFragment {
        let scope = SQLFragment("\(subject == .profiles ? "p" : "c").account_id = ?", [.integer(account)])
        switch audience {
        case .everyone:
            return scope
        case .segment(let id):
            guard subject == .profiles else { throw SegmentError.invalid("segment_id: selects profiles, not companies") }
            guard try await !database.heavyQuery("SELECT 1 FROM segments WHERE account_id = \(account) AND id = \(id)").isEmpty else {
                throw SegmentError.notFound("no segment with id \(id)")
            }
            return scope + SQLFragment(" AND ") + PostgresDialect().manualMember(account: account, segment: id)
        case .filter(let filter):
            let segments = try await PostgresCompiling.segments(account: account, run)
            var compiler = try await PostgresCompiling.compiler(for: filter, account: account, now: clock.now(), segments: segments, run)
            compiler.subject = subject
            return scope + SQLFragment(" AND (") + (try compiler.compile(filter).condition) + SQLFragment(")")
        }
    }
}
