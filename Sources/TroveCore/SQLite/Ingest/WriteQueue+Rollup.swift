import GRDB
import Synchronization

/// When `ActivityRollup` runs. Normally the writer plans from what it saw itself: each commit hands over
/// the latest event time per profile and the range of event ids it wrote, and once a rollup is due (every
/// `rollupEvery` events or `rollupInterval`) that becomes a plan without reading anything. When the
/// writer's own record does not cover everything past the watermark (at start, after a crash, when
/// another process wrote events), the plan is read from the event log on a reader connection, off the
/// writer. Either way the plan is applied in slices of `rollupSliceRows` between group commits while
/// requests wait, and all at once when the queue is idle, so a rollup never holds the writer for long.
///
/// Measured with `trove bench http-batch` (2M events, 8 connections): rolling up inside the writer in one
/// go, p99 173 ms; planned on a reader and applied in slices, 46-59 ms and ~25% less throughput than with
/// no rollup at all; planned from the writer's own record, see the README.
///
/// A plan costs about one page write per page of `profile_activity` it touches, and once a table of ten
/// million profiles meets plans of 200k events, nearly every plan touches nearly every page: importing 20M
/// events onto 10M profiles (10× the reference set), runs whose plans kept pace (42 plans of 200–580k events)
/// wrote 7–19 GB, runs where they fell behind and grew (6 plans, up to 9M events) 2.9 GB, and the runs that
/// wrote most took up to twice as long, the writer waiting on the disk. So during a bulk import of events
/// (`trove import`, from `prepareForEvents` to `catchUp`) the next plan waits for `rollupEvery` events or, on
/// a big table, for one event per `rowsPerTailEvent` rows of it, whichever is more: each page write then
/// serves some twenty events. Ingest slower than half of `rollupEvery` events an interval (on average since
/// the last plan) still gets a plan every `rollupInterval`, and so does a tail once no commit has come for
/// half an interval. A server's ingest keeps the plain rule (`rollupEvery` events or `rollupInterval`):
/// reads through the tail (`last_seen_at` of its profiles) scan it, and at ten million profiles the import's
/// tail may be six times as long. At the reference set's million profiles the bar is `rollupEvery` either
/// way.
struct RollupState {
    var eventsSince = 0
    /// `profile_activity`'s rows as the last completed plan left them (its top profile id: no count needed).
    var activityRows: Int64 = 0
    /// When the last commit with events was made, on the queue clock's `elapsed`.
    var lastCommit: Duration = .zero
    /// When the last plan was made, on the queue clock's `elapsed`.
    var last: Duration
    var planning = false
    var ready: ActivityRollup.Plan?
    /// When the armed timers fire (on `elapsed`); nil when none is armed.
    var rollupTimer: Duration?
    var countsTimer: Duration?
    /// Callers of `settled()` waiting for the writer to have nothing left to do.
    var settledWaiters: [CheckedContinuation<Void, Never>] = []
    /// Commits that deleted events; plans made before the latest are dropped (they may count deleted
    /// events).
    var generation = 0

    /// During a bulk import of events, the next plan waits for one event in the tail per this many rows of
    /// `profile_activity` (see above).
    static let rowsPerTailEvent: Int64 = 8
    /// A bulk import of events is running (`WriteQueue.prepareForEvents` until `catchUp`).
    var importing = false

    /// Whether the next plan is due, `intervals` rollup intervals after the last and `quiet` intervals after
    /// the last commit.
    func due(rollupEvery: Int, intervals: Double, quiet: Double) -> Bool {
        guard !planning, ready == nil, eventsSince > 0 else { return false }
        guard importing else { return eventsSince >= rollupEvery || intervals >= 1 }
        if Int64(eventsSince) >= max(Int64(rollupEvery), activityRows / Self.rowsPerTailEvent) { return true }
        // Below half of `rollupEvery` events an interval on average since the last plan, or no commit for
        // half an interval: the interval is enough.
        let slow = Double(eventsSince) < Double(rollupEvery) / 2 * max(1, intervals)
        return intervals >= 1 && (slow || quiet >= 0.5)
    }
}

/// Event ids (from, through] one writer committed one after another, with no gap: what its in-memory
/// sums (`RollupMemory`, `CountsMemory`) cover.
struct CommittedRun {
    var from: Int64
    var through: Int64

    /// Extends `run` with a commit's events (at least one). True when they follow on; false when someone
    /// else wrote in between, and the run starts over at this commit (only it is known).
    static func extend(_ run: inout CommittedRun?, with events: WriteSession.EventsWritten) -> Bool {
        let first = events.firstID - 1
        if let r = run, r.through == first {
            run = CommittedRun(from: r.from, through: events.lastID)
            return true
        }
        run = CommittedRun(from: first, through: events.lastID)
        return false
    }
}

/// What the writer saw since its last plan. Touched only by the task holding `draining`.
struct RollupMemory {
    /// Latest event time and newest linked event per profile over the events in `covered`.
    var activity = ProfileTable(filler: ActivityRollup.Latest())
    var covered: CommittedRun?
    /// The watermark as the last completed plan left it; nil until one completed.
    var watermark: Int64?

    mutating func record(_ events: WriteSession.EventsWritten) {
        guard events.count > 0 else { return }
        if CommittedRun.extend(&covered, with: events) {
            activity.merge(events.latestByProfile) { $0.merged($1) }
        } else {
            activity = events.latestByProfile
        }
    }

    mutating func forget() {
        activity.removeAll()
        covered = nil
    }
}

/// A value only the task holding the writer's `draining` token reads or writes.
final class DrainOwned<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

extension WriteQueue {
    /// Rolls up whatever the event log holds beyond the watermark soon (a server calls this at start, for
    /// a tail left by a crash).
    public func requestRollup() {
        rollups.withLock { r in
            r.eventsSince = max(r.eventsSince, 1)
            r.last = clock.elapsed() - rollupInterval
        }
        wake()
    }

    /// Applies the plan in progress (up to `rows` rows), or plans the next one when due.
    func rollupStep(rows: Int) async {
        if applying.value == nil {
            applying.value = rollups.withLock { r in
                defer { r.ready = nil }
                return r.ready?.generation == r.generation ? r.ready : nil
            }
        }
        if let plan = applying.value {
            do {
                let (advanced, watermark, activityRows) = try await database.pool.write { db in
                    var p = plan
                    let watermark = try ActivityRollup.apply(&p, rows: rows, db)
                    let activityRows = watermark == nil ? nil : try Int64.fetchOne(db, sql: "SELECT max(profile_id) FROM profile_activity")
                    return (p, watermark, activityRows)
                }
                applying.value = advanced.isComplete ? nil : advanced
                if let watermark { memory.value.watermark = watermark }
                if let activityRows { rollups.withLock { $0.activityRows = activityRows } }
            } catch {
                logger.error("activity rollup failed, will plan again: \(error)")
                applying.value = nil
                memory.value.watermark = nil
                rollups.withLock { $0.eventsSince = max($0.eventsSince, 1) }
            }
            return
        }
        if rollupDue() { planNext() }
    }

    func rollupDue() -> Bool {
        let now = clock.elapsed()
        return rollups.withLock { r in
            r.due(rollupEvery: rollupEvery, intervals: (now - r.last) / rollupInterval, quiet: (now - r.lastCommit) / rollupInterval)
        }
    }

    func hasRollupToApply() -> Bool {
        applying.value != nil || rollups.withLock { $0.ready != nil }
    }

    /// From the writer's own record when it covers everything past the watermark, else from the log.
    private func planNext() {
        let m = memory.value
        memory.value.forget()
        rollups.withLock { r in
            r.eventsSince = 0
            r.last = clock.elapsed()
        }
        // The writer's record serves when it covers everything past the watermark (it may reach below it:
        // a time only moves forward, so applying one again is harmless).
        if let watermark = m.watermark, let covered = m.covered, covered.from <= watermark {
            if covered.through > watermark {
                var plan = ActivityRollup.plan(from: watermark, through: covered.through, activity: m.activity)
                plan.generation = rollups.withLock { $0.generation }
                applying.value = plan
            }
        } else {
            startPlanning()
        }
    }

    /// Reads a plan from the event log on a reader connection; the writer picks it up when ready.
    private func startPlanning() {
        let start = rollups.withLock { r in
            guard !r.planning, r.ready == nil else { return false }
            r.planning = true
            return true
        }
        guard start else { return }
        let generation = rollups.withLock { $0.generation }
        Task {
            var plan: ActivityRollup.Plan?
            do {
                plan = try await database.pool.read { db in try ActivityRollup.plan(db) }
                plan?.generation = generation
            } catch {
                logger.error("planning the activity rollup failed, will retry: \(error)")
                rollups.withLock { $0.eventsSince = max($0.eventsSince, 1) }
            }
            rollups.withLock { r in
                r.planning = false
                r.ready = plan
            }
            if plan != nil {
                wake()
            } else {
                armRollupTimer()
                resumeIfSettled()
            }
        }
    }

    /// With events not yet rolled up, wakes the writer after `rollupInterval` so an idle queue catches up.
    func armRollupTimer() {
        let arm = rollups.withLock { r in
            guard r.eventsSince > 0, !r.planning, r.ready == nil, r.rollupTimer == nil else { return false }
            r.rollupTimer = clock.elapsed() + rollupInterval
            return true
        }
        if arm { wake(after: rollupInterval, disarming: \.rollupTimer) }
    }

    /// Wakes the writer after `delay` on the queue's clock, clearing the deadline that kept a second timer
    /// from being armed.
    func wake(after delay: Duration, disarming timer: any WritableKeyPath<RollupState, Duration?> & Sendable) {
        clock.after(delay) {
            self.rollups.withLock { $0[keyPath: timer] = nil }
            self.wake()
        }
    }

    /// Returns once the writer has nothing left to do: no job queued or being written, no rollup being
    /// planned or waiting to be applied, and no timer due by the queue's clock that has not fired (tests that
    /// move a `ManualClock` wait on it instead of polling).
    public func settled() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            if isSettled() { return c.resume() }
            rollups.withLock { $0.settledWaiters.append(c) }
            // It may have settled in between: look again now that the waiter is registered.
            resumeIfSettled()
        }
    }

    func resumeIfSettled() {
        guard isSettled() else { return }
        let waiters = rollups.withLock { r in
            defer { r.settledWaiters = [] }
            return r.settledWaiters
        }
        for w in waiters { w.resume() }
    }

    private func isSettled() -> Bool {
        guard !isDraining else { return false }
        let closed = isClosed
        let now = clock.elapsed()
        return rollups.withLock { r in
            // Once closed, a ready plan is dropped and timers do nothing when they fire.
            !r.planning
                && (closed
                    || (r.ready == nil && (r.rollupTimer.map { $0 > now } ?? true) && (r.countsTimer.map { $0 > now } ?? true)))
        }
    }

    /// After a commit that deleted events: what the writer remembers, and plans made before, may count
    /// them; the next rollup reads the log afresh.
    func eventsDeleted() {
        memory.value.forget()
        memory.value.watermark = nil
        counts.value = CountsMemory(now: clock.elapsed())
        applying.value = nil
        rollups.withLock { r in
            r.generation += 1
            r.ready = nil
            r.eventsSince = max(r.eventsSince, 1)
        }
    }

    /// Brings the tables derived from the event log up to date now (`trove import` at its end).
    public func catchUp() async throws {
        rollups.withLock { $0.importing = false }
        try await ActivityRollup.catchUp(database)
        try await CountsRollup.catchUp(database)
    }
}
