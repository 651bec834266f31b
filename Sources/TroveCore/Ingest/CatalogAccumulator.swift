/// Collects what one write transaction taught us about property names, types and example values, and
/// writes it to the catalog once per transaction (contract §4 "Catalog"), so the hot path pays a dictionary
/// update per property and no SQL.
public struct CatalogAccumulator: Sendable {
    public struct Key: Hashable, Sendable {
        public var account: Int64
        public var model: Model
        public var prop: String
    }

    public struct Entry: Sendable {
        var types: Set<String> = []
        var examples: [JSON] = []

        /// Hashes are cataloged by their children's paths, so they keep no examples of their own.
        mutating func add(_ value: JSON) {
            types.insert(CatalogAccumulator.typeName(value))
            if case .object = value { return }
            if examples.count < CatalogAccumulator.maxExamples, !examples.contains(value) { examples.append(value) }
        }
    }

    static let maxExamples = 5
    public private(set) var entries: [Key: Entry] = [:]

    public init() {}

    public mutating func record(account: Int64, model: Model, properties: [JSONMember]) {
        for member in properties where member.value != .null {
            record(account: account, model: model, path: member.key, value: member.value)
        }
    }

    private mutating func record(account: Int64, model: Model, path: String, value: JSON) {
        entries[Key(account: account, model: model, prop: path), default: Entry()].add(value)
        if case .object(let members) = value {
            for m in members { record(account: account, model: model, path: path + "." + m.key, value: m.value) }
        }
    }

    static func typeName(_ value: JSON) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string(let s): return ValueNormalizer.isTimestampText(s) ? "timestamp" : "string"
        case .array: return "array"
        case .object: return "hash"
        }
    }

    /// A display name from a normalized path: `plan_name` → `Plan Name`, `address.city` → `Address City`.
    public static func displayName(_ prop: String) -> String {
        prop.split(whereSeparator: { $0 == "_" || $0 == "." }).map { word in
            word.prefix(1).uppercased() + word.dropFirst()
        }.joined(separator: " ")
    }

    /// What the catalog row of `entry` says after this transaction: its types joined with the stored ones
    /// (sorted), and its examples newest first — this transaction's, then the older ones not repeated, at
    /// most `maxExamples`, long strings cut.
    public static func merged(_ entry: Entry, storedTypes: String?, storedExamples: String?) -> (types: [String], examples: [JSON]) {
        var types = entry.types
        var examples = entry.examples
        for t in storedTypes.map(derivedList) ?? [] { if let s = t.stringValue { types.insert(s) } }
        for old in storedExamples.map(derivedList) ?? [] where examples.count < maxExamples && !examples.contains(old) {
            examples.append(old)
        }
        return (types.sorted(), examples.map(example))
    }

    /// Example values are kept short: long strings are cut to 100 bytes.
    static func example(_ value: JSON) -> JSON {
        if case .string(let s) = value, s.utf8.count > 100 { return .string(ValueNormalizer.prefix(s, maxBytes: 100)) }
        return value
    }

    /// A stored catalog list (types seen, example values). Unlike a profile's properties it is derived — a
    /// sample of what ingest saw — so one that does not parse is rebuilt from this write's values rather than
    /// stopping ingest of every item carrying the property (nothing a user sent is lost).
    static func derivedList(_ text: String) -> [JSON] {
        guard case .array(let list)? = try? JSONParser.parse(Array(text.utf8)) else { return [] }
        return list
    }
}
