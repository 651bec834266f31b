import NIOCore
import Crypto
import Foundation
import NIOPosix
import PostgresNIO
import TroveCore

/// `ExportStore` on PostgreSQL: `exports`, the link key in `server_keys` (a reference table), the customers
/// file written from one snapshot, and the jobs' files kept in `export_parts` (any node serves them).
public struct PostgresExportStore: ExportStore {
    public let database: PostgresAppDatabase
    public let clock: TroveClock

    public init(database: PostgresAppDatabase, clock: TroveClock) {
        self.database = database
        self.clock = clock
    }

    static let columns = """
        id, account_id, type, request::text, description, status, total, downloads, attempts, error, file_bytes,
        created_at, updated_at, finished_at, expires_at, removed_at
        """

    @inline(never)
    static func export(_ row: PostgresRow) throws -> Export {
        let (id, account, type, request, description, status, total, downloads, attempts, error, bytes, created, updated, finished, expires, removed) =
            try row.decode((Int64, Int64, String, String, String, String, Int64, Int64, Int64, String?, Int64?, Int64, Int64, Int64?, Int64?, Int64?).self)
        return try Export(id: id, account: account, type: type, request: request, description: description, status: status, total: total,
                          downloads: downloads, attempts: attempts, error: error, fileBytes: bytes, createdAt: created, updatedAt: updated,
                          finishedAt: finished, expiresAt: expires, removedAt: removed)
    }

    public func insert(account: Int64, _ job: NewExport, now: Timestamp) async throws -> Export {
        if let filter = job.filter {
            let segments = try await PostgresCompiling.segments(account: account) { try await database.query($0) }
            _ = try PostgresCompiling.checker(account: account, now: now, segments: segments).compile(filter)
        }
        let rows = try await database.query(
            """
            INSERT INTO exports (account_id, type, request, description, created_at, updated_at)
            VALUES (\(account), \(job.type), \(JSONWriter.string(job.request))::jsonb, \(job.description), \(now.milliseconds), \(now.milliseconds))
            RETURNING \(unescaped: Self.columns)
            """)
        return try Self.export(rows[0])
    }

    public func export(account: Int64, id: Int64) async throws -> Export {
        guard let row = try await database.query("SELECT \(unescaped: Self.columns) FROM exports WHERE account_id = \(account) AND id = \(id)").first
        else { throw ExportError.notFound("no export with id \(id)") }
        return try Self.export(row)
    }

    public func exports(account: Int64) async throws -> [Export] {
        try await database.query("SELECT \(unescaped: Self.columns) FROM exports WHERE account_id = \(account) ORDER BY id DESC").map(Self.export)
    }

    /// A link names only the job: every account's shard is asked (a link is fetched rarely).
    public func linkedExport(id: Int64) async throws -> Export {
        guard let row = try await database.query(
            "SELECT \(unescaped: Self.columns) FROM exports WHERE account_id IN (SELECT a.id FROM accounts a) AND id = \(id)"
        ).first else { throw ExportError.notFound("no export with id \(id)") }
        return try Self.export(row)
    }

    public func countDownload(account: Int64, id: Int64) async throws {
        try await database.query("UPDATE exports SET downloads = downloads + 1 WHERE account_id = \(account) AND id = \(id)")
    }

    public func downloadLinkKey() async throws -> SymmetricKey {
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { ByteBuffer(bytes: $0) }
        let rows = try await database.query(
            """
            WITH made AS (INSERT INTO server_keys (name, key) VALUES (\(DownloadLink.keyName), \(fresh)) ON CONFLICT (name) DO NOTHING RETURNING key)
            SELECT key FROM made UNION ALL SELECT key FROM server_keys WHERE name = \(DownloadLink.keyName)
            """)
        return SymmetricKey(data: Array(try rows[0].decode(ByteBuffer.self).readableBytesView))
    }

    public func storedFile(account: Int64, id: Int64) async throws -> ExportFile? {
        let (parts, bytes) = try await database.query(
            "SELECT count(*), coalesce(sum(length(bytes)), 0)::bigint FROM export_parts WHERE account_id = \(account) AND export_id = \(id)"
        )[0].decode((Int64, Int64).self)
        guard parts > 0 else { return nil }
        let database = database
        return .stored(bytes: bytes, parts: Int(parts)) { part in
            guard let row = try await database.query(
                "SELECT bytes FROM export_parts WHERE account_id = \(account) AND export_id = \(id) AND part = \(Int32(part))"
            ).first else { throw ExportError.notReady("export \(id)'s file was removed while it was read") }
            return Array(try row.decode(ByteBuffer.self).readableBytesView)
        }
    }

    /// Keeps the file at `path` as export `id`'s, in parts of `partSize` bytes (a job written again replaces
    /// what an earlier attempt left).
    static func keep(_ path: String, account: Int64, id: Int64, partSize: Int = 1 << 20, _ database: PostgresAppDatabase) async throws {
        try await database.query("DELETE FROM export_parts WHERE account_id = \(account) AND export_id = \(id)")
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ExportError.notReady("export \(id)'s file is missing") }
        defer { try? handle.close() }
        var part: Int32 = 0
        repeat {
            let chunk = try handle.read(upToCount: partSize) ?? Data()
            if chunk.isEmpty && part > 0 { break }
            try await database.query(
                "INSERT INTO export_parts (account_id, export_id, part, bytes) VALUES (\(account), \(id), \(part), \(ByteBuffer(bytes: chunk)))")
            part += 1
        } while true
    }

    public func writeCustomers(account: Int64, _ export: CustomerExport, now: Timestamp, to path: String, formulas: FormulaCells,
                               progress: CustomerExport.Progress?) async throws -> (rows: Int64, bytes: Int64) {
        try await PostgresExportFiles(database: database).customers(account: account, export, now: now, path: path, formulas: formulas,
                                                                    progress: progress)
    }
}
