import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// How many heavy reads run at once, how many may wait, and how long one may take.
public struct ReadLimits: Sendable {
    /// Reads running at once, each on its own reader connection.
    public var concurrent: Int
    /// Reads waiting for a turn; past this a request is refused with `ReadLimitError.busy`.
    public var queued: Int
    /// Time one read may run before SQLite is told to stop it (`ReadLimitError.overBudget`).
    public var budget: Duration
    /// A heavy read that has run past `pacingAfter` rests `rest` after each `work` of running (checked by
    /// SQLite's progress handler) while other requests are being served (`HeavyReads.serving`), so a long
    /// one leaves part of its core to ingest and light requests (as PostgreSQL's vacuum cost delay does);
    /// short ones, and long ones with nobody else to serve, run straight through. Nil: no rests.
    public var pacing: (work: Duration, rest: Duration)?
    public static let pacingAfter: Duration = .milliseconds(100)

    public init(concurrent: Int, queued: Int, budget: Duration, pacing: (work: Duration, rest: Duration)? = (.milliseconds(6), .milliseconds(2))) {
        self.concurrent = max(1, concurrent)
        self.queued = max(0, queued)
        self.budget = budget
        self.pacing = pacing
    }

    /// Half the cores (at least one) run heavy reads, so the other half always serves ingest and the light
    /// requests; 8 per running one may wait; 30 s each.
    public static func forThisMachine(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> ReadLimits {
        let n = max(1, cores / 2)
        return ReadLimits(concurrent: n, queued: 8 * n, budget: .seconds(30))
    }
}

/// Why a heavy read did not answer.
public enum ReadLimitError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Every slot busy and the queue full: try again after `retryAfter` seconds.
    case busy(retryAfter: Int)
    /// Stopped after running past its time budget.
    case overBudget(Duration)

    public var description: String {
        switch self {
        case .busy:
            return "too many heavy queries (ad-hoc filters, previews, explains, reports) are running or waiting; retry shortly"
        case .overBudget(let budget):
            return "this query ran past its \(Self.seconds(budget)) s budget and was stopped: save the filter as a segment "
                + "(kept materialized, read in milliseconds) or narrow it (fewer or indexed event names, a shorter window)"
        }
    }

    static func seconds(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? String(ms / 1000) : String(Double(ms) / 1000)
    }
}

/// A monotonic time source for read budgets (tests inject one that jumps).
public struct Stopwatch: Sendable {
    let now: @Sendable () -> Duration

    public init(_ now: @escaping @Sendable () -> Duration) { self.now = now }

    public static let continuous: Stopwatch = {
        let start = ContinuousClock.now
        return Stopwatch { ContinuousClock.now - start }
    }()
}

/// Runs the reads that can take long — ad-hoc filters over the event log, previews, explains, reports —
/// on GRDB's reader threads (never an event loop or the async executor's few threads), at most `concurrent`
/// at once with a bounded queue behind them, each under a time budget enforced by SQLite's progress
/// handler. With half the cores for them, a pile of slow queries leaves the other half to `/health`,
/// single reads and ingest.
public final class HeavyReads: Sendable {
    public let limits: ReadLimits
    let stopwatch: Stopwatch
    private let pool: DatabasePool

    private struct State {
        var running = 0
        /// Waiting reads, first come first served; each is resumed when a running one hands it its slot.
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    /// Requests being served now, heavy or not (`serving`), and when the last one ended (ns by `stopwatch`).
    private let requests = Atomic<Int>(0)
    private let lastServed = Atomic<Int64>(-1)
    /// A closed-loop client sends its next request a moment after the last answer: requests that ended this
    /// recently (by `stopwatch`) count as still being served.
    static let servedRecently: Duration = .milliseconds(20)

    init(pool: DatabasePool, limits: ReadLimits, stopwatch: Stopwatch) {
        self.pool = pool
        self.limits = limits
        self.stopwatch = stopwatch
    }

    /// Runs `work` in a read transaction within the limits.
    public func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await admit()
        defer { leave() }
        let (budget, stopwatch) = (limits.budget, self.stopwatch)
        let pacing = limits.pacing.map { Pacing(work: $0.work, rest: $0.rest, needed: { [self] in othersServed }) }
        return try await pool.read { db in try Self.run(work, db, budget: budget, stopwatch: stopwatch, pacing: pacing) }
    }

    /// Counts `body` as a request being served: while any request other than the heavy reads themselves
    /// is, heavy reads pace themselves. The server wraps every request in it.
    public func serving<T>(_ body: () async throws -> T) async rethrows -> T {
        requests.add(1, ordering: .relaxed)
        defer {
            requests.subtract(1, ordering: .relaxed)
            lastServed.store(Self.nanoseconds(stopwatch.now()), ordering: .relaxed)
        }
        return try await body()
    }

    /// Whether requests other than heavy reads (running or waiting for a turn) are being served, or were a
    /// moment ago. Heavy reads started outside a request (the CLI, the benchmarks) make the count negative;
    /// it means the same: nobody waits.
    var othersServed: Bool {
        let heavy = state.withLock { $0.running + $0.waiting.count }
        if requests.load(ordering: .relaxed) > heavy { return true }
        let last = lastServed.load(ordering: .relaxed)
        return last >= 0 && Self.nanoseconds(stopwatch.now()) - last < Self.nanoseconds(Self.servedRecently)
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    /// Reads running and waiting now (metrics, tests).
    public var load: (running: Int, waiting: Int) {
        state.withLock { s in (s.running, s.waiting.count) }
    }

    private func admit() async throws {
        enum Admission { case now, wait, refused }
        let admission: Admission = state.withLock { s in
            if s.running < limits.concurrent {
                s.running += 1
                return .now
            }
            return s.waiting.count < limits.queued ? .wait : .refused
        }
        switch admission {
        case .now: return
        case .refused: throw ReadLimitError.busy(retryAfter: 2)
        case .wait:
            await withCheckedContinuation { continuation in
                let admitted = state.withLock { s in
                    // A slot may have freed between the two locks.
                    if s.running < limits.concurrent {
                        s.running += 1
                        return true
                    }
                    s.waiting.append(continuation)
                    return false
                }
                if admitted { continuation.resume() }
            }
        }
    }

    /// Hands the slot to the first waiting read, or frees it.
    private func leave() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            if s.waiting.isEmpty {
                s.running -= 1
                return nil
            }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }

    static func run<T>(
        _ work: (Database) throws -> T, _ db: Database, budget: Duration, stopwatch: Stopwatch, pacing: Pacing?
    ) throws -> T {
        let deadline = Deadline(at: stopwatch.now() + budget, stopwatch: stopwatch, pacing: pacing)
        let context = Unmanaged.passRetained(deadline)
        sqlite3_progress_handler(db.sqliteConnection, 1000, { context in
            Unmanaged<Deadline>.fromOpaque(context!).takeUnretainedValue().passed() ? 1 : 0
        }, context.toOpaque())
        defer {
            sqlite3_progress_handler(db.sqliteConnection, 0, nil, nil)
            context.release()
        }
        do {
            let result = try work(db)
            if deadline.fired { throw ReadLimitError.overBudget(budget) }
            return result
        } catch {
            // Whatever the work made of SQLite's interruption, the answer is the budget's.
            if deadline.fired { throw ReadLimitError.overBudget(budget) }
            throw error
        }
    }

    /// A read's rests: `rest` after each `work` of running, when `needed`.
    struct Pacing: Sendable {
        var work: Duration
        var rest: Duration
        var needed: @Sendable () -> Bool
    }

    /// The progress handler's view of the budget and the pacing; `fired` once it has told SQLite to stop.
    /// Written and read only on the one thread running the read.
    final class Deadline: @unchecked Sendable {
        let at: Duration
        let stopwatch: Stopwatch
        let pacing: Pacing?
        private(set) var fired = false
        private let started = ContinuousClock.now
        private var working = ContinuousClock.now

        init(at: Duration, stopwatch: Stopwatch, pacing: Pacing? = nil) {
            self.at = at
            self.stopwatch = stopwatch
            self.pacing = pacing
        }

        func passed() -> Bool {
            if !fired, stopwatch.now() >= at { fired = true }
            if !fired, let pacing {
                let now = ContinuousClock.now
                if working.duration(to: now) >= pacing.work, started.duration(to: now) >= ReadLimits.pacingAfter {
                    if pacing.needed() {
                        let rest = pacing.rest.components
                        usleep(useconds_t(rest.seconds * 1_000_000 + rest.attoseconds / 1_000_000_000_000))
                    }
                    working = ContinuousClock.now
                }
            }
            return fired
        }
    }
}
