import PostgresNIO
import TroveCore

/// A person's events newest first (contract §5), in timeline order (timestamp, id). PostgreSQL keeps
/// `events_by_profile (account_id, profile_id, timestamp, id)` up to date as it writes, so a page is one
/// backward range of that index from the cursor: no chains to walk, as SQLite's `TimelineReader` must
/// (there an index kept at insert time cost most of the import rate; PostgreSQL's writers are several).
public struct PostgresTimelineStore: TimelineStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func timeline(account: Int64, _ request: TimelineRequest) async throws -> TimelinePage {
        guard let row = try await database.query(PostgresRows.profileQuery("p.id, p.uid", account: account, request.person)).first else {
            throw ReadError.notFound("no profile with \(request.person.describedForErrors)")
        }
        let (profile, uid) = try row.decode((Int64, String?).self)
        var page = TimelinePage(profileID: profile, uid: uid, events: [], limit: request.limit, before: nil)
        var names: [Int64] = []
        if let nameUID = request.nameUID {
            guard let id = try await database.query("SELECT id FROM event_names WHERE account_id = \(account) AND uid = \(nameUID)").first?
                .decode(Int64.self)
            else { return page }
            names = [id]
        }
        let time = request.before?.time ?? .max
        let id = request.before?.id ?? .max
        let rows = try await database.query(
            """
            SELECT e.id, e.timestamp, coalesce(e.display_name, n.name), e.properties::text
            FROM events e JOIN event_names n ON n.account_id = e.account_id AND n.id = e.name_id
            WHERE e.account_id = \(account) AND e.profile_id = \(profile) AND (e.timestamp, e.id) < (\(time), \(id))
              AND (cardinality(\(names)::bigint[]) = 0 OR e.name_id = ANY(\(names)::bigint[]))
            ORDER BY e.timestamp DESC, e.id DESC LIMIT \(Int64(request.limit))
            """)
        page.events = try rows.map(Self.event)
        if page.events.count == request.limit, let last = page.events.last {
            page.before = TimelineCursor(time: last.timestamp.milliseconds, id: last.id, next: 0)
        }
        return page
    }

    @inline(never)
    static func event(_ row: PostgresRow) throws -> TimelineEvent {
        let (id, time, name, properties) = try row.decode((Int64, Int64, String, String?).self)
        return try TimelineEvent(id: id, name: name, timestamp: time, properties: properties)
    }
}
