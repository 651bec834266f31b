import Foundation
import GRDB

/// Export jobs as the App API sees them (contract §7): create, list, show, download links, and the file
/// behind a link. The work itself is `ExportRunner`'s.
public struct ExportStore: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    public let settings: ExportSettings

    public init(database: AppDatabase, clock: TroveClock = .system, settings: ExportSettings) {
        self.database = database
        self.clock = clock
        self.settings = settings
    }

    /// `POST /v1/exports/customers`: checked now (a bad filter is a 400 here, not a failed job later),
    /// run in the background.
    public func createCustomers(account: Int64, _ request: CustomerExportRequest) async throws -> Export {
        let export = try CustomerExport(request)
        let now = clock.now()
        return try await database.write { db in
            if let filter = export.filter {
                do { _ = try SegmentCompiler.over(db, account: account, now: now, checkingOnly: true).compile(filter) } catch let e as SegmentError {
                    throw ExportError.invalid(e.description)
                }
            }
            return try Self.insert(db, account: account, type: "customers", request: request.stored,
                                   description: request.description ?? Self.describe(export), now: now)
        }
    }

    /// `POST /v1/exports/deliveries`.
    public func createDeliveries(account: Int64, _ request: DeliveryExportRequest) async throws -> Export {
        let export = try DeliveryExport(request)
        let now = clock.now()
        let description = request.description
            ?? "Deliveries of \(export.message.field.replacingOccurrences(of: "_id", with: "")) \(export.message.id)" + (export.metric.map { ", \($0)" } ?? "")
        return try await database.write { db in
            try Self.insert(db, account: account, type: "deliveries", request: request.stored, description: description, now: now)
        }
    }

    /// `trove export customers`: the same file as a customers export, written straight to `path` (through
    /// `path.partial`, renamed when complete) from one snapshot. Returns rows and bytes.
    public func writeCustomers(account: Int64, _ request: CustomerExportRequest, to path: String, progress: CustomerExport.Progress? = nil) async throws -> (rows: Int64, bytes: Int64) {
        let export = try CustomerExport(request)
        let now = clock.now()
        do {
            let (rows, bytes) = try await database.backgroundRead { [settings] db in
                try CSVWriter.file(at: path, formulas: settings.formulas) { csv in try export.write(db, account: account, now: now, to: &csv, progress: progress) }
            }
            return (rows, bytes)
        } catch let e as SegmentError {
            throw ExportError.invalid(e.description)
        }
    }

    /// A new job, pending; `request` is kept as accepted for the runner.
    static func insert(_ db: Database, account: Int64, type: String, request: JSON, description: String, now: Timestamp) throws -> Export {
        try db.execute(
            sql: "INSERT INTO exports (account_id, type, request, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [account, type, JSONWriter.string(request), description, now.milliseconds, now.milliseconds])
        return try Export.fetch(db, account: account, id: db.lastInsertedRowID)!
    }

    static func describe(_ export: CustomerExport) -> String {
        let columns = export.attributes.isEmpty ? "" : " with " + export.attributes.map(\.name).joined(separator: ", ")
        return (export.filter == nil ? "All customers" : "Customers matching a filter") + columns
    }

    public func get(account: Int64, id: Int64) async throws -> Export {
        try await database.read { db in try Self.existing(db, account: account, id: id) }
    }

    public func list(account: Int64) async throws -> [Export] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Export.columns) FROM exports WHERE account_id = ? ORDER BY id DESC", arguments: [account])
                .map(Export.init)
        }
    }

    static func existing(_ db: Database, account: Int64, id: Int64) throws -> Export {
        guard let export = try Export.fetch(db, account: account, id: id) else { throw ExportError.notFound("no export with id \(id)") }
        return export
    }

    /// `GET /v1/exports/:id/download`: a link valid `settings.linkLifetime`, for a finished export whose
    /// file is still kept.
    public func downloadURL(account: Int64, id: Int64) async throws -> String {
        let now = clock.now()
        return try await database.write { db in
            let export = try Self.existing(db, account: account, id: id)
            try Self.checkFile(export, now: now)
            let expires = now.seconds + settings.linkLifetime.components.seconds
            return try DownloadLink.load(db).url(base: settings.publicURL, export: id, expires: expires)
        }
    }

    static func checkFile(_ export: Export, now: Timestamp) throws(ExportError) {
        switch export.status {
        case .pending: throw .notReady("export \(export.id) is still pending; download it once its status is done")
        case .failed: throw .notReady("export \(export.id) failed: \(export.error ?? "unknown error")")
        case .done:
            if export.removedAt != nil || (export.expiresAt.map { $0 <= now } ?? false) {
                throw .notReady("export \(export.id)'s file was removed after the retention period; create a new export")
            }
        }
    }

    /// The file behind a download link, which carries no credentials: checks the signature and expiry,
    /// counts the download, and returns the path and a file name for it.
    public func file(export id: Int64, expires: String?, signature: String?) async throws -> (path: String, name: String) {
        let now = clock.now()
        guard let expires = expires.flatMap({ Int64($0) }), let signature else { throw ExportError.forbidden("this download link is not valid") }
        return try await database.write { db in
            try DownloadLink.load(db).verify(export: id, expires: expires, signature: signature, now: now)
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Export.columns) FROM exports WHERE id = ?", arguments: [id]) else {
                throw ExportError.notFound("no export with id \(id)")
            }
            let export = try Export(row: row)
            try Self.checkFile(export, now: now)
            let path = settings.file(id)
            guard FileManager.default.fileExists(atPath: path) else { throw ExportError.notReady("export \(id)'s file is missing") }
            try db.execute(sql: "UPDATE exports SET downloads = downloads + 1 WHERE id = ?", arguments: [id])
            return (path, "export-\(id).csv")
        }
    }
}
