import GRDB

/// SQL text with `?` placeholders and the values bound to them, in order. User values only ever travel as
/// arguments; the text holds nothing but fixed SQL, normalized property names (letters, digits, `_`) and
/// event-name ids read from the database (integers).
struct SQLFragment {
    var sql: String
    var arguments: [DatabaseValue]

    init(_ sql: String, _ arguments: [DatabaseValue] = []) {
        self.sql = sql
        self.arguments = arguments
    }

    static let `true` = SQLFragment("1")
    static let `false` = SQLFragment("0")

    static func + (a: SQLFragment, b: SQLFragment) -> SQLFragment {
        SQLFragment(a.sql + b.sql, a.arguments + b.arguments)
    }

    static func joined(_ parts: [SQLFragment], separator: String) -> SQLFragment {
        SQLFragment(parts.map { "(\($0.sql))" }.joined(separator: separator), parts.flatMap(\.arguments))
    }

    /// Never NULL: an absent property makes a comparison NULL, and `NOT NULL` is NULL, not true.
    var negated: SQLFragment { SQLFragment("NOT coalesce((\(sql)), 0)", arguments) }

    var statementArguments: StatementArguments { StatementArguments(arguments) }
}
