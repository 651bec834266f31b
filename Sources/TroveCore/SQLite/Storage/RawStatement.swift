import GRDB
import GRDBSQLite

/// Direct binding and stepping of prepared statements for the ingest hot path. GRDB's
/// `StatementArguments` box every value in an existential; at hundreds of thousands of rows per second
/// that boxing costs more than SQLite's own insert, so the few statements run per event bind here.
/// Each use binds every parameter, steps, and resets, leaving the statement as GRDB expects it.
struct RawStatement {
    let statement: Statement
    var handle: OpaquePointer { statement.sqliteStatement }

    /// `cached: false` for a statement stepped alongside another with the same SQL (the cache would hand
    /// both the same one).
    init(_ db: Database, sql: String, cached: Bool = true) throws {
        statement = cached ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
    }

    // A bind that fails (an index out of range, text past SQLite's limit, no memory) throws: a statement
    // stepped with a parameter left unbound would store NULL or the previous row's value.

    @inline(__always) func bind(_ index: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    @inline(__always) func bind(_ index: Int32, _ value: Int64?) throws {
        if let value { try check(sqlite3_bind_int64(handle, index, value)) } else { try check(sqlite3_bind_null(handle, index)) }
    }

    @inline(__always) func bind(_ index: Int32, _ value: Double) throws {
        try check(sqlite3_bind_double(handle, index, value))
    }

    /// A scalar as SQLite holds it (what `scalar(_:)` read): NULL, integer, real or text.
    func bind(_ index: Int32, _ value: JSON?) throws {
        switch value {
        case nil, .null?: try check(sqlite3_bind_null(handle, index))
        case .bool(let b)?: try bind(index, Int64(b ? 1 : 0))
        case .int(let n)?: try bind(index, n)
        case .double(let d)?: try bind(index, d)
        case .string(let s)?: try bind(index, s)
        case let other?: try bind(index, JSONWriter.string(other))
        }
    }

    @inline(__always) func bind(_ index: Int32, _ value: String?) throws {
        guard var value else { return try check(sqlite3_bind_null(handle, index)) }
        try value.withUTF8 { buf in
            try check(sqlite3_bind_text(handle, index, buf.baseAddress, Int32(buf.count), sqliteTransient))
        }
    }

    @inline(__always) func bind(_ index: Int32, text bytes: [UInt8]?) throws {
        guard let bytes else { return try check(sqlite3_bind_null(handle, index)) }
        try bytes.withUnsafeBufferPointer { buf in
            try check(sqlite3_bind_text(handle, index, buf.baseAddress, Int32(buf.count), sqliteTransient))
        }
    }

    func bind(_ index: Int32, blob bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { buf in
            // An empty array may have no address: SQLite would bind NULL, not an empty blob.
            try check(buf.isEmpty ? sqlite3_bind_zeroblob(handle, index, 0) : sqlite3_bind_blob(handle, index, buf.baseAddress, Int32(buf.count), sqliteTransient))
        }
    }

    @inline(__always) private func check(_ code: Int32) throws {
        if code != SQLITE_OK { throw error(code) }
    }

    /// Runs a statement that returns no rows.
    func execute(_ db: Database) throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// The first column of the first row as an integer, or nil when there is no row.
    func fetchInt64(_ db: Database) throws -> Int64? {
        let code = sqlite3_step(handle)
        defer { sqlite3_reset(handle) }
        switch code {
        case SQLITE_ROW: return sqlite3_column_int64(handle, 0)
        case SQLITE_DONE: return nil
        default: throw error(code)
        }
    }

    /// Steps through the rows, handing `body` the integer columns' reader.
    func forEachRow(_ db: Database, _ body: (_ column: (Int32) -> Int64) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw error(code) }
            try body { sqlite3_column_int64(self.handle, $0) }
        }
    }

    /// One step of a statement read row by row (a merge of several ordered scans): true with a row to read,
    /// false at the end, after which the statement is reset.
    func step(_ db: Database) throws -> Bool {
        try Self.step(handle)
    }

    /// `step` on a bare handle (a loop that must not retain the statement per row).
    @inline(__always) static func step(_ handle: OpaquePointer) throws -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw error(code, handle) }
        return false
    }

    func reset() { sqlite3_reset(handle) }

    @inline(__always) func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// A blob column's bytes, valid until the next step.
    @inline(__always) func blob(_ column: Int32) -> UnsafeBufferPointer<UInt8> { Self.blob(handle, column) }

    @inline(__always) static func blob(_ handle: OpaquePointer, _ column: Int32) -> UnsafeBufferPointer<UInt8> {
        let start = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return UnsafeBufferPointer(start: start?.assumingMemoryBound(to: UInt8.self), count: count)
    }

    /// A column's value as the JSON scalar it holds (`text` is the raw bytes of a text or blob, valid until
    /// the next step), without copying text.
    enum Scalar {
        case null, int(Int64), double(Double), text(UnsafeBufferPointer<UInt8>)
    }

    @inline(__always) func scalar(_ column: Int32) -> Scalar { Self.scalar(handle, column) }

    @inline(__always) static func scalar(_ handle: OpaquePointer, _ column: Int32) -> Scalar {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(handle, column))
        default:
            let start = sqlite3_column_text(handle, column)
            let count = Int(sqlite3_column_bytes(handle, column))
            return .text(UnsafeBufferPointer(start: start, count: count))
        }
    }

    private func error(_ code: Int32) -> DatabaseError { Self.error(code, handle) }

    private static func error(_ code: Int32, _ handle: OpaquePointer) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))),
            sql: sqlite3_sql(handle).map { String(cString: $0) })
    }
}

/// `SQLITE_TRANSIENT`: SQLite copies the bound bytes (the macro is not imported into Swift).
let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
