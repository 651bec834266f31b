import Foundation
import GRDB
import Testing
@testable import TroveCore

/// A chunk's events are held on the writer and inserted many rows to a statement (`HeldEvents`): what is
/// stored must be what inserting them one at a time stores, row for row, ids included.
@Suite struct HeldEventsTests {
    /// 75 events (two full statements and a remainder) over five people, some late, some with a
    /// `message_id` between held ones, one repeating an earlier key, one with a display name of its own.
    static let bodies: [String] = (0..<75).map { i in
        let second = i % 7 == 3 ? 59 - i % 60 : i % 60  // every seventh goes back in time: a late event
        var body = #"{"uid":"p\#(i % 5)","name":"\#(i == 20 ? "completed tour" : "Completed Tour")","timestamp":"2026-02-01T00:00:\#(String(format: "%02d", second))Z""#
        if i == 10 || i == 40 { body += #","message_id":"m\#(i)""# }
        if i == 41 { body += #","message_id":"m10""# }
        if i % 3 == 0 { body += #","step":\#(i)"# }
        return body + "}"
    }

    static func items() throws -> [Ingestor.Item] {
        try bodies.map { try Ingestor.parseItem(try JSONParser.parse(Array($0.utf8)), model: .event, normalizer: ValueNormalizer(now: fixedNow), source: .hook) }
    }

    static func storedEvents(_ db: AppDatabase) async throws -> [String] {
        try await db.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.id, p.uid, e.name_id, e.timestamp, e.received_at, e.source, e.dedupe_key, e.display_name, e.properties, e.prev_id
                FROM events e JOIN profiles p ON p.id = e.profile_id ORDER BY e.id
                """).map(\.description)
        }
    }

    @Test func aChunkStoresWhatOneAtATimeStoresWithTheIdsItReports() async throws {
        let held = try await AccountDatabase()
        let outcomes = try await held.ingestor.ingest(items: try Self.items(), account: held.account)
        let single = try await AccountDatabase()
        var singleOutcomes: [ItemOutcome] = []
        for body in Self.bodies {
            singleOutcomes.append(.stored(try await single.ingestor.ingest(.event, account: single.account, body: Array(body.utf8))))
        }

        let stored = try await Self.storedEvents(held.db)
        #expect(stored.count == 74, "the repeated message_id stored nothing")
        #expect(stored == (try await Self.storedEvents(single.db)))
        #expect(outcomes[41] == .duplicate(try #require(outcomes[10].rowID)))
        #expect(outcomes.map(\.rowID) == singleOutcomes.map(\.rowID))
        let ids = try await held.db.pool.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM events ORDER BY id") }
        #expect(ids == outcomes.enumerated().filter { $0.offset != 41 }.map { $0.element.rowID! }, "each reported id is its own row's")
        #expect(ids == Array(1...74))

        // A second chunk continues from the log's top, and its repeated key finds the first chunk's event.
        let again = try await held.ingestor.ingest(items: Array(try Self.items().prefix(12)), account: held.account)
        #expect(again[0].rowID == 75)
        #expect(again[10] == .duplicate(try #require(outcomes[10].rowID)))
        #expect(again[11].rowID == 85)
    }
}
