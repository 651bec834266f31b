/// How one engine writes what the segment compiler means (contract §6). The compiler decides which
/// conditions a filter makes, how values are typed and which indexes serve it, once for every engine; a
/// dialect spells the pieces in its SQL. SQLite: `SQLiteDialect`; PostgreSQL: `PostgresDialect`.
public protocol SQLDialect: Sendable {
    /// A condition always true, and one always false.
    var alwaysTrue: String { get }
    var alwaysFalse: String { get }
    /// The negation of `condition`, never NULL: an absent property makes a comparison NULL, and `NOT NULL`
    /// is NULL, not true.
    func not(_ condition: String) -> String
    /// The term selecting enabled profiles of `profiles p`.
    var enabledProfile: String { get }
    /// A boolean column equal to `value`.
    func flag(_ column: String, is value: Bool) -> String
    /// The time (milliseconds) of the last event of profile `p`, or NULL.
    var lastSeen: String { get }
    /// `p` is a member of manual segment `segment` of `account`.
    func manualMember(account: Int64, segment: Int64) -> SQLFragment
    /// Terms confining `events e` to the account, written after the name's term (none where the name's
    /// id implies it and an extra column would cost the name's index).
    func eventsOfAccount(_ account: Int64) -> SQLFragment
    /// Whether text `column` contains the bound text.
    func contains(_ column: String) -> String
    /// `column` folded for a case-insensitive comparison, as `PropertyPredicate.fold` folds in Swift.
    func folded(_ column: String) -> String
    /// A property at `path` of the JSON properties column of `alias`.
    func json(alias: String, path: PropertyPath) -> any JSONOperand
    /// The statement creating `index` if it is not there.
    func createSQL(_ index: SegmentIndex) -> String
    /// Whether a members query counts events per candidate in profile-id order (`SegmentCompiler.Output.
    /// candidatesFirst`): the candidates found first, sorted, then each counted by a seek into the name's index.
    var seeksCandidatesInOrder: Bool { get }
}

extension SQLDialect {
    public var seeksCandidatesInOrder: Bool { false }
}

/// A JSON value in a condition, and the tests the compiler makes on it. Every test is false where the
/// value is absent or of another type than the test's (contract §6 typing).
public protocol JSONOperand {
    /// Present and not JSON null.
    func exists() -> SQLFragment
    /// Equal to `value`, of its type.
    func equals(_ value: PropertyPredicate.Typed) -> SQLFragment
    /// Ordered against `value` (`cmp`: `>`, `>=`, `<`, `<=`): numbers with numbers, timestamps with
    /// timestamps, other text with other text. Never called with a boolean.
    func compare(_ cmp: String, _ value: PropertyPredicate.Typed) -> SQLFragment
    /// Text containing `text`; `folded`: case-insensitively, `text` already folded.
    func contains(_ text: String, folded: Bool) -> SQLFragment
    /// The value's JSON text (NULL when absent), for an export column.
    func jsonText() -> String
    /// The value's text when it is a string or a number, else NULL (an identifier read from a property).
    func scalarText() -> String
    /// An array with an element for which `element` holds.
    func arrayContains(_ element: (any JSONOperand) -> SQLFragment) -> SQLFragment
}

extension SQLDialect {
    var `true`: SQLFragment { SQLFragment(alwaysTrue) }
    var `false`: SQLFragment { SQLFragment(alwaysFalse) }

    func not(_ fragment: SQLFragment) -> SQLFragment { SQLFragment(not(fragment.sql), fragment.arguments) }
}
