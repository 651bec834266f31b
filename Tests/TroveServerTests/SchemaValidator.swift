import Foundation
import TroveCore

/// A JSON Schema (2020-12, as OpenAPI 3.1 uses it) validator over the API document: `$ref` within the
/// document, `type` (one or several), `const`, `enum`, `properties`, `required`, `additionalProperties`,
/// `items`, `allOf`/`anyOf`/`oneOf`, numeric and length bounds, `pattern`, and `format: date-time`. It is
/// general, not a check per route: every response a test receives goes through it (see `DocumentedResponses`).
struct SchemaValidator {
    let document: JSON

    /// The problems of `value` against `schema`, each with the JSON path where it is.
    func problems(_ value: JSON, _ schema: JSON, at path: String = "$") -> [String] {
        if case .bool(let allowed) = schema { return allowed ? [] : ["\(path): no value is allowed here"] }
        guard case .object = schema else { return [] }
        if let ref = schema["$ref"]?.stringValue {
            guard let target = resolve(ref) else { return ["\(path): unresolvable $ref \(ref)"] }
            var found = problems(value, target, at: path)
            // Siblings of $ref apply too (2020-12).
            if case .object(let members) = schema, members.count > 1 {
                found += problems(value, .object(members.filter { $0.key != "$ref" }), at: path)
            }
            return found
        }
        var found: [String] = []
        if let types = schema["type"] {
            let allowed: [String] = switch types {
            case .string(let t): [t]
            case .array(let ts): ts.compactMap(\.stringValue)
            default: []
            }
            if !allowed.contains(where: { Self.has(value, type: $0) }) {
                return ["\(path): expected \(allowed.joined(separator: " or ")), got \(JSONWriter.string(value).prefix(120))"]
            }
        }
        if let constant = schema["const"], constant != value { found.append("\(path): must be \(JSONWriter.string(constant))") }
        if case .array(let options)? = schema["enum"], !options.contains(value) {
            found.append("\(path): \(JSONWriter.string(value).prefix(80)) is not one of \(JSONWriter.string(.array(options)))")
        }
        if case .array(let all)? = schema["allOf"] { for s in all { found += problems(value, s, at: path) } }
        if case .array(let any)? = schema["anyOf"], !any.contains(where: { problems(value, $0, at: path).isEmpty }) {
            found.append("\(path): matches none of anyOf")
        }
        if case .array(let one)? = schema["oneOf"] {
            let matching = one.filter { problems(value, $0, at: path).isEmpty }.count
            if matching != 1 { found.append("\(path): matches \(matching) of oneOf's schemas, not exactly one") }
        }
        switch value {
        case .object(let members):
            if case .array(let required)? = schema["required"] {
                for key in required.compactMap(\.stringValue) where !members.contains(where: { $0.key == key }) {
                    found.append("\(path): missing required \(key)")
                }
            }
            let properties: [JSONMember] = if case .object(let p)? = schema["properties"] { p } else { [] }
            let declared = Set(properties.map(\.key))
            for member in members {
                let at = "\(path).\(member.key)"
                if let property = properties.first(where: { $0.key == member.key }) {
                    found += problems(member.value, property.value, at: at)
                } else if let extra = schema["additionalProperties"], !declared.contains(member.key), !composed(schema, declares: member.key) {
                    found += problems(member.value, extra, at: at)
                }
            }
        case .array(let elements):
            if let items = schema["items"] {
                for (i, element) in elements.enumerated() { found += problems(element, items, at: "\(path)[\(i)]") }
            }
            if let n = schema["minItems"]?.int, elements.count < Int(n) { found.append("\(path): fewer than \(n) items") }
            if let n = schema["maxItems"]?.int, elements.count > Int(n) { found.append("\(path): more than \(n) items") }
        case .string(let text):
            if let n = schema["minLength"]?.int, text.count < Int(n) { found.append("\(path): shorter than \(n)") }
            if let pattern = schema["pattern"]?.stringValue, text.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): \(text.prefix(80)) does not match \(pattern)")
            }
            if schema["format"]?.stringValue == "date-time", Timestamp.parseISO8601(text) == nil {
                found.append("\(path): \(text.prefix(80)) is not a date-time")
            }
        case .int, .double:
            let number: Double = if case .int(let i) = value { Double(i) } else if case .double(let d) = value { d } else { 0 }
            if let bound = Self.number(schema["minimum"]), number < bound { found.append("\(path): below \(bound)") }
            if let bound = Self.number(schema["maximum"]), number > bound { found.append("\(path): above \(bound)") }
        default: break
        }
        return found
    }

    /// Whether an `allOf` part names the key (its properties are declared for `additionalProperties`).
    func composed(_ schema: JSON, declares key: String) -> Bool {
        guard case .array(let parts)? = schema["allOf"] else { return false }
        return parts.contains { part in
            let resolved = part["$ref"]?.stringValue.flatMap(resolve) ?? part
            if case .object(let p)? = resolved["properties"], p.contains(where: { $0.key == key }) { return true }
            return composed(resolved, declares: key)
        }
    }

    func resolve(_ ref: String) -> JSON? {
        guard ref.hasPrefix("#/") else { return nil }
        var current: JSON? = document
        for part in ref.dropFirst(2).split(separator: "/") {
            current = current?[String(part).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")]
        }
        return current
    }

    static func has(_ value: JSON, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("integer", .int), ("number", .int),
             ("number", .double):
            return true
        case ("integer", .double(let d)): return d == d.rounded()
        default: return false
        }
    }

    static func number(_ value: JSON?) -> Double? {
        switch value {
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: return nil
        }
    }
}
