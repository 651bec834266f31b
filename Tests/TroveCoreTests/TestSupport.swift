import Foundation
@testable import TroveCore

/// A fresh database file in a temporary directory, one per test.
func temporaryDatabase() throws -> AppDatabase {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trove-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return try AppDatabase(path: dir.appendingPathComponent("trove.sqlite").path)
}

let fixedNow = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

/// A fresh database with its default account, the account's id, and an ingestor writing into it.
struct AccountDatabase {
    let db: AppDatabase
    let account: Int64
    let ingestor: Ingestor

    init() async throws {
        db = try temporaryDatabase()
        let accounts = AccountStore(database: db, clock: .fixed(fixedNow))
        _ = try await accounts.ensureDefaultAccount()
        account = try await accounts.accountID(named: AccountStore.defaultName)
        ingestor = Ingestor(queue: WriteQueue(database: db, clock: .fixed(fixedNow)))
    }
}
