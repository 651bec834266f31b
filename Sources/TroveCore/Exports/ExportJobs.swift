import Foundation

/// Export jobs as the App API sees them (contract §7): create, list, show, download links, and the file
/// behind a link; the rules (requests, descriptions, when a file may be fetched, signed links); the rows
/// are the engine's `ExportStore`. The work itself is `ExportRunner`'s.
public struct ExportJobs: Sendable {
    public let store: any ExportStore
    public let clock: TroveClock
    public let settings: ExportSettings

    public init(store: any ExportStore, clock: TroveClock = .system, settings: ExportSettings) {
        self.store = store
        self.clock = clock
        self.settings = settings
    }

    /// `POST /v1/exports/customers`: checked now (a bad filter is a 400 here, not a failed job later),
    /// run in the background.
    public func createCustomers(account: Int64, _ request: CustomerExportRequest) async throws -> Export {
        let export = try CustomerExport(request)
        let job = NewExport(type: "customers", request: request.stored, description: request.description ?? Self.describe(export), filter: export.filter)
        do { return try await store.insert(account: account, job, now: clock.now()) } catch let e as SegmentError {
            throw ExportError.invalid(e.description)
        }
    }

    /// `POST /v1/exports/deliveries`.
    public func createDeliveries(account: Int64, _ request: DeliveryExportRequest) async throws -> Export {
        let export = try DeliveryExport(request)
        let description = request.description
            ?? "Deliveries of \(export.message.field.replacingOccurrences(of: "_id", with: "")) \(export.message.id)" + (export.metric.map { ", \($0)" } ?? "")
        return try await store.insert(account: account, NewExport(type: "deliveries", request: request.stored, description: description, filter: nil), now: clock.now())
    }

    /// `trove export customers`: the same file as a customers export, written straight to `path` (through
    /// `path.partial`, renamed when complete) from one snapshot. Returns rows and bytes.
    public func writeCustomers(account: Int64, _ request: CustomerExportRequest, to path: String, progress: CustomerExport.Progress? = nil) async throws -> (rows: Int64, bytes: Int64) {
        let export = try CustomerExport(request)
        do {
            return try await store.writeCustomers(account: account, export, now: clock.now(), to: path, formulas: settings.formulas, progress: progress)
        } catch let e as SegmentError {
            throw ExportError.invalid(e.description)
        }
    }

    static func describe(_ export: CustomerExport) -> String {
        let columns = export.attributes.isEmpty ? "" : " with " + export.attributes.map(\.name).joined(separator: ", ")
        return (export.filter == nil ? "All customers" : "Customers matching a filter") + columns
    }

    public func get(account: Int64, id: Int64) async throws -> Export {
        try await store.export(account: account, id: id)
    }

    public func list(account: Int64) async throws -> [Export] {
        try await store.exports(account: account)
    }

    /// `GET /v1/exports/:id/download`: a link valid `settings.linkLifetime`, for a finished export whose
    /// file is still kept.
    public func downloadURL(account: Int64, id: Int64) async throws -> String {
        let now = clock.now()
        let export = try await store.export(account: account, id: id)
        try Self.checkFile(export, now: now)
        let expires = now.seconds + settings.linkLifetime.components.seconds
        return DownloadLink(key: try await store.downloadLinkKey()).url(base: settings.publicURL, export: id, expires: expires)
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
    public func file(export id: Int64, expires: String?, signature: String?) async throws -> (file: ExportFile, name: String) {
        let now = clock.now()
        guard let expires = expires.flatMap({ Int64($0) }), let signature else { throw ExportError.forbidden("this download link is not valid") }
        try DownloadLink(key: try await store.downloadLinkKey()).verify(export: id, expires: expires, signature: signature, now: now)
        let export = try await store.linkedExport(id: id)
        try Self.checkFile(export, now: now)
        let file: ExportFile
        if let stored = try await store.storedFile(account: export.account, id: id) {
            file = stored
        } else {
            let path = settings.file(id)
            guard FileManager.default.fileExists(atPath: path) else { throw ExportError.notReady("export \(id)'s file is missing") }
            file = .path(path)
        }
        try await store.countDownload(account: export.account, id: id)
        return (file, "export-\(id).csv")
    }
}

/// A job as accepted: `request` is kept for the runner; a customers job's `filter` is checked where it is
/// written (a segment it names must exist).
public struct NewExport: Sendable {
    public var type: String
    public var request: JSON
    public var description: String
    public var filter: FilterNode?
}
