/// Aggregates normalization warnings within one write transaction, then adds them to the `warnings`
/// table in one statement per distinct (account, model, prop, kind).
public struct WarningAccumulator: Sendable {
    public struct Key: Hashable, Sendable {
        public var account: Int64
        public var model: Model
        public var prop: String
        public var kind: WarningKind
    }

    public struct Entry: Sendable {
        public var count: Int
        public var exampleUID: String?
        public var detail: String?
    }

    public private(set) var entries: [Key: Entry] = [:]

    var isEmpty: Bool { entries.isEmpty }

    public init() {}

    public mutating func record(account: Int64, model: Model, warnings: [IngestWarning], exampleUID: String?) {
        for w in warnings {
            let key = Key(account: account, model: model, prop: ValueNormalizer.prefix(w.prop, maxBytes: 255), kind: w.kind)
            if var e = entries[key] {
                e.count += 1
                e.exampleUID = exampleUID ?? e.exampleUID
                e.detail = w.detail ?? e.detail
                entries[key] = e
            } else {
                entries[key] = Entry(count: 1, exampleUID: exampleUID, detail: w.detail)
            }
        }
    }
}
