import Foundation
@testable import TroveCore

/// A fresh database file in a temporary directory, one per test.
func temporaryDatabase() throws -> AppDatabase {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trove-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return try AppDatabase(path: dir.appendingPathComponent("trove.sqlite").path)
}

let fixedNow = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!
