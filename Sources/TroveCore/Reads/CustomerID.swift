/// How the Customer.io families name a customer (contract §2): the uid, the email with `id_type=email`, or
/// `cio_<public id>`.
public enum CustomerID: Sendable, Equatable, CustomStringConvertible {
    case uid(String)
    case email(String)
    case profileID(Int64)

    /// `idType` is the `id_type` query parameter (`id` by default, or `email`); `cio_` ids work with either.
    public init(_ text: String, idType: String?) throws(ReadError) {
        if text.hasPrefix("cio_"), let id = PublicID.decode(String(text.dropFirst(4))) {
            self = .profileID(id)
            return
        }
        switch idType {
        case nil, "", "id": self = .uid(text)
        case "email": self = .email(Identifiers.normalizeEmail(text))
        case "cio_id":
            guard let id = PublicID.decode(text) else { throw .invalid("id: not a cio_id") }
            self = .profileID(id)
        default: throw .invalid("id_type: must be id, email or cio_id")
        }
    }

    public var description: String {
        switch self {
        case .uid(let u): return "with id \"\(u)\""
        case .email(let e): return "with email \"\(e)\""
        case .profileID(let i): return "cio_\(PublicID.encode(i))"
        }
    }
}

extension CustomerID {
    /// The same person as a profile lookup.
    public var lookup: ObjectLookup {
        switch self {
        case .uid(let u): .uid(u)
        case .email(let e): .email(e)
        case .profileID(let i): .id(i)
        }
    }
}
