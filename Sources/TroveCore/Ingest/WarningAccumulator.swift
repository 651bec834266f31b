/// Aggregates normalization warnings within one write transaction, then adds them to the `warnings`
/// table in one statement per distinct (account, model, prop, kind).
public struct WarningAccumulator: Sendable {
    struct Key: Hashable, Sendable {
        var account: Int64
        var model: Model
        var prop: String
        var kind: WarningKind
    }

    struct Entry: Sendable {
        var count: Int
        var exampleUID: String?
        var detail: String?
    }

    private(set) var entries: [Key: Entry] = [:]

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
