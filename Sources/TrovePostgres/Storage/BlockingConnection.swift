import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// One connection used synchronously, from a thread of Trove's own (never an event loop, never the async
/// executor's): the ingest rules apply a transaction's items in order, each reading what the one before
/// wrote, through the synchronous `IngestRows`. Each call is one round trip; callers keep them few (caches,
/// buffered inserts).
final class BlockingConnection: @unchecked Sendable {
    let connection: PostgresConnection
    let location: PostgresLocation
    let logger: Logger
    /// Set once a call failed for a reason that leaves the connection unusable (closed, lost, broken
    /// protocol state): the owner drops it and opens another.
    private(set) var broken = false
    /// Whether the connection closed, and how to end the wait in progress (`waitWhileOpen`) when it does.
    private let waiter = Mutex<(closed: Bool, fail: (@Sendable () -> Void)?)>((false, nil))

    private init(connection: PostgresConnection, location: PostgresLocation, logger: Logger) {
        self.connection = connection
        self.location = location
        self.logger = logger
        connection.closeFuture.whenComplete { [weak self] _ in
            let fail = self?.waiter.withLock { state in
                state.closed = true
                return state.fail
            }
            fail??()
        }
    }

    static func open(_ location: PostgresLocation, logger: Logger) throws -> BlockingConnection {
        do {
            let connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: try PostgresAppDatabase.connectionConfiguration(location), id: 1,
                logger: logger
            ).wait()
            return BlockingConnection(connection: connection, location: location, logger: logger)
        } catch {
            throw PostgresStoreError.from(error, location: location)
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        try rows(of: send(query))
    }

    /// A statement sent without waiting for it: its rows are read later (`rows(of:)`), while the caller does
    /// other work. Statements run in the order sent.
    struct Sent {
        fileprivate let result: EventLoopFuture<PostgresQueryResult>
    }

    func send(_ query: PostgresQuery) -> Sent {
        Sent(result: connection.query(query, logger: logger))
    }

    /// Waits for a statement sent before and returns its rows.
    func rows(of sent: Sent) throws -> [PostgresRow] {
        precondition(!connection.eventLoop.inEventLoop, "a blocking query on an event loop")
        do {
            return try waitWhileOpen(sent.result).rows
        } catch {
            let mapped = PostgresStoreError.from(error, location: location)
            switch mapped {
            case .unavailable, .unreachable: broken = true
            default: if connection.isClosed { broken = true }
            }
            throw mapped
        }
    }

    /// Runs statement helpers written for the async side (`PostgresCompiling.Run`: the ledger lock, the
    /// segment-change outbox) on this connection, inside the caller's transaction, this thread waiting.
    func awaiting<T: Sendable>(_ body: @escaping @Sendable (PostgresCompiling.Run) async throws -> T) throws -> T {
        let connection = connection, logger = logger, location = location
        return try awaitingConnection {
            try await body { query in
                do {
                    return try await connection.query(query, logger: logger).get().rows
                } catch {
                    throw PostgresStoreError.from(error, location: location)
                }
            }
        }
    }

    /// Loads `rows` (`CopyText`) into `table`'s `columns` with `COPY … FROM STDIN`, inside the caller's
    /// transaction, this thread waiting. A row PostgreSQL refuses (a key taken meanwhile) fails the whole
    /// statement, as a multi-row insert would.
    func copy(into table: String, columns: [String], rows: CopyText) throws {
        let data = rows.buffer
        guard data.readableBytes > 0 else { return }
        let connection = connection, logger = logger, location = location
        try awaitingConnection {
            do {
                // One write: postgres-nio checks the connection's state at each write and traps (a
                // precondition) when a write comes after the connection failed mid-copy, so later writes of
                // a chunked loop could crash the process; the rows are in memory already.
                try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in try await writer.write(data) }
            } catch {
                throw PostgresStoreError.from(error, location: location)
            }
        }
    }

    /// Runs async work on this connection, this thread waiting; a lost connection marks it broken.
    private func awaitingConnection<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        precondition(!connection.eventLoop.inEventLoop, "a blocking wait on an event loop")
        let promise = connection.eventLoop.makePromise(of: T.self)
        promise.completeWithTask { try await body() }
        do {
            return try waitWhileOpen(promise.futureResult)
        } catch let error as PostgresStoreError {
            if case .unavailable = error { broken = true }
            if case .unreachable = error { broken = true }
            throw error
        }
    }

    /// Waits for `future`, or fails as soon as the connection closes, whichever comes first. A wait never
    /// outlives its connection: postgres-nio drops a copy's wait for the socket to drain when the connection
    /// fails meanwhile (a server stopped mid-`COPY`, its socket full), so that wait alone would never end, and
    /// the writer thread with every write in its group would hang. (The abandoned copy's task stays suspended,
    /// holding its rows, until the process ends: one per writer per such failure.) One wait at a time: a
    /// connection belongs to one writer thread.
    private func waitWhileOpen<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        let either = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: either)
        let location = location
        // No effect when the statement finished first.
        let fail: @Sendable () -> Void = { either.fail(PostgresStoreError.unavailable("\(location): the connection closed while a statement waited")) }
        if waiter.withLock({ state in
            state.fail = fail
            return state.closed
        }) {
            fail()
        }
        defer { waiter.withLock { $0.fail = nil } }
        return try either.futureResult.wait()
    }

    func close() {
        _ = try? connection.close().wait()
    }
}
