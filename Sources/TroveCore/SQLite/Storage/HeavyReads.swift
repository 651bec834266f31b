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

    public init(concurrent: Int, queued: Int, budget: Duration) {
        self.concurrent = max(1, concurrent)
        self.queued = max(0, queued)
        self.budget = budget
    }

    /// Half the cores (at least one) run heavy reads; 8 per running one may wait; 30 s each.
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
/// on threads of their own at the lowest CPU priority (`IdleThreads`; never an event loop or the async
/// executor's few threads), at most `concurrent` at once with a bounded queue behind them, each under a
/// time budget enforced by SQLite's progress handler. At most half the cores run them, and those yield to
/// any other thread of the server that wakes, so a pile of slow queries leaves `/health`, single reads and
/// ingest their pace.
public final class HeavyReads: Sendable {
    public let limits: ReadLimits
    let stopwatch: Stopwatch
    private let pool: DatabasePool
    private let threads: IdleThreads
    private let gate: ReadGate

    init(pool: DatabasePool, limits: ReadLimits, stopwatch: Stopwatch) {
        self.pool = pool
        self.limits = limits
        self.stopwatch = stopwatch
        self.threads = IdleThreads(name: "trove-heavy-read", limit: limits.concurrent)
        self.gate = ReadGate(limits)
    }

    /// Runs `work` in a read transaction within the limits.
    public func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await gate.admit()
        defer { gate.leave() }
        let (budget, stopwatch) = (limits.budget, self.stopwatch)
        return try await threads.read(pool) { db in try Self.run(work, db, budget: budget, stopwatch: stopwatch) }
    }

    /// Reads running and waiting now (metrics, tests).
    public var load: (running: Int, waiting: Int) { gate.load }

    static func run<T>(
        _ work: (Database) throws -> T, _ db: Database, budget: Duration, stopwatch: Stopwatch
    ) throws -> T {
        let deadline = Deadline(at: stopwatch.now() + budget, stopwatch: stopwatch)
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

    /// The progress handler's view of the budget; `fired` once it has told SQLite to stop. Written and read
    /// only on the one thread running the read.
    final class Deadline: @unchecked Sendable {
        let at: Duration
        let stopwatch: Stopwatch
        private(set) var fired = false

        init(at: Duration, stopwatch: Stopwatch) {
            self.at = at
            self.stopwatch = stopwatch
        }

        func passed() -> Bool {
            if !fired, stopwatch.now() >= at { fired = true }
            return fired
        }
    }
}
