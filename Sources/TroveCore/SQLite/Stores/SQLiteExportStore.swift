import Crypto
import Foundation
import GRDB

/// `ExportStore` on SQLite: `exports`, and the link key in `server_keys`.
public struct SQLiteExportStore: ExportStore {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func insert(account: Int64, _ job: NewExport, now: Timestamp) async throws -> Export {
        try await database.write { db in
            if let filter = job.filter {
                _ = try SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).compile(filter)
            }
            try db.execute(
                sql: "INSERT INTO exports (account_id, type, request, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [account, job.type, JSONWriter.string(job.request), job.description, now.milliseconds, now.milliseconds])
            return try Export.fetch(db, account: account, id: db.lastInsertedRowID)!
        }
    }

    public func export(account: Int64, id: Int64) async throws -> Export {
        try await database.read { db in
            guard let export = try Export.fetch(db, account: account, id: id) else { throw ExportError.notFound("no export with id \(id)") }
            return export
        }
    }

    public func exports(account: Int64) async throws -> [Export] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Export.columns) FROM exports WHERE account_id = ? ORDER BY id DESC", arguments: [account])
                .map(Export.init)
        }
    }

    public func linkedExport(id: Int64) async throws -> Export {
        try await database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Export.columns) FROM exports WHERE id = ?", arguments: [id]) else {
                throw ExportError.notFound("no export with id \(id)")
            }
            return try Export(row: row)
        }
    }

    public func countDownload(account: Int64, id: Int64) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE exports SET downloads = downloads + 1 WHERE account_id = ? AND id = ?", arguments: [account, id])
        }
    }

    public func downloadLinkKey() async throws -> SymmetricKey {
        SymmetricKey(data: try await database.write { db in
            let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            try db.execute(sql: "INSERT OR IGNORE INTO server_keys (name, key) VALUES (?, ?)", arguments: [DownloadLink.keyName, fresh])
            return try Data.fetchOne(db, sql: "SELECT key FROM server_keys WHERE name = ?", arguments: [DownloadLink.keyName])!
        })
    }

    public func writeCustomers(account: Int64, _ export: CustomerExport, now: Timestamp, to path: String, formulas: FormulaCells,
                               progress: CustomerExport.Progress?) async throws -> (rows: Int64, bytes: Int64) {
        let (rows, bytes) = try await database.backgroundRead { db in
            try CSVWriter.file(at: path, formulas: formulas) { csv in try export.write(db, account: account, now: now, to: &csv, progress: progress) }
        }
        return (rows, bytes)
    }
}

extension ExportJobs {
    /// On the SQLite engine.
    public init(database: AppDatabase, clock: TroveClock = .system, settings: ExportSettings) {
        self.init(store: SQLiteExportStore(database: database), clock: clock, settings: settings)
    }
}
