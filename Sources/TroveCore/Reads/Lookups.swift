/// How a read names a profile or company.
public enum ObjectLookup: Sendable, Equatable {
    case uid(String)
    case email(String)
    case id(Int64)
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
