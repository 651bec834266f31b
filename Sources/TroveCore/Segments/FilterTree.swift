/// One filter tree for both wire grammars (contract §6): Chameleon items and Customer.io filters parse into
/// it, the compiler turns it into SQL, explain walks it. Leaves keep the wire path they came from
/// (`items[2].filters[0]`, `and[1].attribute`) so errors and explanations can point at them.
public indirect enum FilterNode: Sendable, Equatable {
    case all([FilterNode])
    case any([FilterNode])
    case not(FilterNode)
    case condition(FilterCondition)

    /// Filters may nest this deep (contract §3: a filter deeper than 16 is refused with 400).
    public static let maxDepth = 16

    /// Whether this is a single event condition ("did X n times").
    var isEventCondition: Bool {
        if case .condition(let c) = self, case .event = c.kind { return true }
        return false
    }

    /// Every leaf, in order.
    public var conditions: [FilterCondition] {
        switch self {
        case .all(let nodes), .any(let nodes): return nodes.flatMap(\.conditions)
        case .not(let node): return node.conditions
        case .condition(let c): return [c]
        }
    }
}

public struct FilterCondition: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case property(PropertyTest)
        case event(EventTest)
        /// Member (or not) of another segment.
        case segment(id: Int64, member: Bool)
    }

    public var path: String
    public var kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }
}

/// Whose property a test reads.
public enum PropertyOwner: String, Sendable, Equatable {
    case profile, company, event
}

/// `prop op value` on a profile, its company, or an event. `path` holds the normalized components
/// (`address.city` → ["address", "city"]).
public struct PropertyTest: Sendable, Equatable {
    public var owner: PropertyOwner
    public var path: PropertyPath
    public var keys: [String] { path.keys }
    public var op: FilterOperator
    /// The value as sent (coerced per contract §4 when compiled, so `$now` and `-7d` follow the clock).
    public var value: JSON
    /// Compare as strings (Customer.io `eq`, contract §6.2).
    public var asStrings: Bool

    public init(owner: PropertyOwner, path: PropertyPath, op: FilterOperator, value: JSON, asStrings: Bool = false) {
        self.owner = owner
        self.path = path
        self.op = op
        self.value = value
        self.asStrings = asStrings
    }

    /// The dotted name as the catalog shows it (`company.employees`).
    public var displayName: String {
        (owner == .company ? "company." : "") + keys.joined(separator: ".")
    }
}

/// "Did `name` (count `countOp` `count`) times (within the window)", with conditions on the event's properties.
public struct EventTest: Sendable, Equatable {
    public enum Window: Sendable, Equatable {
        case ever
        /// Within the last N days.
        case newerThan(days: Double)
        /// More than N days ago.
        case olderThan(days: Double)
    }

    /// Normalized event name (contract §4), matched against `event_names.uid`.
    public var name: String
    public var countOp: FilterOperator
    public var count: Int64
    public var window: Window
    public var filters: [PropertyTest]

    public init(name: String, countOp: FilterOperator = .gte, count: Int64 = 1, window: Window = .ever, filters: [PropertyTest] = []) {
        self.name = name
        self.countOp = countOp
        self.count = count
        self.window = window
        self.filters = filters
    }

    /// Whether a profile that never did the event matches (`nx`, `lt 3`, `eq 0`, ...).
    public var matchesZero: Bool { countOp.compare(Int64(0), count) }
}

/// contract §6.1 operators. `ne`, `nx` and the `nin*` family are the negations of `eq`, `ex` and `in*`, so an
/// absent property matches them.
public enum FilterOperator: String, Sendable, Equatable, CaseIterable {
    case eq, ne, gt, lt, gte, lte, ex, nx
    case newerThanDays = "gt-d", olderThanDays = "lt-d"
    case contains = "in", notContains = "nin"
    case containsCI = "in-i", notContainsCI = "nin-i"
    case inList = "in-v", notInList = "nin-v"
    case arrayContains = "in-a", notArrayContains = "nin-a"

    /// The positive operator this one negates, if it is a negation.
    public var negated: FilterOperator? {
        switch self {
        case .ne: return .eq
        case .nx: return .ex
        case .notContains: return .contains
        case .notContainsCI: return .containsCI
        case .notInList: return .inList
        case .notArrayContains: return .arrayContains
        default: return nil
        }
    }

    /// Whether the operator takes no value.
    public var isUnary: Bool { self == .ex || self == .nx }

    /// Count comparisons (event `mod`).
    func compare(_ a: Int64, _ b: Int64) -> Bool {
        switch self {
        case .eq: return a == b
        case .ne: return a != b
        case .gt: return a > b
        case .lt: return a < b
        case .gte: return a >= b
        case .lte: return a <= b
        default: return false
        }
    }

    static let countOperators: Set<FilterOperator> = [.eq, .ne, .gt, .lt, .gte, .lte]

    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
