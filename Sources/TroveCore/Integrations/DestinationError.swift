/// What can go wrong configuring the Customer.io destination or pulling a Customer.io segment (contract §10);
/// mapped to the `/v3` shape by the server.
public enum DestinationError: Error, Equatable, CustomStringConvertible {
    /// The request is wrong; the message says where.
    case invalid(String)
    /// No such object in this account.
    case notFound(String)
    /// The other system could not be reached or answered something Trove cannot use.
    case upstream(String)

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m), .upstream(let m): return m
        }
    }
}
