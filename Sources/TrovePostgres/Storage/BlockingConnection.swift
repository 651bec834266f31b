import Logging
import NIOCore
import NIOPosix
import PostgresNIO

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

    private init(connection: PostgresConnection, location: PostgresLocation, logger: Logger) {
        self.connection = connection
        self.location = location
        self.logger = logger
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
        precondition(!connection.eventLoop.inEventLoop, "a blocking query on an event loop")
        do {
            return try connection.query(query, logger: logger).wait().rows
        } catch {
            let mapped = PostgresStoreError.from(error, location: location)
            switch mapped {
            case .unavailable, .unreachable: broken = true
            default: if connection.isClosed { broken = true }
            }
            throw mapped
        }
    }

    func close() {
        _ = try? connection.close().wait()
    }
}
