/// How a read names a profile or company.
public enum ObjectLookup: Sendable, Equatable {
    case uid(String)
    case email(String)
    case id(Int64)

    /// The field it names: uid, email or id.
    public var column: String {
        switch self {
        case .uid: return "uid"
        case .email: return "email"
        case .id: return "id"
        }
    }

    /// `uid "ann"`, `id 0000…2a`: for an error message to the caller who sent it.
    public var describedForErrors: String {
        switch self {
        case .uid(let u), .email(let u): return "\(column) \"\(u)\""
        case .id(let i): return "id \(PublicID.encode(i))"
        }
    }
}

public enum ReadError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notFound(let m), .invalid(let m): return m
        }
    }
}
