import Logging
import NIOPosix
import Synchronization
import TroveCore

/// `IngestStore` on PostgreSQL. Each write is one transaction on a writer thread of its own (a small pool:
/// PostgreSQL commits concurrent transactions together, so no queue of ours is needed to share fsyncs), over
/// a connection that thread uses synchronously. What derives from the events commits with them
/// (`PostgresWriteSession.flush`), so there is nothing to roll up afterwards.
///
/// Bounded: past `maxPendingItems` waiting, a write is refused at once (503 with Retry-After). A write that
/// lost a race with another transaction (the same new uid, name or key at the same moment) is run again and
/// then sees what the other committed. A server that is gone is a 503 too, and a later write reconnects.
public final class PostgresIngestStore: IngestStore {
    public let clock: TroveClock
    let location: PostgresLocation
    let logger: Logger
    let maxPendingItems: Int
    let caches = PostgresWriteCaches()
    private let threads: NIOThreadPool
    private let idle = Mutex<[BlockingConnection]>([])
    private let pendingItems = Mutex(0)

    public init(location: PostgresLocation, clock: TroveClock = .system, writers: Int = 4, maxPendingItems: Int = 200_000,
                logger: Logger = Logger(label: "trove.postgres.ingest")) {
        self.location = location
        self.clock = clock
        self.logger = logger
        self.maxPendingItems = maxPendingItems
        threads = NIOThreadPool(numberOfThreads: writers)
        threads.start()
    }

    public func write<T: Sendable>(weight: Int, _ work: @escaping @Sendable (any IngestWrites) throws -> T) async throws -> T {
        let admitted = pendingItems.withLock { n in
            guard n == 0 || n + weight <= maxPendingItems else { return false }
            n += weight
            return true
        }
        guard admitted else { throw IngestError.unavailable("the write queue is full; retry shortly") }
        defer { pendingItems.withLock { $0 -= weight } }
        return try await threads.runIfActive { try self.transaction(work) }
    }

    /// Derived tables commit with the events: always up to date.
    public func catchUp() async throws {}
    public func settled() async {}
    public func requestRollup() {}

    /// Stops the writer threads and closes their connections (after the last write returned).
    public func close() async {
        try? await threads.shutdownGracefully()
        for connection in idle.withLock({ list in defer { list = [] }; return list }) { connection.close() }
    }

    // MARK: On a writer thread

    private func transaction<T>(_ work: (any IngestWrites) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let connection: BlockingConnection
            do {
                connection = try idle.withLock { $0.popLast() } ?? BlockingConnection.open(location, logger: logger)
            } catch let error as PostgresStoreError {
                throw IngestError.unavailable("the database is unreachable (\(error)); retry shortly")
            }
            do {
                let result = try run(work, on: connection)
                idle.withLock { $0.append(connection) }
                return result
            } catch {
                if !connection.broken { _ = try? connection.query("ROLLBACK") }
                if connection.broken { connection.close() } else { idle.withLock { $0.append(connection) } }
                if let store = error as? PostgresStoreError {
                    if store.isRetryable && attempt < 5 { continue }
                    switch store {
                    case .unavailable, .unreachable:
                        throw IngestError.unavailable("the database is unavailable (\(store)); retry shortly")
                    default: break
                    }
                }
                throw error
            }
        }
    }

    private func run<T>(_ work: (any IngestWrites) throws -> T, on connection: BlockingConnection) throws -> T {
        try connection.query("BEGIN")
        let session = PostgresWriteSession(connection: connection, now: clock.now(), caches: caches)
        let result = try work(session)
        try session.flush()
        try connection.query("COMMIT")
        if session.forgetProfiles { caches.reset() } else { caches.merge(profiles: session.learnedProfiles, names: session.learnedNames) }
        TroveMetrics.ingested(profiles: session.stored.profiles, companies: session.stored.companies, events: session.stored.events)
        return result
    }
}
