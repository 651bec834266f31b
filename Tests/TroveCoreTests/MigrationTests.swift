import Foundation
import GRDB
import Testing
@testable import TroveCore

@Suite struct MigrationTests {
    @Test func appliesTheOrderedMigrationsToAnEmptyDatabase() async throws {
        try Self.expectMigrated(try await temporaryDatabase())
    }

    static func expectMigrated(_ db: AppDatabase) throws {
        #expect(AppDatabase.migrationNames == ["0001_initial", "0002_event_rollups", "0003_segments", "0004_event_name_indexes", "0005_exports", "0006_anonymous_events", "0007_integrations", "0008_webhooks", "0009_customerio_destination", "0010_event_counts", "0011_report_indexes", "0012_admin_sessions", "0013_report_steps", "0014_event_counts_watermark", "0015_report_step_builds", "0016_anonymous_event_counts", "0017_person_chain", "0018_deletions", "0019_write_keys", "0020_report_step_profiles", "0021_event_counts_daily", "0022_event_recency"])
        #expect(try db.appliedMigrations() == AppDatabase.migrationNames)
        let tables = try db.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' AND name NOT LIKE 'sqlite%' ORDER BY name")
        }
        #expect(tables == ["accounts", "admin_sessions", "anonymous_events", "companies", "customerio_deliveries", "deletions", "event_counts", "event_counts_daily", "event_names", "event_recency", "event_recency_names", "event_rollups", "events", "exports", "idempotency_keys", "integrations", "membership_dirty", "profile_activity", "profiles", "properties", "report_step_profiles", "report_step_values", "report_steps", "segment_changes", "segment_members", "segments", "server_keys", "warnings", "webhook_deliveries", "webhook_endpoints"])
        let journal = try db.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let foreignKeys = try db.pool.read { db in try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(foreignKeys == true)
    }

    @Test func reopeningAnUpToDateDatabaseChangesNothing() async throws {
        try Self.expectReopenedUnchanged(try await temporaryDatabase())
    }

    static func expectReopenedUnchanged(_ db: AppDatabase) throws {
        func snapshot(_ db: AppDatabase) throws -> ([String], Int) {
            try db.pool.read { db in
                (try String.fetchAll(db, sql: "SELECT coalesce(sql, name) FROM sqlite_master ORDER BY name"),
                 try Int.fetchOne(db, sql: "PRAGMA schema_version")!)
            }
        }
        let before = try snapshot(db)
        let reopened = try AppDatabase(path: db.path)
        let after = try snapshot(reopened)
        #expect(before.0 == after.0)
        #expect(before.1 == after.1)
        #expect(try reopened.appliedMigrations() == AppDatabase.migrationNames)
    }

    @Test func theSchemaRefusesInvalidRows() async throws {
        let db = try await temporaryDatabase()
        let credentials = try await Accounts(database: db).create(name: "a")
        _ = credentials
        try await db.pool.write { db in
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO profiles (account_id, created_at, updated_at) VALUES (1, 0, 0)")  // no uid nor email
            }
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO profiles (account_id, uid, created_at, updated_at, properties) VALUES (1, 'u', 0, 0, 'not json')")
            }
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO profiles (account_id, uid, created_at, updated_at) VALUES (99, 'u', 0, 0)")  // no such account
            }
            try db.execute(sql: "INSERT INTO profiles (account_id, uid, created_at, updated_at) VALUES (1, 'u', 0, 0)")
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO profiles (account_id, uid, created_at, updated_at) VALUES (1, 'u', 0, 0)")  // uid unique per account
            }
        }
    }

    /// A file made before 0021 gets its daily counts from its hourly ones as 0021 applies (floor division:
    /// hours before 1970 fall on the day before).
    @Test func anEarlierFileGetsItsDailyCountsFromItsHourlyOnes() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trove-tests-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let earlier = try DatabaseQueue(path: path)
            try AppDatabase.migrator.migrate(earlier, upTo: "0020_report_step_profiles")
            // Two hours of one day and one of the next for one name; two hours before 1970 for another.
            try await earlier.write { db in
                try db.execute(sql: "INSERT INTO event_counts (name_id, hour, count) VALUES (1, 24, 2), (1, 47, 3), (1, 48, 5), (2, -1, 7), (2, -24, 1)")
            }
        }
        let upgraded = try AppDatabase(path: path)
        let daily = try await upgraded.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name_id || ':' || day || ':' || count FROM event_counts_daily ORDER BY name_id, day")
        }
        #expect(daily == ["1:1:5", "1:2:5", "2:-1:8"])
    }
}
