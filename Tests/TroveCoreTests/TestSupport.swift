import Foundation
import TroveTestEngines
@testable import TroveCore

/// A fresh database file in a temporary directory, one per test.
/// A fresh SQLite file, created and migrated on a thread of its own (not one of the two cooperative threads
/// every in-process server of the parallel suite needs).
func temporaryDatabase() async throws -> AppDatabase {
    try await onOwnThread {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trove-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try AppDatabase(path: dir.appendingPathComponent("trove.sqlite").path)
    }
}

let fixedNow = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

/// A fresh database with its default account, the account's id, and an ingestor writing into it.
struct AccountDatabase {
    let db: AppDatabase
    let account: Int64
    let ingestor: Ingestor

    init() async throws {
        db = try await temporaryDatabase()
        let accounts = Accounts(database: db, clock: .fixed(fixedNow))
        _ = try await accounts.ensureDefaultAccount()
        account = try await accounts.accountID(named: Accounts.defaultName)
        ingestor = Ingestor(store: WriteQueue(database: db, clock: .fixed(fixedNow)))
    }
}

extension SegmentChange {
    /// A change from a `/v3`-style body (`name`, `description`, `kind`, `items`, `items_op`), as the tests write them.
    init(body: JSON) throws {
        self.init(name: body["name"]?.stringValue, description: body["description"]?.stringValue,
                  kind: body["kind"]?.stringValue.flatMap(Segment.Kind.init(rawValue:)))
        if let items = body["items"] { definition = try ChameleonDefinition(items: items, op: body["items_op"]) }
    }
}

extension SegmentDefinitions {
    func create(account: Int64, body: JSON) async throws -> Segment { try await create(account: account, SegmentChange(body: body)) }
    func update(account: Int64, id: Int64, body: JSON) async throws -> Segment { try await update(account: account, id: id, SegmentChange(body: body)) }
}
