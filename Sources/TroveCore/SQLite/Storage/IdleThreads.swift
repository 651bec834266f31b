import Foundation
import GRDB

/// Threads of the lowest CPU priority (Linux's `SCHED_IDLE`; a nice of 19 where that is refused) for long
/// reads (ad-hoc scans, reports, export files): the kernel gives them only the time no other thread of the machine wants, and a thread of
/// the server that wakes up (an event loop with a request, the writer with a batch) takes the core from
/// them at once instead of waiting out their time slice. So a pile of long scans runs at full speed on an
/// idle server and yields to `/health`, ingest and light reads the moment they come.
///
/// Up to `limit` threads, started when work comes and ended after `keepAlive` without any, so a process
/// (or a test) that opens many databases does not keep threads for each.
final class IdleThreads: @unchecked Sendable {
    let name: String
    let limit: Int
    let keepAlive: TimeInterval
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [() -> Void] = []
    private var threads = 0
    private var waiting = 0

    init(name: String, limit: Int, keepAlive: TimeInterval = 10) {
        self.name = name
        self.limit = max(1, limit)
        self.keepAlive = keepAlive
    }

    /// Runs `job` on one of the threads, in the order given; at most `limit` run at once.
    func run(_ job: @escaping () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        jobs.append(job)
        if jobs.count > waiting, threads < limit {
            threads += 1
            let thread = Thread { [self] in loop() }
            thread.name = name
            thread.start()
        } else {
            condition.signal()
        }
    }

    /// `work` on one of the threads, its result awaited.
    func perform<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            run { continuation.resume(with: Result { try work() }) }
        }
    }

    /// `work` in a read transaction of `pool`, on one of the threads: GRDB runs a synchronous read on the
    /// thread that asks for it.
    func read<T: Sendable>(_ pool: DatabasePool, _ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await perform { try pool.read(work) }
    }

    private func loop() {
        Self.lowerPriority()
        condition.lock()
        while true {
            while jobs.isEmpty {
                waiting += 1
                let woken = condition.wait(until: Date(timeIntervalSinceNow: keepAlive))
                waiting -= 1
                if !woken, jobs.isEmpty {
                    threads -= 1
                    condition.unlock()
                    return
                }
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
            condition.lock()
        }
    }

    /// The calling thread's scheduling: `SCHED_IDLE`, else nice 19. Linux applies both per thread.
    static func lowerPriority() {
        var parameters = sched_param(sched_priority: 0)
        if sched_setscheduler(0, schedIdle, &parameters) != 0 {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        }
    }

    /// The calling thread runs at the lowest priority (tests).
    static var runsAtLowestPriority: Bool {
        sched_getscheduler(0) == schedIdle || getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == 19
    }

    /// `SCHED_IDLE` (linux/sched.h), which Glibc's headers define only under `_GNU_SOURCE`.
    static let schedIdle: Int32 = 5
}
