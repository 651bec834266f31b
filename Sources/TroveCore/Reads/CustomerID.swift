import GRDB

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

    func profileID(_ db: Database, account: Int64) throws -> Int64? {
        switch self {
        case .uid(let u): return try ObjectLookup.uid(u).profileID(db, account: account)
        case .email(let e): return try ObjectLookup.email(e).profileID(db, account: account)
        case .profileID(let i): return try ObjectLookup.id(i).profileID(db, account: account)
        }
    }
}

extension ObjectLookup {
    /// The row id of the profile this names in the account, or nil.
    func profileID(_ db: Database, account: Int64) throws -> Int64? {
        switch self {
        case .uid(let u): return try Int64.fetchOne(db, sql: "SELECT id FROM profiles WHERE account_id = ? AND uid = ?", arguments: [account, u])
        case .email(let e):
            return try Int64.fetchOne(db, sql: "SELECT id FROM profiles WHERE account_id = ? AND email = ?", arguments: [account, Identifiers.normalizeEmail(e)])
        case .id(let i): return try Int64.fetchOne(db, sql: "SELECT id FROM profiles WHERE account_id = ? AND id = ?", arguments: [account, i])
        }
    }
}
