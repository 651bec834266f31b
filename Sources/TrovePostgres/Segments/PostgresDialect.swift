import PostgresNIO
import TroveCore

/// The segment compiler's SQL on PostgreSQL: JSON as `jsonb` (`properties -> 'key'`, compared with
/// `jsonb` values, so a comparison carries its type and an expression index on the same `->` chain
/// serves it), booleans as booleans, the last-seen time as the newest event's (read from the events' index:
/// nothing derived to keep current), and `account_id` in every subquery, so that a distributed table
/// (Citus) is always reached through its distribution column.
///
/// `jsonb` orders strings by the database's collation: on a `C` or `C.UTF-8` database (what `.ci/postgres`
/// creates, and what the README asks for) that is code-point order, as SQLite's. Case folding is
/// `lower()`, which folds as Swift's `lowercased()` for every letter but a few special cases (`İ`).
public struct PostgresDialect: SQLDialect {
    public init() {}

    public var alwaysTrue: String { "true" }
    public var alwaysFalse: String { "false" }
    public func not(_ condition: String) -> String { "NOT coalesce((\(condition)), false)" }
    public var enabledProfile: String { "p.disabled = false" }
    public func flag(_ column: String, is value: Bool) -> String { "\(column) = \(value)" }
    public var lastSeen: String { Self.lastSeen }

    /// A profile's newest event time, over `profiles p`: one backward probe of `events_by_profile`.
    static let lastSeen = "(SELECT max(e.timestamp) FROM events e WHERE e.account_id = p.account_id AND e.profile_id = p.id)"

    public func manualMember(account: Int64, segment: Int64) -> SQLFragment {
        SQLFragment("p.id IN (SELECT m.profile_id FROM segment_members m WHERE m.account_id = ? AND m.segment_id = ?)",
                    [.integer(account), .integer(segment)])
    }

    public func eventsOfAccount(_ account: Int64) -> SQLFragment { SQLFragment(" AND e.account_id = ?", [.integer(account)]) }
    public func contains(_ column: String) -> String { "strpos(\(column), ?) > 0" }
    public func folded(_ column: String) -> String { "lower(\(column))" }

    public func json(alias: String, path: PropertyPath) -> any JSONOperand {
        PostgresJSON(x: "(\(alias).properties\(Self.chain(path)))")
    }

    /// A time column (milliseconds) as `YYYY-MM-DDTHH:MM:SS.mmmZ`, as `Timestamp.iso8601` writes it.
    static func iso8601(_ column: String) -> String {
        "to_char(to_timestamp((\(column)) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    /// ` -> 'a' -> 'b'`: the same text in a condition and in its index, so the planner matches them.
    static func chain(_ path: PropertyPath) -> String {
        path.keys.map { " -> '\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined()
    }

    public func createSQL(_ index: SegmentIndex) -> String {
        switch index.kind {
        case .profileProperties(let paths, let company):
            let columns = ["account_id", "disabled"] + paths.map { "(properties\(Self.chain($0)))" } + (company ? ["company_id"] : [])
            return "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"\(index.name)\" ON profiles (\(columns.joined(separator: ", ")))"
        case .companyProperty(let path):
            return "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"\(index.name)\" ON companies (account_id, (properties\(Self.chain(path))))"
        case .eventName(let id):
            return "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"\(index.name)\" ON events (account_id, profile_id, timestamp) WHERE name_id = \(id)"
        }
    }
}

/// A `jsonb` value: equality and order against a `jsonb` value of the filter's type, with the type
/// checked where `jsonb`'s cross-type order would let another type through a range.
struct PostgresJSON: JSONOperand {
    let x: String

    /// A stored timestamp: normalization writes every one as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static let timestampPattern = "'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$'"

    var text: String { "(\(x) #>> '{}')" }

    func exists() -> SQLFragment { SQLFragment("jsonb_typeof(\(x)) <> 'null'") }

    func equals(_ v: PropertyPredicate.Typed) -> SQLFragment {
        if case .bool(let b) = v { return SQLFragment("\(x) = '\(b)'::jsonb") }
        return SQLFragment("\(x) = ?::jsonb", [.json(v.json)])
    }

    func compare(_ cmp: String, _ v: PropertyPredicate.Typed) -> SQLFragment {
        let range = SQLFragment("\(x) \(cmp) ?::jsonb", [.json(v.json)])
        switch v {
        case .number: return range + SQLFragment(" AND jsonb_typeof(\(x)) = 'number'")
        case .timestamp: return range + SQLFragment(" AND jsonb_typeof(\(x)) = 'string' AND \(text) ~ \(Self.timestampPattern)")
        case .string: return range + SQLFragment(" AND jsonb_typeof(\(x)) = 'string' AND \(text) !~ \(Self.timestampPattern)")
        case .bool: return SQLFragment("false")
        }
    }

    func contains(_ needle: String, folded: Bool) -> SQLFragment {
        SQLFragment("jsonb_typeof(\(x)) = 'string' AND strpos(\(folded ? "lower(\(text))" : text), ?) > 0", [.text(needle)])
    }

    func jsonText() -> String { "(\(x))::text" }

    func scalarText() -> String { "CASE WHEN jsonb_typeof(\(x)) IN ('string', 'number') THEN \(text) END" }

    func arrayContains(_ element: (any JSONOperand) -> SQLFragment) -> SQLFragment {
        SQLFragment("jsonb_typeof(\(x)) = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements(\(x)) j(value) WHERE ")
            + element(PostgresJSON(x: "j.value")) + SQLFragment(")")
    }
}

extension SQLFragment {
    /// The statement for postgres-nio: `?` numbered `$1`, `$2`, … (outside quoted text), values bound.
    var postgresQuery: PostgresQuery {
        var sql = ""
        var n = 0
        var quote: Character?
        for c in self.sql {
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "?" {
                n += 1
                sql += "$\(n)"
                continue
            }
            sql.append(c)
        }
        var bindings = PostgresBindings(capacity: arguments.count)
        for value in arguments {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let i): bindings.append(i)
            case .real(let d): bindings.append(d)
            case .text(let s), .json(let s): bindings.append(s)
            }
        }
        precondition(n == arguments.count, "\(n) placeholders for \(arguments.count) values in \(self.sql)")
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}
