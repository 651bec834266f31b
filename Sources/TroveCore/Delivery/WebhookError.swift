/// What can go wrong managing webhook endpoints (contract §10); mapped to the `/v3` shape by the server.
public enum WebhookError: Error, Equatable, CustomStringConvertible {
    /// The request is wrong; the message says where.
    case invalid(String)
    /// No such object in this account.
    case notFound(String)

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m): return m
        }
    }
}
