import Logging
import NIOPosix
import Synchronization
import TroveCore

/// `IngestStore` on PostgreSQL. Group commit, as on SQLite: writes wait in one queue, and a writer thread
/// (a small pool, each with a connection it uses synchronously) takes everything waiting into one
/// transaction, so N requests cost one commit and one write of the rows every writer shares (names' totals,
/// the catalog), which each transaction holds locked from that write to its commit; its hourly counts are a
/// row of its own, folded into `event_counts` every `foldCountsAfter` such rows (`PostgresCountDeltas`). (One
/// transaction per request ran single events at 346/s on the benchmark: writers queued on those rows, one
/// fsync each.) What derives from the events commits with them (`PostgresWriteSession.flush`), so there is
/// nothing to roll up afterwards. A group that fails for a reason other than bad input (which fails its item
/// alone) is run again one write at a time, so one write cannot fail the others.
///
/// Bounded: past `maxPendingItems` waiting, a write is refused at once (503 with Retry-After). A write that
/// lost a race with another transaction (the same new uid, name or key at the same moment) is run again and
/// then sees what the other committed. A server that is gone is a 503 too, and a later write reconnects.
public final class PostgresIngestStore: IngestStore {
    public let clock: TroveClock
    let location: PostgresLocation
    let logger: Logger
    let maxPendingItems: Int
    let maxItemsPerTransaction: Int
    let analyzeAfterRows: Int
    let foldCountsAfter: Int
    let caches = PostgresWriteCaches()
    private let threads: NIOThreadPool
    private let idle = Mutex<[BlockingConnection]>([])
    private let queue = Mutex(Queue())
    private let writtenSinceAnalyze = Atomic(0)
    private let countRowsSinceFold = Atomic(0)

    private struct Job {
        var weight: Int
        var run: @Sendable (any IngestWrites) throws -> Void
        var complete: @Sendable (Result<Void, any Error>) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        /// Items admitted and not yet answered (waiting or being written).
        var items = 0
    }

    public init(location: PostgresLocation, clock: TroveClock = .system, writers: Int = 4, maxPendingItems: Int = 200_000,
                maxItemsPerTransaction: Int = 20_000, analyzeAfterRows: Int = 10_000, foldCountsAfter: Int = 128,
                logger: Logger = Logger(label: "trove.postgres.ingest")) {
        self.location = location
        self.clock = clock
        self.logger = logger
        self.maxPendingItems = maxPendingItems
        self.maxItemsPerTransaction = maxItemsPerTransaction
        self.analyzeAfterRows = analyzeAfterRows
        self.foldCountsAfter = foldCountsAfter
        threads = NIOThreadPool(numberOfThreads: writers)
        threads.start()
    }

    public func write<T: Sendable>(weight: Int, _ work: @escaping @Sendable (any IngestWrites) throws -> T) async throws -> T {
        let box = ResultBox<T>()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let job = Job(weight: weight, run: { box.value = try work($0) }, complete: { continuation.resume(with: $0) })
            let admitted = queue.withLock { q in
                guard q.items == 0 || q.items + weight <= maxPendingItems else { return false }
                q.items += weight
                q.jobs.append(job)
                return true
            }
            guard admitted else { return continuation.resume(throwing: IngestError.unavailable("the write queue is full; retry shortly")) }
            threads.submit { state in
                guard case .active = state else {
                    return self.fail(IngestError.unavailable("the server is stopping; retry shortly"))
                }
                self.drain()
            }
        }
        return box.value!
    }

    /// Derived tables commit with the events: always up to date. What a bulk load leaves behind is the
    /// planner's statistics: autovacuum analyzes a table a minute or so later, and until then a page of an
    /// export, read right after an import, was planned for a table of a few hundred rows (all of the rest
    /// read and sorted per page: 94k–98k instead of 308k–329k rows/s in `trove bench export`). So past
    /// `analyzeAfterRows` rows written since the tables were last analyzed here, a catch-up (an import's
    /// end) analyzes them. It first folds the hourly counts' rows, so the import leaves `event_counts` whole.
    public func catchUp() async throws {
        let analyze = writtenSinceAnalyze.load(ordering: .relaxed) >= analyzeAfterRows
        if analyze { writtenSinceAnalyze.store(0, ordering: .relaxed) }
        try await threads.runIfActive { [self] in
            try borrow { connection in
                try PostgresCountDeltas.foldAll(on: connection)
                if analyze { try connection.query("ANALYZE companies, profiles, events") }
            }
        }
    }

    /// A graceful stop folds the hourly counts' rows (readers add them in either way).
    public func settled() async {
        do {
            try await threads.runIfActive { [self] in try borrow(PostgresCountDeltas.foldAll(on:)) }
        } catch {
            logger.warning("folding the hourly counts at stop failed (they stay as rows of deltas): \(error)")
        }
    }
    public func requestRollup() {}

    /// Stops the writer threads and closes their connections (after the last write returned).
    public func close() async {
        try? await threads.shutdownGracefully()
        for connection in idle.withLock({ list in defer { list = [] }; return list }) { connection.close() }
    }

    // MARK: On a writer thread

    /// Writes whatever is waiting (up to `maxItemsPerTransaction` items, at least one write) in one
    /// transaction; nothing when another writer took it already.
    private func drain() {
        let batch = queue.withLock { q -> [Job] in
            var taken = 0, weight = 0
            while taken < q.jobs.count && (taken == 0 || weight + q.jobs[taken].weight <= maxItemsPerTransaction) {
                weight += q.jobs[taken].weight
                taken += 1
            }
            defer { q.jobs.removeFirst(taken) }
            return Array(q.jobs.prefix(taken))
        }
        guard !batch.isEmpty else { return }
        defer { foldCountsIfDue() }
        do {
            try transaction { session in for job in batch { try job.run(session) } }
            finish(batch, .success(()))
        } catch {
            guard batch.count > 1 else { return finish(batch, .failure(error)) }
            logger.warning("group commit failed, retrying \(batch.count) writes one by one: \(error)")
            for job in batch {
                do {
                    try transaction { try job.run($0) }
                    finish([job], .success(()))
                } catch {
                    finish([job], .failure(error))
                }
            }
        }
    }

    /// Past `foldCountsAfter` rows of count deltas written since the last fold, this writer folds them, after
    /// it answered its writes (one writer: the one that swaps the tally to zero). A fold that fails leaves the
    /// rows to the next one; nothing is lost, as readers add them in.
    private func foldCountsIfDue() {
        var pending = countRowsSinceFold.load(ordering: .relaxed)
        while pending >= foldCountsAfter {
            let (swapped, found) = countRowsSinceFold.compareExchange(expected: pending, desired: 0, ordering: .relaxed)
            if swapped {
                do { try borrow(PostgresCountDeltas.foldAll(on:)) } catch { logger.warning("folding the hourly counts failed: \(error)") }
                return
            }
            pending = found
        }
    }

    /// Runs `body` on an idle connection (or a new one), kept for the next use unless it broke.
    private func borrow<T>(_ body: (BlockingConnection) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? BlockingConnection.open(location, logger: logger)
        do {
            let result = try body(connection)
            idle.withLock { $0.append(connection) }
            return result
        } catch {
            if connection.broken { connection.close() } else { idle.withLock { $0.append(connection) } }
            throw error
        }
    }

    private func finish(_ jobs: [Job], _ result: Result<Void, any Error>) {
        queue.withLock { $0.items -= jobs.reduce(0) { $0 + $1.weight } }
        for job in jobs { job.complete(result) }
    }

    /// The pool stopped: what still waits is refused.
    private func fail(_ error: any Error) {
        let jobs = queue.withLock { q in defer { q.jobs = [] }; return q.jobs }
        finish(jobs, .failure(error))
    }

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
        let session = PostgresWriteSession(connection: connection, now: clock.now(), caches: caches) { [self] body in try borrow(body) }
        let result = try work(session)
        try session.flush()
        try connection.query("COMMIT")
        if session.forgetProfiles { caches.reset() } else { caches.merge(profiles: session.profilesToCache, names: session.learnedNames) }
        TroveMetrics.ingested(profiles: session.stored.profiles, companies: session.stored.companies, events: session.stored.events)
        writtenSinceAnalyze.add(session.stored.profiles + session.stored.companies + session.stored.events, ordering: .relaxed)
        countRowsSinceFold.add(session.countRows, ordering: .relaxed)
        return result
    }
}

/// Carries a write's result from the writer thread to its waiting caller: written before the continuation
/// resumes, read after (the resume orders the two).
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
