import Foundation
import GRDB

/// Backups and integrity checks (contract §11 `trove backup`, `trove check`), safe while a server runs on the
/// same file: both only read it.
public enum Maintenance {
    public struct BackupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes a consistent copy of the database at `source` to `destination` with `VACUUM INTO`: one read
    /// transaction, so the copy is the database as of one moment, while writers go on; compacted; then
    /// checked. Returns the copy's size in bytes.
    @discardableResult
    public static func backup(source: String, destination: String) throws -> Int64 {
        guard FileManager.default.fileExists(atPath: source) else { throw BackupError(description: "no database at \(source)") }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw BackupError(description: "\(destination) exists already; a backup never overwrites a file")
        }
        let partial = destination + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(10)
            let queue = try DatabaseQueue(path: source, configuration: configuration)
            try queue.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [partial]) }
            try queue.close()
            let problems = try check(path: partial)
            guard problems.isEmpty else {
                throw BackupError(description: "the copy failed its integrity check: \(problems.prefix(5).joined(separator: "; "))")
            }
            // Durable before it gets its name.
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: partial))
            try handle.synchronize()
            try handle.close()
            try FileManager.default.moveItem(atPath: partial, toPath: destination)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        let size = (try FileManager.default.attributesOfItem(atPath: destination)[.size] as? NSNumber)?.int64Value ?? 0
        return size
    }

    /// SQLite's `integrity_check` and `foreign_key_check` on the file at `path`: nothing when all is well,
    /// else one line per problem. A file that is not a database at all is one problem, not an error.
    public static func check(path: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { throw BackupError(description: "no database at \(path)") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                var problems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
                problems += try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
                    "foreign key: \(row[0] as String? ?? "?") row \(row[1] as Int64? ?? 0) names a missing \(row[2] as String? ?? "?") row"
                }
                return problems
            }
        } catch let error as DatabaseError {
            return ["\(error.message ?? "\(error)")"]
        }
    }
}
