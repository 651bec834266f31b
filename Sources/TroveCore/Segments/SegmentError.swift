/// What can go wrong with a segment or a filter (SPEC §6), mapped to HTTP once per API family.
public enum SegmentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400: a filter nested deeper than `FilterTree.maxDepth`, or an unparseable body.
    case malformed(String)
    /// 422: parses but is wrong (unknown operator, wrong type, a cycle through segments); says where.
    case invalid(String)
    /// 404: no such segment (in this account).
    case notFound(String)
    /// 409: e.g. deleting a segment other segments use; names them.
    case conflict(String)

    public var status: Int {
        switch self {
        case .malformed: return 400
        case .invalid: return 422
        case .notFound: return 404
        case .conflict: return 409
        }
    }

    public var description: String {
        switch self {
        case .malformed(let m), .invalid(let m), .notFound(let m), .conflict(let m): return m
        }
    }
}
