/// A value bound to a statement's placeholder, the same for every engine.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    /// JSON text, which an engine with a JSON type binds as that type (PostgreSQL: `jsonb`); SQLite binds
    /// it as text.
    case json(String)
}

/// SQL text with `?` placeholders and the values bound to them, in order. User values only ever travel as
/// arguments; the text holds nothing but fixed SQL, normalized property names (letters, digits, `_`) and
/// event-name ids read from the database (integers). An engine whose placeholders differ (PostgreSQL's
/// `$1`) numbers them when it runs the statement.
public struct SQLFragment: Sendable {
    public var sql: String
    public var arguments: [SQLValue]

    public init(_ sql: String, _ arguments: [SQLValue] = []) {
        self.sql = sql
        self.arguments = arguments
    }

    public static func + (a: SQLFragment, b: SQLFragment) -> SQLFragment {
        SQLFragment(a.sql + b.sql, a.arguments + b.arguments)
    }

    public static func joined(_ parts: [SQLFragment], separator: String) -> SQLFragment {
        SQLFragment(parts.map { "(\($0.sql))" }.joined(separator: separator), parts.flatMap(\.arguments))
    }
}

extension Int64 {
    var sqlValue: SQLValue { .integer(self) }
}

extension Int {
    var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension String {
    var sqlValue: SQLValue { .text(self) }
}
