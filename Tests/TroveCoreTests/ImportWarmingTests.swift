import Foundation
import GRDB
import Testing
@testable import TroveCore

/// `trove import` of events: an import that will name a good part of the stored profiles reads every uid first
/// when the writer's uid cache holds few (a process of its own), and the importer stamps each event with its
/// profile's id from that cache (`WriteQueue.prepareForEvents`, `ProfileHint`).
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
        #expect(queue.caches.profileCount == 100, "all 100 uids read, not only the 30 the events name")
        #expect(try await eventUIDs(base.db) == named(events: 60, uids: 30))
        let profiles = try await base.db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM profiles") }
        #expect(profiles == 100, "no profile created twice")
    }

    @Test func aSmallImportOrOneThatWouldNotFitLooksUpOnlyWhatItNames() async throws {
        let (base, file) = try await setUp(events: 20, uids: 10)
        let small = freshQueue(base.db)
        _ = try await NDJSONImporter(ingestor: Ingestor(store: small)).run(path: file, model: .event, account: base.account)
        #expect(small.caches.profileCount == 10, "20 events beside 100 profiles: below a quarter")

        let (other, large) = try await setUp(events: 60, uids: 30)
        let tight = freshQueue(other.db, cacheLimit: 64)
        _ = try await NDJSONImporter(ingestor: Ingestor(store: tight)).run(path: large, model: .event, account: other.account)
        #expect(tight.caches.profileCount == 30, "100 profiles do not fit a cache of 64")
        #expect(try await eventUIDs(other.db) == named(events: 60, uids: 30))
    }

    @Test func theWriterThatStoredTheProfilesDoesNotReadThemAgain() async throws {
        let (base, file) = try await setUp(events: 60, uids: 30)
        let queue = try #require(base.ingestor.store as? WriteQueue)
        // Forget one, as a trim would: the cache still holds most, so nothing is read.
        queue.caches.profiles = queue.caches.profiles.filter { key, _ in key.key != "p99" }
        _ = try await NDJSONImporter(ingestor: base.ingestor).run(path: file, model: .event, account: base.account)
        #expect(queue.caches.profileCount == 99)
        #expect(try await eventUIDs(base.db) == named(events: 60, uids: 30))
    }

    /// The writer takes a stamp of its current epoch as it is, without a lookup of its own (shown here by a
    /// stamp naming another profile than the uid's), and one from before an erasure not at all: the erased
    /// uid's next event makes a new profile, not a row pointing at the erased one.
    @Test func theWriterTakesCurrentStampsAndNoneFromBeforeAnErasure() async throws {
        let (base, _) = try await setUp(events: 0, uids: 1)
        let queue = freshQueue(base.db)
        let ingestor = Ingestor(store: queue)
        let directory = try #require(try await queue.prepareForEvents(account: base.account, expected: 1_000))
        let ids = try await base.db.pool.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT uid, id FROM profiles").map { ($0[0] as String, $0[1] as Int64) })
        }
        let p5 = try #require(directory.hint(account: base.account, uid: "p5"))
        #expect(p5.id == ids["p5"])
        #expect(directory.hint(account: base.account, uid: "p100") == nil)
        #expect(directory.hint(account: base.account + 1, uid: "p5") == nil)

        /// The profile id and uid of the event stored for `uid` with `hint`.
        func send(_ uid: String, hint: ProfileHint?) async throws -> (id: Int64, uid: String?) {
            let json = try Ingestor.parseBody(Array(#"{"uid":"\#(uid)","name":"Seen","timestamp":"2026-02-01T00:00:00Z"}"#.utf8))
            guard case .event(var e) = try Ingestor.parseItem(json, model: .event, normalizer: ValueNormalizer(now: fixedNow), source: .import)
            else { throw IngestError.invalid("not an event") }
            e.profileHint = hint
            let event = try #require(try await ingestor.ingest(items: [.event(e)], account: base.account).first?.rowID)
            return try await base.db.pool.read { db in
                let row = try #require(try Row.fetchOne(db, sql: "SELECT p.id, p.uid FROM events e JOIN profiles p ON p.id = e.profile_id WHERE e.id = ?", arguments: [event]))
                return (row[0], row[1])
            }
        }

        #expect(try await send("p5", hint: p5).id == ids["p5"])
        #expect(try await send("p5", hint: ProfileHint(id: ids["p7"]!, epoch: p5.epoch)).id == ids["p7"], "a current stamp is taken as it is")
        #expect(try await send("p6", hint: ProfileHint(id: ids["p7"]!, epoch: p5.epoch &+ 1_000)).id == ids["p6"], "another epoch's is not")

        _ = try await Erasure(store: queue, reads: ErasureReader(database: base.db)).forget(account: base.account, profile: ids["p5"]!, source: .api)
        let after = try await send("p5", hint: p5)
        #expect(after.id != ids["p5"], "a stamp from before the erasure is not taken")
        #expect(after.uid == "p5")
        let fresh = try #require(try await queue.prepareForEvents(account: base.account, expected: 1_000))
        #expect(fresh.hint(account: base.account, uid: "p5") == ProfileHint(id: after.id, epoch: fresh.hint(account: base.account, uid: "p6")!.epoch))
        #expect(fresh.hint(account: base.account, uid: "p6")!.epoch != p5.epoch)
    }
}
