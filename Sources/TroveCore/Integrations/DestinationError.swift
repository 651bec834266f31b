/// What can go wrong configuring the Customer.io destination or pulling a Customer.io segment (SPEC §10);
/// mapped to the `/v3` shape by the server.
public enum DestinationError: Error, Equatable, CustomStringConvertible {
    /// 422: the request is wrong; the message says where.
    case invalid(String)
    /// 404.
    case notFound(String)
    /// 502: the other system could not be reached or answered something Trove cannot use.
    case upstream(String)

    public var status: Int {
        switch self {
        case .invalid: return 422
        case .notFound: return 404
        case .upstream: return 502
        }
    }

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m), .upstream(let m): return m
        }
    }
}
