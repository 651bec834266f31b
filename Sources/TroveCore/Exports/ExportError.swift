/// What can go wrong asking for an export or its file (contract §7); the server maps it to the `/v1` shape.
public enum ExportError: Error, Equatable, CustomStringConvertible {
    /// The body is not what an export takes.
    case invalid(String)
    /// No such export in this account.
    case notFound(String)
    /// The export has no file to hand out (yet, or any more).
    case notReady(String)
    /// A download link that was altered or has expired.
    case forbidden(String)

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m), .notReady(let m), .forbidden(let m): return m
        }
    }
}
