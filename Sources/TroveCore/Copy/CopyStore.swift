/// One cell of a row on its way between engines: integers (booleans as 0 or 1), text (JSON as its text),
/// bytes, or nothing.
public enum CopyValue: Sendable, Hashable, Comparable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    public static func < (a: CopyValue, b: CopyValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return false
        case (.null, _): return true
        case (_, .null): return false
        case (.integer(let x), .integer(let y)): return x < y
        case (.text(let x), .text(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        case (.blob(let x), .blob(let y)): return x.lexicographicallyPrecedes(y)
        case (.integer, _): return true
        case (.text, .blob): return true
        default: return false
        }
    }
}

/// A row in a table's neutral shape (`CopyTable.columns`, in order).
public typealias CopyRow = [CopyValue]

/// What `trove copy` needs of an engine, as source or destination (contract: issue 19, "Moving a
/// database"). Rows travel in `CopyTable`'s shape; each engine maps its tables to it.
public protocol CopyStore: Sendable {
    /// Account ids, ascending.
    func accountIDs() async throws -> [Int64]
    /// Rows of `table` (of `account`, for a per-account table).
    func count(_ table: CopyTable, account: Int64?) async throws -> Int
    /// The greatest key (`CopyTable.key`) of `table`'s rows of `account`: where an interrupted copy resumes.
    func lastKey(_ table: CopyTable, account: Int64?) async throws -> [CopyValue]?
    /// Up to `limit` rows past `after` in key order.
    func rows(_ table: CopyTable, account: Int64?, after: [CopyValue]?, limit: Int) async throws -> [CopyRow]
    /// The row with each key, where there is one.
    func rows(_ table: CopyTable, account: Int64?, keys: [[CopyValue]]) async throws -> [CopyRow]
    /// Writes `rows` in one transaction; a row whose key is already there is left as it is.
    func insert(_ table: CopyTable, rows: [CopyRow]) async throws
    /// As a destination, once every row is in: what the engine keeps beside the rows made to match them
    /// (identity sequences past the greatest id; SQLite's rollup watermarks at the newest event).
    func finishDestination() async throws
    /// The engine's own tables and their columns, to check them against `CopyTable.all`.
    func schema() async throws -> [String: [String]]
}
