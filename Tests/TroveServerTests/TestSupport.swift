import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import TroveCore
@testable import TroveServer
import TroveTestEngines

/// The repository's `fixtures/` folder.
let fixturesURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fixtures")

func fixture(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: fixturesURL.appendingPathComponent(path)))
}

func fixtureJSON(_ path: String) throws -> JSON {
    try JSONParser.parse(try fixture(path))
}

let testNow = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

/// A clock a test moves by hand.
final class MovableClock: Sendable {
    let value: Mutex<Timestamp>
    init(_ t: Timestamp = testNow) { value = Mutex(t) }
    var clock: TroveClock { TroveClock { self.value.withLock { $0 } } }
    func advance(seconds: Int64) { value.withLock { $0 = $0.adding(milliseconds: seconds * 1000) } }
}

extension TroveServices {
    /// The SQLite file under a test that reads or writes rows directly (file-level and stored-row checks:
    /// SQLite only).
    var database: AppDatabase {
        guard let engine = engine as? SQLiteEngine else { fatalError("this test reads SQLite rows directly") }
        return engine.database
    }
}

/// A Trove server over a fresh database of one engine (SQLite unless a test runs on `TestEngine.available`),
/// with one account, driven through its router. On PostgreSQL every `test` ends by holding the statements
/// sent to the Citus rule (`StatementRule`).
struct TestTrove {
    let services: TroveServices
    let credentials: Credentials
    let opened: OpenedTestEngine?

    init(
        engine: TestEngine = .sqlite, now: Timestamp? = testNow, clock: TroveClock? = nil, exports: ExportSettings? = nil,
        webhookPolicy: WebhookAddressPolicy = WebhookAddressPolicy(), readLimits: ReadLimits = .forThisMachine(), stopwatch: Stopwatch = .continuous
    ) async throws {
        let opened = try await engine.open(clock: clock ?? now.map(TroveClock.fixed) ?? .system, readLimits: readLimits, stopwatch: stopwatch)
        self.opened = opened
        services = TroveServices(engine: opened.engine, exports: exports, webhookPolicy: webhookPolicy)
        credentials = try await services.accounts.ensureDefaultAccount()!
    }

    /// The same database file and settings, as a restarted server sees them.
    init(reopening other: TestTrove, clock: TroveClock) throws {
        let database = try AppDatabase(path: other.services.database.path)
        services = TroveServices(database: database, clock: clock, exports: other.services.exports.settings)
        credentials = other.credentials
        opened = nil
    }

    var secret: String { credentials.accountSecret }

    /// Which engine the server runs on.
    var isPostgres: Bool { !(services.engine is SQLiteEngine) }

    /// One number read from the engine's rows (SQL that runs on both engines), as the test's own look.
    func number(_ sql: String) async throws -> Int64? {
        guard let opened else { return try await services.database.read { db in try Int64.fetchOne(db, sql: sql) } }
        return try await opened.number(sql)
    }

    /// The first column of each row as text (SQL that runs on both engines), as the test's own look.
    func strings(_ sql: String) async throws -> [String] {
        guard let opened else { return try await services.database.read { db in try String.fetchAll(db, sql: sql) } }
        return try await opened.strings(sql)
    }

    func test(_ setup: TestingSetup = .router, logger: Logger = Logger(label: "test"), _ body: @Sendable (Client) async throws -> Void) async throws {
        let app = Application(router: buildRouter(services: services), logger: logger)
        let secret = self.secret
        try await app.test(setup) { client in try await body(Client(client: client, secret: secret)) }
        try await opened?.checkStatements()
    }

    struct Client {
        let client: any TestClientProtocol
        let secret: String

        struct Reply {
            var status: Int
            var json: JSON?
            var headers: HTTPFields
            var body: [UInt8] = []
            var text: String { String(decoding: body, as: UTF8.self) }
        }

        @discardableResult
        func post(_ path: String, _ body: [UInt8], headers: HTTPFields = [:]) async throws -> Reply {
            try await send(.post, path, body: body, headers: headers)
        }

        @discardableResult
        func post(_ path: String, json: JSON, headers: HTTPFields = [:]) async throws -> Reply {
            try await send(.post, path, body: JSONWriter.bytes(json), headers: headers)
        }

        /// A hook path with the account secret in it: `hook("profiles")` → `/v3/observe/hooks/<secret>/profiles`.
        func hook(_ rest: String) -> String { "/v3/observe/hooks/\(secret)/\(rest)" }

        func get(_ path: String, secret: String? = nil) async throws -> Reply {
            try await send(.get, path, body: nil, headers: [HTTPField.Name("X-Account-Secret")!: secret ?? self.secret])
        }

        /// Sends a request; the reply is checked against the API document (`DocumentedResponses`).
        func send(_ method: HTTPRequest.Method, _ path: String, body: [UInt8]?, headers: HTTPFields,
                  sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reply {
            try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) }) { response in
                let bytes = Array(response.body.readableBytesView)
                DocumentedResponses.check(
                    method: method, uri: path, status: Int(response.status.code), headers: response.headers, body: bytes, sourceLocation: sourceLocation)
                return Reply(status: Int(response.status.code), json: try? JSONParser.parse(bytes), headers: response.headers, body: bytes)
            }
        }

        func profile(uid: String) async throws -> JSON? {
            let encoded = uid.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? uid
            return try await get("/v3/analyze/profile?uid=\(encoded)").json?["profile"]
        }
    }
}

extension JSON {
    /// Walks a dotted path of object keys.
    func at(_ path: String) -> JSON? {
        var current: JSON? = self
        for key in path.split(separator: ".") { current = current?[String(key)] }
        return current
    }

    var int: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// The same value with every object's keys sorted: for comparing what PostgreSQL's jsonb gives back,
    /// which keeps an object's keys in its own order (shorter first), not as sent.
    var sortedKeys: JSON {
        switch self {
        case .object(let members): return .object(members.map { JSONMember($0.key, $0.value.sortedKeys) }.sorted { $0.key < $1.key })
        case .array(let items): return .array(items.map(\.sortedKeys))
        default: return self
        }
    }

    /// An object's keys in order.
    var objectKeys: [String] {
        if case .object(let members) = self { return members.map(\.key) }
        return []
    }
}

