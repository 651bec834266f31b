import PostgresNIO
import TroveCore

/// The segment compiler over PostgreSQL. The compiler asks synchronously for segments and event names;
/// here they are read first (the account's segments, then the event names the filter counts, found by a
/// first compilation that only records them), so compiling itself touches no connection.
enum PostgresCompiling {
    typealias Run = (PostgresQuery) async throws -> [PostgresRow]

    static func segments(account: Int64, _ run: Run) async throws -> [Segment] {
        try await run("SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) ORDER BY s.id")
            .map(PostgresRows.segment)
    }

    /// For checking a filter (what it refers to, whether it compiles): event names left unresolved.
    static func checker(account: Int64, now: Timestamp, segments: [Segment]) -> SegmentCompiler {
        SegmentCompiler(account: account, now: now, dialect: PostgresDialect(), resolve: SegmentCompiler.resolver(segments), eventName: { _ in nil })
    }

    /// For running `filter`: the event names it counts (through the segments it names too) resolved.
    /// `createsIndexes`: the caller creates the output's indexes before the statement runs.
    static func compiler(for filter: FilterNode, segment: Int64? = nil, account: Int64, now: Timestamp, segments: [Segment],
                         perProfile: Bool = false, createsIndexes: Bool = false, _ run: Run) async throws -> SegmentCompiler {
        let recorder = NameRecorder()
        _ = try SegmentCompiler(account: account, now: now, dialect: PostgresDialect(), resolve: SegmentCompiler.resolver(segments),
                                eventName: { recorder.names.insert($0); return nil }).compile(filter, segment: segment)
        var names: [String: SegmentCompiler.EventName] = [:]
        if !recorder.names.isEmpty {
            let rows = try await run(
                """
                SELECT n.uid, n.id, n.count, i.indexname IS NOT NULL FROM event_names n
                LEFT JOIN pg_indexes i ON i.schemaname = current_schema() AND i.tablename = 'events' AND i.indexname = 'events_of_name_' || n.id
                WHERE n.account_id = \(account) AND n.uid = ANY(\(Array(recorder.names)))
                """)
            for row in rows {
                let (uid, id, count, indexed) = try row.decode((String, Int64, Int64, Bool).self)
                names[uid] = SegmentCompiler.EventName(id: id, indexed: indexed || createsIndexes, events: count)
            }
        }
        return SegmentCompiler(account: account, now: now, dialect: PostgresDialect(), perProfile: perProfile,
                               resolve: SegmentCompiler.resolver(segments), eventName: { names[$0] })
    }

    /// The event names a first compilation asked for (it runs synchronously, on one task).
    final class NameRecorder: @unchecked Sendable {
        var names: Set<String> = []
    }
}
