/// A stored segment (contract §6 model).
public struct Segment: Sendable, Equatable {
    public enum Kind: String, Sendable { case dynamic, manual }
    public enum Grammar: String, Sendable { case chameleon, customerio }

    public var id: Int64
    public var accountID: Int64
    public var name: String
    public var description: String
    public var kind: Kind
    public var grammar: Grammar?
    /// The filter as accepted, in `grammar` (dynamic segments).
    public var definition: JSON?
    public var tags: [String]
    public var version: Int64
    public var builtVersion: Int64
    public var windowed: Bool
    public var memberCount: Int64
    public var computedAt: Timestamp?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public var isReady: Bool { kind == .manual || builtVersion >= version }

    /// The parsed filter tree of a dynamic segment.
    public func filter() throws(SegmentError) -> FilterNode? {
        guard kind == .dynamic, let definition else { return nil }
        switch grammar ?? .chameleon {
        case .chameleon: return try ChameleonFilter.parse(definition)
        case .customerio: return try CustomerIOFilter.parse(definition)
        }
    }
}
