import Foundation

/// Checks shared by both grammars: property paths and the values operators take.
public enum FilterValues {
    /// `company.employees` → (.company, ["employees"]); names are normalized with the contract §4 rule, so
    /// `planName`, `plan name` and `plan_name` name one property.
    static func propertyPath(_ prop: String, path: String, owner: PropertyOwner, allowCompany: Bool) throws(SegmentError) -> (PropertyOwner, PropertyPath) {
        guard let parts = PropertyPath(normalizing: prop.split(separator: ".", omittingEmptySubsequences: false)) else {
            throw .invalid("\(path): \"\(prop)\" is not a usable property name")
        }
        if allowCompany, parts.keys[0] == "company", let rest = parts.droppingFirst {
            return (.company, rest)
        }
        return (owner, parts)
    }

    static func checkedValue(_ value: JSON?, op: FilterOperator, path: String) throws(SegmentError) -> JSON {
        if op.isUnary { return .null }
        guard let value, value != .null else { throw .invalid("\(path): required for operator \"\(op.rawValue)\"") }
        switch op {
        case .newerThanDays, .olderThanDays:
            guard let days = number(value), days >= 0 else { throw .invalid("\(path): \"\(op.rawValue)\" takes a number of days ≥ 0") }
            return .double(days)
        case .inList, .notInList:
            switch value {
            case .string, .int, .double, .bool: return value
            case .array(let elements) where elements.allSatisfy(isScalar): return value
            default: throw .invalid("\(path): \"\(op.rawValue)\" takes a comma-separated string or an array of values")
            }
        case .contains, .notContains, .containsCI, .notContainsCI:
            switch value {
            case .string: return value
            case .int, .double: return .string(JSONWriter.string(value))
            default: throw .invalid("\(path): \"\(op.rawValue)\" takes a string")
            }
        case .gt, .lt, .gte, .lte:
            guard isScalar(value) else { throw .invalid("\(path): must be a string, number or timestamp") }
            if case .bool = value { throw .invalid("\(path): \"\(op.rawValue)\" does not compare booleans") }
            return value
        default:
            guard isScalar(value) else { throw .invalid("\(path): must be a string, number or boolean, not \(value.typeName == "object" ? "an object" : "an \(value.typeName)")") }
            return value
        }
    }

    static func isScalar(_ value: JSON) -> Bool {
        switch value {
        case .string, .int, .double, .bool: return true
        default: return false
        }
    }

    static func number(_ value: JSON) -> Double? {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d.isFinite ? d : nil
        case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
        default: return nil
        }
    }

    public static func integer(_ value: JSON) -> Int64? {
        switch value {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 1e15: return Int64(d)
        case .string(let s): return Int64(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    /// Whether a value depends on the clock (`$now`, `+30d`): such a condition changes with time alone.
    static func isRelativeTime(_ value: JSON) -> Bool {
        guard case .string(let s) = value else { return false }
        let t = s.trimmingCharacters(in: .whitespaces)
        if t.lowercased() == "$now" { return true }
        guard let first = t.first, first == "+" || first == "-", let unit = t.last, "mhd".contains(unit) else { return false }
        return t.dropFirst().dropLast().allSatisfy(\.isNumber) && t.count > 2
    }
}
