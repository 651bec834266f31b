import GRDB

/// Where a property's value comes from: a JSON path in a properties column, or a built-in column.
enum ValueSource: Equatable {
    case json(alias: String, path: PropertyPath)
    /// A text column (`uid`, `email`).
    case text(String)
    /// A time column in milliseconds (`created_at`, ...), or an expression yielding one.
    case time(String)
    /// A 0/1 column (`admin`).
    case flag(String)

    static func profile(_ path: PropertyPath) -> ValueSource {
        let keys = path.keys
        if keys.count == 1 {
            switch keys[0] {
            case "uid": return .text("p.uid")
            case "email": return .text("p.email")
            case "created_at": return .time("p.created_at")
            case "updated_at": return .time("p.updated_at")
            case "last_seen_at": return .time(ActivityRollup.lastSeenSQL(profile: "p.id"))
            case "chameleon_admin", "admin": return .flag("p.admin")
            default: break
            }
        }
        return .json(alias: "p", path: path)
    }

    static func company(_ path: PropertyPath) -> ValueSource {
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
/// another type does not match.
struct PropertyPredicate {
    let source: ValueSource
    let now: Timestamp

    /// A stored timestamp: normalization writes every one as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static let timestampGlob = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'"

    enum Typed {
        case number(Double, JSON)
        case bool(Bool)
        case timestamp(String)
        case string(String)

        var databaseValue: DatabaseValue {
            switch self {
            case .number(_, .int(let i)): return i.databaseValue
            case .number(let d, _): return d.databaseValue
            case .bool(let b): return (b ? 1 : 0).databaseValue
            case .timestamp(let s), .string(let s): return s.databaseValue
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
        case .json(let alias, let path):
            return json(
                test, x: "json_extract(\(alias).properties, \(path.sqlLiteral))", t: "json_type(\(alias).properties, \(path.sqlLiteral))",
                alias: alias, path: path)
        case .text(let column): return text(test, column: column)
        case .time(let column): return time(test, column: column)
        case .flag(let column): return flag(test, column: column)
        }
    }

    // MARK: JSON properties

    func json(_ test: PropertyTest, x: String, t: String, alias: String, path: PropertyPath) -> SQLFragment {
        switch test.op {
        case .ex:
            return SQLFragment("\(x) IS NOT NULL")
        case .eq where test.asStrings:
            return stringEquality(test.value, x: x, t: t)
        case .eq:
            return typedEquality(typed(test.value, key: key), x: x, t: t)
        case .gt, .gte, .lt, .lte:
            return ordering(test.op, typed(test.value, key: key), x: x, t: t)
        case .newerThanDays, .olderThanDays:
            let bound = Timestamp(milliseconds: SegmentCompiler.daysAgo(FilterValues.number(test.value) ?? 0, from: now)).iso8601
            let cmp = test.op == .newerThanDays ? "\(x) > ?" : "\(x) < ? AND \(x) >= ''"
            return SQLFragment("\(cmp) AND \(x) GLOB \(Self.timestampGlob)", [bound.databaseValue])
        case .contains:
            return SQLFragment("\(t) = 'text' AND instr(\(x), ?) > 0", [(test.value.stringValue ?? "").databaseValue])
        case .containsCI:
            return SQLFragment("\(t) = 'text' AND instr(trove_fold(\(x)), ?) > 0", [Self.fold(test.value.stringValue ?? "").databaseValue])
        case .inList:
            let parts = Self.listElements(test.value).map { typedEquality(typed($0, key: key), x: x, t: t) }
            return parts.isEmpty ? .false : .joined(parts, separator: " OR ")
        case .arrayContains:
            let element = typedEquality(typed(test.value, key: key), x: "j.value", t: "j.type")
            return SQLFragment("\(t) = 'array' AND EXISTS (SELECT 1 FROM json_each(\(alias).properties, \(path.sqlLiteral)) j WHERE ") + element + SQLFragment(")")
        default:
            return .false  // negations are compiled as NOT of their positive form
        }
    }

    /// `json_extract` gives numbers as numbers, `true`/`false` as 1/0, strings as text and arrays or
    /// objects as their JSON text. So the type check (`json_type`, which needs the row: an index holds
    /// only `x`) is written only where `x` alone could mistake one type for another: a number range or
    /// equality that takes in 0 or 1, a string that could be the JSON text of an array or object.
    func typedEquality(_ v: Typed, x: String, t: String) -> SQLFragment {
        switch v {
        case .number(let n, _):
            return SQLFragment("\(x) = ?" + (n == 0 || n == 1 ? " AND \(t) IN ('integer', 'real')" : ""), [v.databaseValue])
        case .bool(let b): return SQLFragment("\(t) = '\(b ? "true" : "false")'")
        case .timestamp(let s), .string(let s):
            return SQLFragment("\(x) = ?" + (Self.couldBeJSONText(s) ? " AND \(t) = 'text'" : ""), [v.databaseValue])
        }
    }

    /// Whether text could be how `json_extract` renders an array or an object.
    static func couldBeJSONText(_ s: String) -> Bool { s.hasPrefix("[") || s.hasPrefix("{") }

    /// Customer.io's `eq`: the stored value, printed as a string, equals the filter value printed as a
    /// string (`"80"` matches 80). Written as typed alternatives so an index on the property still serves.
    func stringEquality(_ value: JSON, x: String, t: String) -> SQLFragment {
        let s: String
        switch value {
        case .string(let text): s = text
        case .bool(let b): s = b ? "true" : "false"
        default: s = JSONWriter.string(value)
        }
        var parts = [typedEquality(.string(s), x: x, t: t)]
        if case .number(let d, let n) = typed(.string(s), key: ""), JSONWriter.string(n) == s {
            parts.append(typedEquality(.number(d, n), x: x, t: t))
        }
        if s == "true" || s == "false" { parts.append(SQLFragment("\(t) = '\(s)'")) }
        return .joined(parts, separator: " OR ")
    }

    func ordering(_ op: FilterOperator, _ v: Typed, x: String, t: String) -> SQLFragment {
        let cmp = op == .gt ? ">" : op == .gte ? ">=" : op == .lt ? "<" : "<="
        let upward = op == .gt || op == .gte
        switch v {
        case .number(let n, _):
            // Numbers sort before text in SQLite: `x < ''` bounds an index range to the numbers.
            let bound = upward ? " AND \(x) < ''" : ""
            let takesInBooleans = op == .gt ? n < 1 : op == .gte ? n <= 1 : op == .lt ? n > 0 : n >= 0
            return SQLFragment("\(x) \(cmp) ?\(bound)" + (takesInBooleans ? " AND \(t) IN ('integer', 'real')" : ""), [v.databaseValue])
        case .timestamp:
            let bound = upward ? "" : " AND \(x) >= ''"
            return SQLFragment("\(x) \(cmp) ?\(bound) AND \(x) GLOB \(Self.timestampGlob)", [v.databaseValue])
        case .string:
            let bound = upward ? "" : " AND \(x) >= ''"
            return SQLFragment("\(x) \(cmp) ?\(bound) AND \(t) = 'text' AND \(x) NOT GLOB \(Self.timestampGlob)", [v.databaseValue])
        case .bool:
            return .false
        }
    }

    // MARK: Built-in columns

    func text(_ test: PropertyTest, column: String) -> SQLFragment {
        let s = typed(test.value, key: "").text
        switch test.op {
        case .ex: return SQLFragment("\(column) IS NOT NULL")
        case .eq: return SQLFragment("\(column) = ?", [s.databaseValue])
        case .gt: return SQLFragment("\(column) > ?", [s.databaseValue])
        case .gte: return SQLFragment("\(column) >= ?", [s.databaseValue])
        case .lt: return SQLFragment("\(column) < ?", [s.databaseValue])
        case .lte: return SQLFragment("\(column) <= ?", [s.databaseValue])
        case .contains: return SQLFragment("instr(\(column), ?) > 0", [s.databaseValue])
        case .containsCI: return SQLFragment("instr(trove_fold(\(column)), ?) > 0", [Self.fold(s).databaseValue])
        case .inList:
            let values = Self.listElements(test.value).map { typed($0, key: "").text.databaseValue }
            if values.isEmpty { return .false }
            return SQLFragment("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))", values)
        default: return .false
        }
    }

    func time(_ test: PropertyTest, column: String) -> SQLFragment {
        switch test.op {
        case .ex: return SQLFragment("\(column) IS NOT NULL")
        case .newerThanDays:
            return SQLFragment("\(column) > ?", [SegmentCompiler.daysAgo(FilterValues.number(test.value) ?? 0, from: now).databaseValue])
        case .olderThanDays:
            return SQLFragment("\(column) < ?", [SegmentCompiler.daysAgo(FilterValues.number(test.value) ?? 0, from: now).databaseValue])
        case .eq, .gt, .gte, .lt, .lte:
            guard case .timestamp(let s) = typed(test.value, key: "created_at"), let t = Timestamp.parseISO8601(s) else { return .false }
            let cmp = [FilterOperator.eq: "=", .gt: ">", .gte: ">=", .lt: "<", .lte: "<="][test.op]!
            return SQLFragment("\(column) \(cmp) ?", [t.milliseconds.databaseValue])
        default: return .false
        }
    }

    func flag(_ test: PropertyTest, column: String) -> SQLFragment {
        switch test.op {
        case .ex: return .true
        case .eq:
            guard case .bool(let b) = typed(test.value, key: "") else { return .false }
            return SQLFragment("\(column) = \(b ? 1 : 0)")
        default: return .false
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

    /// Case folding for `in-i` / `nin-i`, the same in Swift and in SQL (`trove_fold`, registered on every
    /// connection), so non-ASCII letters compare case-insensitively too.
    static func fold(_ s: String) -> String { s.lowercased() }
}
