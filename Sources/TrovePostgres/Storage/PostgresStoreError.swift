import _ConnectionPoolModule
import PostgresNIO
import TroveCore

/// What can go wrong reaching or using a PostgreSQL database, each saying what to do about it.
public enum PostgresStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `--database` is not a usable postgres:// URL.
    case badURL(String)
    /// Nothing answers at the host and port (or the connection failed on the way).
    case unreachable(location: String, reason: String)
    /// The server refused the user name or password.
    case authentication(location: String, user: String)
    /// The server has no database of that name.
    case noDatabase(location: String, database: String)
    /// The database has no Trove schema, or an older one than this binary's.
    case schemaMissing(location: String, applied: Int, known: Int)
    /// The database was migrated by a newer Trove than this binary.
    case schemaNewer(location: String, unknown: [String])
    /// The server is gone while serving (restarted, stopped, the network lost): try again soon.
    case unavailable(String)
    /// A part of Trove the PostgreSQL engine does not run yet (issue 19 is bringing it).
    case notYet(String)
    /// A statement failed for another reason (a bug or a constraint): the server's message and SQLSTATE.
    case server(String, sqlState: String? = nil)

    public var description: String {
        switch self {
        case .badURL(let text): return "--database: \(text)"
        case .unreachable(let location, let reason):
            return "PostgreSQL at \(location) is unreachable (\(reason)); is the server running and listening on that host and port?"
        case .authentication(let location, let user):
            return "PostgreSQL at \(location) refused user \"\(user)\": wrong password or no such role; check the user name and password in --database"
        case .noDatabase(let location, let database):
            return "PostgreSQL at \(location) has no database \"\(database)\": create it (createdb \(database)), then run `trove migrate --database postgres://…`"
        case .schemaMissing(let location, let applied, let known):
            return applied == 0
                ? "\(location) has no Trove schema: run `trove migrate --database postgres://…` first"
                : "\(location) has \(applied) of this Trove's \(known) migrations: run `trove migrate --database postgres://…` first"
        case .schemaNewer(let location, let unknown):
            return "\(location) was migrated by a newer Trove (migrations \(unknown.joined(separator: ", ")) are unknown to this one): run the newer binary"
        case .unavailable(let reason): return "PostgreSQL is unavailable: \(reason)"
        case .server(let message, _): return message
        case .notYet(let what): return "\(what) does not run on PostgreSQL yet; use a SQLite database for it"
        }
    }

    /// SQLSTATE classes that mean the server or the connection went away, not that the statement was wrong:
    /// 08 connection exception, 57P01–57P03 admin shutdown / crash shutdown / cannot connect now.
    /// Another transaction got there first (a unique key, a serialization failure, a deadlock): the work
    /// may be tried again and then see what the other one committed.
    public var isRetryable: Bool {
        guard case .server(_, let state?) = self else { return false }
        return state == "23505" || state == "40001" || state == "40P01"
    }

    static func isUnavailable(sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(sqlState)
    }

    /// A postgres-nio error as one of these, for the database at `location`.
    static func from(_ error: any Error, location: PostgresLocation) -> PostgresStoreError {
        if let mine = error as? PostgresStoreError { return mine }
        if let pool = error as? ConnectionPoolError {
            // The pool stops asking for connections it failed to open for a while, and retries in the
            // background: the server is away, not the statement wrong.
            return .unavailable("\(location): " + (pool == .poolShutdown ? "the connection pool is closed" : "no connection can be opened"))
        }
        guard let psql = error as? PSQLError else { return .server(String(describing: error)) }
        if let info = psql.serverInfo, let state = info[.sqlState] {
            let message = info[.message] ?? state
            switch state {
            case "28P01", "28000": return .authentication(location: location.description, user: location.user)
            case "3D000": return .noDatabase(location: location.description, database: location.database)
            case _ where isUnavailable(sqlState: state): return .unavailable("\(location): \(message)")
            default: return .server("\(message) (SQLSTATE \(state))", sqlState: state)
            }
        }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .sslUnsupported:
            let reason = psql.underlying.map { String(describing: $0) } ?? psql.code.description
            return .unreachable(location: location.description, reason: reason)
        default:
            return .server(String(reflecting: psql))
        }
    }
}

extension PostgresStoreError: StorageUnavailable {
    public var unavailability: String? {
        switch self {
        case .unavailable, .unreachable: return "the database is unavailable (\(description)); retry shortly"
        default: return nil
        }
    }
}
