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

    @inline(__always) func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    @inline(__always) func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    @inline(__always) func bind(_ index: Int32, _ value: String?) {
        guard var value else {
            sqlite3_bind_null(handle, index)
            return
        }
        value.withUTF8 { buf in
            _ = sqlite3_bind_text(handle, index, buf.baseAddress, Int32(buf.count), sqliteTransient)
        }
    }

    @inline(__always) func bind(_ index: Int32, text bytes: [UInt8]?) {
        guard let bytes else {
            sqlite3_bind_null(handle, index)
            return
        }
        bytes.withUnsafeBufferPointer { buf in
            _ = sqlite3_bind_text(handle, index, buf.baseAddress, Int32(buf.count), sqliteTransient)
        }
    }

    /// Runs a statement that returns no rows.
    func execute(_ db: Database) throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw error(db, code) }
    }

    /// The first column of the first row as an integer, or nil when there is no row.
    func fetchInt64(_ db: Database) throws -> Int64? {
        let code = sqlite3_step(handle)
        defer { sqlite3_reset(handle) }
        switch code {
        case SQLITE_ROW: return sqlite3_column_int64(handle, 0)
        case SQLITE_DONE: return nil
        default: throw error(db, code)
        }
    }

    /// Steps through the rows, handing `body` the integer columns' reader.
    func forEachRow(_ db: Database, _ body: (_ column: (Int32) -> Int64) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw error(db, code) }
            try body { sqlite3_column_int64(self.handle, $0) }
        }
    }

    /// One step of a statement read row by row (a merge of several ordered scans): true with a row to read,
    /// false at the end, after which the statement is reset.
    func step(_ db: Database) throws -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw error(db, code) }
        return false
    }

    func reset() { sqlite3_reset(handle) }

    @inline(__always) func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// A column's value as the JSON scalar it holds (`text` is the raw bytes of a text or blob, valid until
    /// the next step), without copying text.
    enum Scalar {
        case null, int(Int64), double(Double), text(UnsafeBufferPointer<UInt8>)
    }

    @inline(__always) func scalar(_ column: Int32) -> Scalar {
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

    private func error(_ db: Database, _ code: Int32) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
            sql: statement.sql)
    }
}

/// `SQLITE_TRANSIENT`: SQLite copies the bound bytes (the macro is not imported into Swift).
let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
