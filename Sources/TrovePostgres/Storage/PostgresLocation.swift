import Foundation

/// Where a PostgreSQL database is, as `--database` / `TROVE_DATABASE` names it:
/// `postgres://user:password@host:5432/db?sslmode=disable|prefer|require&connect_timeout=SECONDS`
/// (`postgresql://` too; user name and password percent-decoded; port 5432 and `sslmode=prefer` by default, as
/// libpq does). `connect_timeout` bounds opening one connection, TCP, startup and authentication together
/// (10 s by default, as postgres-nio's: a loaded machine opening many connections at once, each a server
/// process and a SCRAM exchange, can take seconds per connection).
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var connectTimeout: Duration

    public static let defaultConnectTimeout: Duration = .seconds(10)

    public init(host: String, port: Int = 5432, user: String, password: String?, database: String, tls: TLSMode = .prefer,
                connectTimeout: Duration = Self.defaultConnectTimeout)
    {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.connectTimeout = connectTimeout
    }

    /// True when `text` is meant as a PostgreSQL URL (and not a SQLite file path).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Reads a `postgres://` URL; the error says what is wrong with it.
    public init(url text: String) throws(PostgresStoreError) {
        guard Self.isURL(text), let url = URLComponents(string: text) else {
            throw .badURL("\(Self.redacted(text)): expected postgres://user:password@host:port/database")
        }
        guard let host = url.host, !host.isEmpty else { throw .badURL("\(Self.redacted(text)): no host") }
        guard let user = url.user, !user.isEmpty else { throw .badURL("\(Self.redacted(text)): no user name") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw .badURL("\(Self.redacted(text)): no database name after the host") }
        if let port = url.port, !(1...65535).contains(port) { throw .badURL("\(Self.redacted(text)): port \(port) is out of range") }
        var tls = TLSMode.prefer
        var connectTimeout = Self.defaultConnectTimeout
        for item in url.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw .badURL("\(Self.redacted(text)): sslmode must be disable, prefer or require")
                }
                tls = mode
            case "connect_timeout":
                guard let seconds = item.value.flatMap(Int.init), (1...3600).contains(seconds) else {
                    throw .badURL("\(Self.redacted(text)): connect_timeout must be a whole number of seconds from 1 to 3600")
                }
                connectTimeout = .seconds(seconds)
            default:
                throw .badURL("\(Self.redacted(text)): unknown parameter \"\(item.name)\" (only sslmode and connect_timeout are read)")
            }
        }
        self.init(host: host, port: url.port ?? 5432, user: user, password: url.password, database: database, tls: tls,
                  connectTimeout: connectTimeout)
    }

    /// The whole URL, password included: for a child process (`trove bench` starting `trove serve`).
    public var url: String {
        var c = URLComponents()
        c.scheme = "postgres"
        c.user = user
        c.password = password
        c.host = host
        c.port = port
        c.path = "/" + database
        c.queryItems = [URLQueryItem(name: "sslmode", value: tls.rawValue)]
        if connectTimeout != Self.defaultConnectTimeout {
            c.queryItems?.append(URLQueryItem(name: "connect_timeout", value: String(connectTimeout.components.seconds)))
        }
        return c.string!
    }

    /// The URL without the password: what logs and errors show.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// `text` with any password replaced, for an error about a URL that did not parse.
    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"), scheme.upperBound < at,
            let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
        else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
