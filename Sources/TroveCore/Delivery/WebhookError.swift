/// What can go wrong managing webhook endpoints (SPEC §10); mapped to the `/v3` shape by the server.
public enum WebhookError: Error, Equatable, CustomStringConvertible {
    /// 422: the request is wrong; the message says where.
    case invalid(String)
    /// 404.
    case notFound(String)

    public var status: Int {
        switch self {
        case .invalid: return 422
        case .notFound: return 404
        }
    }

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m): return m
        }
    }
}
