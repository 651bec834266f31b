/// Events a chunk of items inserts (those without a dedupe key), held on the writer and inserted many rows
/// to a statement: one statement's step, cursors and halt for `perStatement` rows instead of one each,
/// which was most of what an insert cost SQLite. Their ids are the ones the log would have given them
/// (the top id + 1 onwards): the writer is the only one inserting, and a held row is never read before it
/// is written (`WriteSession.writeHeldEvents` runs before a keyed insert and at the chunk's end). The rows
/// carry explicit ids with no conflict clause: a clash would fail the transaction, never drop an event.
struct HeldEvents {
    struct Row {
        var id: Int64
        var account: Int64
        var profile: Int64
        var name: Int64
        var time: Int64
        var source: Int64
        var displayName: String?
        var properties: [UInt8]?
        var prev: Int64
    }

    static let perStatement = 32
    static let columns = 10

    /// The id the next held event takes.
    var nextID: Int64
    var rows: [Row] = []

    var isFull: Bool { rows.count == Self.perStatement }

    mutating func hold(_ row: Row) {
        rows.append(row)
        nextID = row.id + 1
    }

    static func insert(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        return "INSERT INTO events (id, account_id, profile_id, name_id, timestamp, received_at, source, display_name, properties, prev_id) VALUES "
            + Array(repeating: row, count: rows).joined(separator: ", ")
    }
}
