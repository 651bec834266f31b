/// The three stored models, as the API names them (`kind=profile|company|event`).
public enum Model: String, Sendable, CaseIterable, Codable {
    case profile, company, event
}

/// What normalization changed or dropped (contract §4 "Warnings").
public enum WarningKind: String, Sendable, CaseIterable, Codable {
    case truncated
    case tooDeep = "too_deep"
    case hashInArray = "hash_in_array"
    case reserved
    case invalidName = "invalid_name"
    case nameCollision = "name_collision"
    case unknownMetric = "unknown_metric"
}

public struct IngestWarning: Sendable, Equatable, CustomStringConvertible {
    public var kind: WarningKind
    /// The property path (normalized, dotted), or the raw key when the name itself was invalid.
    public var prop: String
    public var detail: String?

    public init(_ kind: WarningKind, _ prop: String, _ detail: String? = nil) {
        self.kind = kind
        self.prop = prop
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue) \(prop)" + (detail.map { ": \($0)" } ?? "") }
}
