import Foundation
import GRDB
import Testing
@testable import TroveCore

/// `trove import` of events in a process of its own: the writer's uid cache starts empty, and an import that
/// will name a good part of the stored profiles reads every uid first (`WriteQueue.prepareForEvents`).
@Suite struct ImportWarmingTests {
    /// 100 stored profiles; returns the database, its account and a file of events naming `uids` in turn.
    func setUp(events: Int, uids: Int) async throws -> (AccountDatabase, String) {
        let base = try await AccountDatabase()
        let profiles = (0..<100).map { #"{"uid":"p\#($0)","plan":"pro"}"# }.joined(separator: "\n")
        let profileFile = try write(profiles)
        _ = try await NDJSONImporter(ingestor: base.ingestor).run(path: profileFile, model: .profile, account: base.account)
        let lines = (0..<events).map { #"{"uid":"p\#($0 % uids)","name":"Seen","timestamp":"2026-02-01T00:00:\#(String(format: "%02d", $0 % 60))Z"}"# }
        return (base, try write(lines.joined(separator: "\n")))
    }

    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trove-import-\(UUID().uuidString).ndjson").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A writer of its own, its caches empty, as a second process has.
    func freshQueue(_ db: AppDatabase, cacheLimit: Int? = nil) -> WriteQueue {
        WriteQueue(database: db, clock: .fixed(fixedNow), cacheLimit: cacheLimit)
    }

    /// The uids of the events' profiles, in the order stored (one chunk: the file's order).
    func eventUIDs(_ db: AppDatabase) async throws -> [String] {
        try await db.pool.read { db in
            try String.fetchAll(db, sql: "SELECT p.uid FROM events e JOIN profiles p ON p.id = e.profile_id ORDER BY e.id")
        }
    }

    func named(events: Int, uids: Int) -> [String] { (0..<events).map { "p\($0 % uids)" } }

    @Test func aLargeImportReadsEveryUIDFirst() async throws {
        let (base, file) = try await setUp(events: 60, uids: 30)
        let queue = freshQueue(base.db)
        let summary = try await NDJSONImporter(ingestor: Ingestor(store: queue)).run(path: file, model: .event, account: base.account)
        #expect(summary.rows == 60)
        #expect(queue.caches.profiles.count == 100, "all 100 uids read, not only the 30 the events name")
        #expect(try await eventUIDs(base.db) == named(events: 60, uids: 30))
        let profiles = try await base.db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM profiles") }
        #expect(profiles == 100, "no profile created twice")
    }

    @Test func aSmallImportOrOneThatWouldNotFitLooksUpOnlyWhatItNames() async throws {
        let (base, file) = try await setUp(events: 20, uids: 10)
        let small = freshQueue(base.db)
        _ = try await NDJSONImporter(ingestor: Ingestor(store: small)).run(path: file, model: .event, account: base.account)
        #expect(small.caches.profiles.count == 10, "20 events beside 100 profiles: below a quarter")

        let (other, large) = try await setUp(events: 60, uids: 30)
        let tight = freshQueue(other.db, cacheLimit: 64)
        _ = try await NDJSONImporter(ingestor: Ingestor(store: tight)).run(path: large, model: .event, account: other.account)
        #expect(tight.caches.profiles.count == 30, "100 profiles do not fit a cache of 64")
        #expect(try await eventUIDs(other.db) == named(events: 60, uids: 30))
    }

    @Test func theWriterThatStoredTheProfilesDoesNotReadThemAgain() async throws {
        let (base, file) = try await setUp(events: 60, uids: 30)
        let queue = try #require(base.ingestor.store as? WriteQueue)
        // Forget one, as a trim would: the cache still holds most, so nothing is read.
        queue.caches.profiles = queue.caches.profiles.filter { key, _ in key.key != "p99" }
        _ = try await NDJSONImporter(ingestor: base.ingestor).run(path: file, model: .event, account: base.account)
        #expect(queue.caches.profiles.count == 99)
        #expect(try await eventUIDs(base.db) == named(events: 60, uids: 30))
    }
}
