/// What can go wrong asking for an export or its file (SPEC §7); the server maps it to the `/v1` shape.
public enum ExportError: Error, Equatable, CustomStringConvertible {
    /// 400: the body is not what an export takes.
    case invalid(String)
    /// 404: no such export in this account.
    case notFound(String)
    /// 409: the export has no file to hand out (yet, or any more).
    case notReady(String)
    /// 403: a download link that was altered or has expired.
    case forbidden(String)

    public var status: Int {
        switch self {
        case .invalid: return 400
        case .notFound: return 404
        case .notReady: return 409
        case .forbidden: return 403
        }
    }

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m), .notReady(let m), .forbidden(let m): return m
        }
    }
}
