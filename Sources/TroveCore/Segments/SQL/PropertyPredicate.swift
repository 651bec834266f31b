/// Where a property's value comes from: a JSON path in a properties column, or a built-in column.
public enum ValueSource: Equatable {
    case json(alias: String, path: PropertyPath)
    /// A text column (`uid`, `email`).
    case text(String)
    /// A time column in milliseconds (`created_at`, ...), or an expression yielding one.
    case time(String)
    /// A 0/1 column (`admin`).
    case flag(String)

    public static func profile(_ path: PropertyPath, dialect: any SQLDialect) -> ValueSource {
        let keys = path.keys
        if keys.count == 1 {
            switch keys[0] {
            case "uid": return .text("p.uid")
            case "email": return .text("p.email")
            case "created_at": return .time("p.created_at")
            case "updated_at": return .time("p.updated_at")
            case "last_seen_at": return .time(dialect.lastSeen)
            case "chameleon_admin", "admin": return .flag("p.admin")
            default: break
            }
        }
        return .json(alias: "p", path: path)
    }

    public static func company(_ path: PropertyPath) -> ValueSource {
        let keys = path.keys
        if keys.count == 1 {
            switch keys[0] {
            case "uid": return .text("c.uid")
            case "created_at": return .time("c.created_at")
            case "updated_at": return .time("c.updated_at")
            default: break
            }
        }
        return .json(alias: "c", path: path)
    }
}

/// The SQL for one positive operator (negations are wrapped by the caller) on one value source, with the
/// contract §6 typing: the filter value's type after §4 coercion decides how to compare, and a property of
/// another type does not match. Which test an operator makes is decided here; the dialect writes it.
public struct PropertyPredicate {
    let source: ValueSource
    let now: Timestamp
    let dialect: any SQLDialect

    /// A filter value, typed as §4 normalization would store it.
    public enum Typed {
        case number(Double, JSON)
        case bool(Bool)
        case timestamp(String)
        case string(String)

        /// The value bound for a comparison with a stored one (SQLite's `json_extract` gives booleans as 1/0).
        public var sqlValue: SQLValue {
            switch self {
            case .number(_, .int(let i)): return .integer(i)
            case .number(let d, _): return .real(d)
            case .bool(let b): return .integer(b ? 1 : 0)
            case .timestamp(let s), .string(let s): return .text(s)
            }
        }

        /// The value as JSON text.
        public var json: String {
            switch self {
            case .number(_, let json): return JSONWriter.string(json)
            case .bool(let b): return b ? "true" : "false"
            case .timestamp(let s), .string(let s): return JSONWriter.string(.string(s))
            }
        }

        /// The value as Customer.io would print it.
        var text: String {
            switch self {
            case .number(_, let json): return JSONWriter.string(json)
            case .bool(let b): return b ? "true" : "false"
            case .timestamp(let s), .string(let s): return s
            }
        }
    }

    func typed(_ value: JSON, key: String) -> Typed {
        var warnings: [IngestWarning] = []
        let coerced = ValueNormalizer(now: now).coerce(value, key: key, path: key, hashLevel: 0, warnings: &warnings) ?? value
        switch coerced {
        case .int(let i): return .number(Double(i), coerced)
        case .double(let d): return .number(d, coerced)
        case .bool(let b): return .bool(b)
        case .string(let s): return ValueNormalizer.isTimestampText(s) ? .timestamp(s) : .string(s)
        default: return .string(JSONWriter.string(coerced))
        }
    }

    var key: String {
        if case .json(_, let path) = source, let last = path.keys.last { return last }
        return ""
    }

    func sql(for test: PropertyTest) -> SQLFragment {
        switch source {
        case .json(let alias, let path): return json(test, dialect.json(alias: alias, path: path))
        case .text(let column): return text(test, column: column)
        case .time(let column): return time(test, column: column)
        case .flag(let column): return flag(test, column: column)
        }
    }

    // MARK: JSON properties

    func json(_ test: PropertyTest, _ x: any JSONOperand) -> SQLFragment {
        switch test.op {
        case .ex:
            return x.exists()
        case .eq where test.asStrings:
            return stringEquality(test.value, x)
        case .eq:
            return x.equals(typed(test.value, key: key))
        case .gt, .gte, .lt, .lte:
            return ordering(test.op, typed(test.value, key: key), x)
        case .newerThanDays, .olderThanDays:
            let bound = Timestamp(milliseconds: SegmentCompiler.daysAgo(FilterValues.number(test.value) ?? 0, from: now)).iso8601
            return x.compare(test.op == .newerThanDays ? ">" : "<", .timestamp(bound))
        case .contains:
            return x.contains(test.value.stringValue ?? "", folded: false)
        case .containsCI:
            return x.contains(Self.fold(test.value.stringValue ?? ""), folded: true)
        case .inList:
            let parts = Self.listElements(test.value).map { x.equals(typed($0, key: key)) }
            return parts.isEmpty ? dialect.false : .joined(parts, separator: " OR ")
        case .arrayContains:
            let value = typed(test.value, key: key)
            return x.arrayContains { $0.equals(value) }
        default:
            return dialect.false  // negations are compiled as NOT of their positive form
        }
    }

    /// Customer.io's `eq`: the stored value, printed as a string, equals the filter value printed as a
    /// string (`"80"` matches 80). Written as typed alternatives so an index on the property still serves.
    func stringEquality(_ value: JSON, _ x: any JSONOperand) -> SQLFragment {
        let s: String
        switch value {
        case .string(let text): s = text
        case .bool(let b): s = b ? "true" : "false"
        default: s = JSONWriter.string(value)
        }
        var parts = [x.equals(.string(s))]
        if case .number(let d, let n) = typed(.string(s), key: ""), JSONWriter.string(n) == s {
            parts.append(x.equals(.number(d, n)))
        }
        if s == "true" || s == "false" { parts.append(x.equals(.bool(s == "true"))) }
        return .joined(parts, separator: " OR ")
    }

    func ordering(_ op: FilterOperator, _ v: Typed, _ x: any JSONOperand) -> SQLFragment {
        if case .bool = v { return dialect.false }
        return x.compare(op == .gt ? ">" : op == .gte ? ">=" : op == .lt ? "<" : "<=", v)
    }

    // MARK: Built-in columns

    func text(_ test: PropertyTest, column: String) -> SQLFragment {
        let s = typed(test.value, key: "").text
        switch test.op {
        case .ex: return SQLFragment("\(column) IS NOT NULL")
        case .eq: return SQLFragment("\(column) = ?", [s.sqlValue])
        case .gt: return SQLFragment("\(column) > ?", [s.sqlValue])
        case .gte: return SQLFragment("\(column) >= ?", [s.sqlValue])
        case .lt: return SQLFragment("\(column) < ?", [s.sqlValue])
        case .lte: return SQLFragment("\(column) <= ?", [s.sqlValue])
        case .contains: return SQLFragment(dialect.contains(column), [s.sqlValue])
        case .containsCI: return SQLFragment(dialect.contains(dialect.folded(column)), [Self.fold(s).sqlValue])
        case .inList:
            let values = Self.listElements(test.value).map { typed($0, key: "").text.sqlValue }
            if values.isEmpty { return dialect.false }
            return SQLFragment("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))", values)
        default: return dialect.false
        }
    }

    func time(_ test: PropertyTest, column: String) -> SQLFragment {
        switch test.op {
        case .ex: return SQLFragment("\(column) IS NOT NULL")
        case .newerThanDays:
            return SQLFragment("\(column) > ?", [SegmentCompiler.daysAgo(FilterValues.number(test.value) ?? 0, from: now).sqlValue])
        case .olderThanDays:
            return SQLFragment("\(column) < ?", [SegmentCompiler.daysAgo(FilterValues.number(test.value) ?? 0, from: now).sqlValue])
        case .eq, .gt, .gte, .lt, .lte:
            guard case .timestamp(let s) = typed(test.value, key: "created_at"), let t = Timestamp.parseISO8601(s) else { return dialect.false }
            let cmp = [FilterOperator.eq: "=", .gt: ">", .gte: ">=", .lt: "<", .lte: "<="][test.op]!
            return SQLFragment("\(column) \(cmp) ?", [t.milliseconds.sqlValue])
        default: return dialect.false
        }
    }

    func flag(_ test: PropertyTest, column: String) -> SQLFragment {
        switch test.op {
        case .ex: return dialect.true
        case .eq:
            guard case .bool(let b) = typed(test.value, key: "") else { return dialect.false }
            return SQLFragment(dialect.flag(column, is: b))
        default: return dialect.false
        }
    }

    // MARK: Helpers

    static func listElements(_ value: JSON) -> [JSON] {
        switch value {
        case .array(let elements): return elements
        case .string(let s):
            return s.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map(JSON.string)
        default: return [value]
        }
    }

    /// Case folding for `in-i` / `nin-i`, the same in Swift and in SQL (`SQLDialect.folded`), so non-ASCII
    /// letters compare case-insensitively too.
    static func fold(_ s: String) -> String { s.lowercased() }
}
