/// A path into a properties column. Its keys are made by `NameNormalizer` — letters, digits and `_`, never a
/// quote — so the path can be written into SQL as a literal; normalizing is the only way to build one, so
/// no caller has to remember to escape.
public struct PropertyPath: Hashable, Sendable, CustomStringConvertible {
    public let keys: [String]

    /// Normalizes each name; nil when there is none, or one normalizes to nothing.
    public init?(normalizing names: some Sequence<some StringProtocol>) {
        let keys = names.map { NameNormalizer.normalize(String($0)) }
        guard !keys.isEmpty, !keys.contains(where: \.isEmpty) else { return nil }
        self.keys = keys
    }

    private init(checked keys: [String]) { self.keys = keys }

    /// The same path without its first key (`company.plan` → `plan`), nil when nothing is left.
    var droppingFirst: PropertyPath? { keys.count > 1 ? PropertyPath(checked: Array(keys.dropFirst())) : nil }

    /// SQLite's JSON path, `$."plan"."tier"`, for binding as a parameter or storing.
    public var jsonPath: String { "$" + keys.map { ".\"\($0)\"" }.joined() }

    /// The JSON path as an SQL string literal, `'$."plan"."tier"'`.
    var sqlLiteral: String { "'" + jsonPath + "'" }

    public var description: String { keys.joined(separator: ".") }
}
