/// What can go wrong with a segment or a filter (contract §6), mapped to HTTP once per API family.
public enum SegmentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A filter nested deeper than `FilterTree.maxDepth`, or an unparseable body.
    case malformed(String)
    /// Parses but is wrong (unknown operator, wrong type, a cycle through segments); says where.
    case invalid(String)
    /// No such segment (in this account).
    case notFound(String)
    /// E.g. deleting a segment other segments use; names them.
    case conflict(String)

    public var description: String {
        switch self {
        case .malformed(let m), .invalid(let m), .notFound(let m), .conflict(let m): return m
        }
    }
}
