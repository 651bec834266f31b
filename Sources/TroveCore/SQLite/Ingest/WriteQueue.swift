import GRDB
import Logging
import Synchronization

/// Group commit: concurrent requests hand their writes to one queue, and a single writer applies
/// everything waiting in one transaction, so N requests cost one commit instead of N. Requests parse
/// and normalize before they enqueue; nobody holds the writer while decoding JSON.
///
/// The queue is bounded: past `maxPendingItems` a request is refused at once (503 with Retry-After)
/// instead of being buffered without bound.
public final class WriteQueue: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    public let maxPendingItems: Int
    public let maxItemsPerTransaction: Int
    /// Events committed before the next `ActivityRollup` is planned; one is also planned once
    /// `rollupInterval` has passed since the last, busy or idle.
    public let rollupEvery: Int
    public let rollupInterval: Duration
    /// `event_counts` is brought up to date past this many events, after `countsInterval`, or once ingest
    /// has paused for `countsIdle` (`CountsRollup`).
    public let countsEvery: Int
    public let countsInterval: Duration
    public let countsIdle: Duration
    /// Rows of a rollup plan the writer applies between two group commits while requests wait.
    let rollupSliceRows = 4096
    let logger: Logger

    private struct Job {
        var weight: Int
        var run: @Sendable (WriteSession) throws -> Void
        var complete: @Sendable (Result<Void, any Error>) -> Void
    }

    private struct State {
        var pending: [Job] = []
        var pendingItems = 0
        /// Held by the one task applying writes.
        var draining = false
        /// Set by `close()`: no new work, no more rollups.
        var closed = false
    }

    private let state = Mutex(State())
    let caches: WriteCaches
    let rollups: Mutex<RollupState>
    /// The rollup plan being applied; touched only by the task holding `draining`.
    let applying = DrainOwned<ActivityRollup.Plan?>(nil)
    let memory = DrainOwned(RollupMemory())
    let counts: DrainOwned<CountsMemory>

    public init(
        database: AppDatabase, clock: TroveClock = .system, maxPendingItems: Int = 200_000, maxItemsPerTransaction: Int = 20_000,
        rollupEvery: Int = 200_000, rollupInterval: Duration = .seconds(1),
        countsEvery: Int = 3_000_000, countsInterval: Duration = .seconds(30), countsIdle: Duration = .milliseconds(500),
        cacheLimit: Int? = nil, logger: Logger = Logger(label: "trove.write-queue")
    ) {
        caches = WriteCaches(limit: cacheLimit ?? WriteCaches.defaultLimit)
        self.database = database
        self.clock = clock
        self.maxPendingItems = maxPendingItems
        self.maxItemsPerTransaction = maxItemsPerTransaction
        self.rollupEvery = rollupEvery
        self.rollupInterval = rollupInterval
        self.countsEvery = countsEvery
        self.countsInterval = countsInterval
        self.countsIdle = countsIdle
        self.logger = logger
        rollups = Mutex(RollupState(last: clock.elapsed()))
        counts = DrainOwned(CountsMemory(now: clock.elapsed()))
    }

    var isDraining: Bool { state.withLock { $0.draining } }
    /// Heads the writer holds (tests; read only while the queue is idle).
    var cachedHeads: Int { caches.heads.count }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// At a graceful stop, before the database closes: refuses new work (503), lets the writer commit what
    /// was accepted and finish what it was doing, and stops rollups and their timers. What is left to roll
    /// up is picked up from the log at the next start (`requestRollup`).
    public func close() async {
        state.withLock { $0.closed = true }
        await settled()
    }

    /// Runs `work` inside a shared write transaction and returns its result once that transaction has
    /// committed. `work` must not write before it throws an `IngestError` (see `WriteSession`).
    /// `weight` is the number of items, for the queue bound.
    public func perform<T: Sendable>(weight: Int = 1, _ work: @escaping @Sendable (WriteSession) throws -> T) async throws -> T {
        let box = ResultBox<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                weight: weight,
                run: { session in
                    do {
                        box.value = .success(try work(session))
                    } catch let error as IngestError {
                        box.value = .failure(error)
                    }
                },
                complete: { result in
                    switch result {
                    case .success: continuation.resume(with: box.value!)
                    case .failure(let error): continuation.resume(throwing: error)
                    }
                })
            let start: Bool?? = state.withLock { s in
                guard !s.closed else { return .some(nil) }
                guard s.pendingItems + weight <= maxPendingItems || s.pending.isEmpty else { return nil }
                s.pending.append(job)
                s.pendingItems += weight
                if s.draining { return false }
                s.draining = true
                return true
            }
            switch start {
            case nil:
                continuation.resume(throwing: IngestError.unavailable("the write queue is full; retry shortly"))
            case .some(nil):
                continuation.resume(throwing: IngestError.unavailable("the server is shutting down; retry shortly"))
            case true??:
                Task { await self.drain() }
            case false??:
                break
            }
        }
    }

    private func takeBatch() -> [Job]? {
        state.withLock { s in
            guard !s.pending.isEmpty else { return nil }
            var taken = 0
            var count = 0
            for job in s.pending {
                if count > 0 && taken + job.weight > maxItemsPerTransaction { break }
                taken += job.weight
                count += 1
            }
            let batch = Array(s.pending.prefix(count))
            s.pending.removeFirst(count)
            s.pendingItems -= taken
            return batch
        }
    }

    /// Stops draining unless work arrived meanwhile (the enqueuer then finds `draining` still set).
    private func finishDraining() -> Bool {
        let done = state.withLock { s in
            guard s.pending.isEmpty else { return false }
            s.draining = false
            return true
        }
        if done {
            if !isClosed {
                armRollupTimer()
                armCountsTimer()
            }
            resumeIfSettled()
        }
        return done
    }

    /// Takes the writer's token if nobody holds it and drains (a finished rollup plan, work that raced in).
    func wake() {
        let mine = state.withLock { s in
            guard !s.draining, !s.closed else { return false }
            s.draining = true
            return true
        }
        if mine {
            Task { await drain() }
        } else if isClosed {
            resumeIfSettled()
        }
    }

    private func drain() async {
        while true {
            if let batch = takeBatch() {
                await apply(batch)
                await rollupStep(rows: rollupSliceRows)
                if countsDue() { await countsStep() }
            } else if isClosed {
                if finishDraining() { return }
            } else if hasRollupToApply() || rollupDue() {
                await rollupStep(rows: .max)  // idle: nobody waits, apply the whole plan
            } else if countsDue() {
                await countsStep()
            } else if finishDraining() {
                return
            }
        }
    }

    private func apply(_ batch: [Job]) async {
        do {
            try await commit(batch)
            for job in batch { job.complete(.success(())) }
        } catch {
            // Something other than bad input failed (a constraint we did not foresee, I/O, a full disk).
            // The transaction rolled back; retry each job alone so one bad job cannot fail the others.
            logger.warning("group commit failed, retrying \(batch.count) jobs one by one: \(error)")
            for job in batch {
                do {
                    try await commit([job])
                    job.complete(.success(()))
                } catch {
                    logger.error("write failed: \(error)")
                    // Storage that cannot take work now is a 503 to retry; any other failure (stored data that
                    // does not parse, a fault) is reported as it is: a 500 with its cause logged.
                    job.complete(.failure(storageUnavailability(error).map(IngestError.unavailable) ?? error))
                }
            }
        }
    }

    private func commit(_ jobs: [Job]) async throws {
        let now = clock.now()
        let caches = self.caches
        do {
            let learned = try await database.pool.write { db in
                let session = WriteSession(db: db, now: now, caches: caches)
                for job in jobs { try job.run(session) }
                try session.flush()
                let headsThrough = session.headsTop.map { max($0, session.events.lastID) }
                let rolledUp = caches.headsOverLimit ? try ActivityRollup.watermark(db) : nil
                return (session.profileIDs, session.eventNames, session.events, session.deletedEvents, session.stored, headsThrough, rolledUp)
            }
            TroveMetrics.ingested(profiles: learned.4.profiles, companies: learned.4.companies, events: learned.2.count)
            // Committed. Jobs commit one batch after another, so nothing else touches the caches now.
            caches.merge(profiles: learned.0, eventNames: learned.1)
            caches.committedHeads(through: learned.5, rolledUpThrough: learned.6)
            let events = learned.2
            if learned.3 {
                eventsDeleted()
            } else if events.count > 0 {
                memory.value.record(events)
                counts.value.record(events, now: clock.elapsed())
                let now = clock.elapsed()
                rollups.withLock { r in
                    r.eventsSince += events.count
                    r.lastCommit = now
                }
            }
        } catch {
            // A row we cached may have been deleted by the failure's cause; start clean.
            caches.reset()
            throw error
        }
    }
}

/// Carries a job's result from the writer to its waiting request. Written once on the writer before the
/// continuation resumes, read once after: the resume orders the two.
private final class ResultBox<T>: @unchecked Sendable {
    var value: Result<T, any Error>?
}
