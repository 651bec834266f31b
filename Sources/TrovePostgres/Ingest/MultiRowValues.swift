import PostgresNIO

/// Rows written as one statement's `VALUES (…),(…)` list of numbered parameters, at most `rowsPerStatement`
/// rows a statement (PostgreSQL takes at most 65,535 parameters in one).
struct MultiRowValues {
    /// One column of a row: a parameter with a cast (`.bound("::jsonb")`), a parameter as it is (`.value`),
    /// or SQL written into every row as it is.
    enum Column {
        case bound(String)
        case literal(String)

        static let value = Column.bound("")
    }

    let columns: [Column]
    var rowsPerStatement = 4000

    /// `statement` receives the `VALUES` list and returns the whole SQL; `bind` appends one row's values,
    /// one per bound column, in order.
    func run<Rows: Collection>(_ rows: Rows, on connection: BlockingConnection, _ statement: (String) -> String,
                               bind: (Rows.Element, inout PostgresBindings) -> Void) throws {
        let bound = columns.filter { if case .bound = $0 { true } else { false } }.count
        var rest = rows[...]
        while !rest.isEmpty {
            let chunk = rest.prefix(rowsPerStatement)
            rest = rest.dropFirst(chunk.count)
            var values = ""
            values.reserveCapacity(chunk.count * columns.count * 8)
            var binds = PostgresBindings(capacity: chunk.count * bound)
            var n = 0
            for (i, row) in chunk.enumerated() {
                values += i == 0 ? "(" : ",("
                for (c, column) in columns.enumerated() {
                    if c > 0 { values += "," }
                    switch column {
                    case .bound(let cast):
                        n += 1
                        values += "$\(n)" + cast
                    case .literal(let sql): values += sql
                    }
                }
                values += ")"
                bind(row, &binds)
            }
            try connection.query(PostgresQuery(unsafeSQL: statement(values), binds: binds))
        }
    }
}
