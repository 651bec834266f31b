import Synchronization

/// A clock a test moves by hand: `now` and every `sleep` on its `clock` follow `advance`, so background
/// loops run when the test says and never by wall time. A sleeper parks until the clock reaches its
/// deadline; `advance` wakes those it passes and returns once each of them has parked again (its pass of
/// work done).
public final class ManualClock: Sendable {
    struct Sleeper {
        var id: Int
        var deadline: Int64
        var resume: CheckedContinuation<Void, any Error>
    }

    struct State {
        var now: Timestamp
        var nextID = 0
        var sleepers: [Sleeper] = []
        /// Sleepers woken by `advance` that have not parked again.
        var awake = 0
        /// Waiters for `awake == 0` and for a number of parked sleepers.
        var settled: [CheckedContinuation<Void, Never>] = []
        var parked: [(count: Int, resume: CheckedContinuation<Void, Never>)] = []
    }

    let state: Mutex<State>

    public init(_ now: Timestamp) { state = Mutex(State(now: now)) }

    public var clock: TroveClock {
        TroveClock({ self.state.withLock { $0.now } }, sleep: { try await self.sleep(for: $0) })
    }

    public var now: Timestamp { state.withLock { $0.now } }

    func sleep(for duration: Duration) async throws {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let ready: [CheckedContinuation<Void, Never>] = state.withLock { s in
                    s.sleepers.append(Sleeper(id: id, deadline: s.now.milliseconds + duration.milliseconds, resume: c))
                    if s.awake > 0 { s.awake -= 1 }
                    var ready: [CheckedContinuation<Void, Never>] = []
                    if s.awake == 0 {
                        ready = s.settled
                        s.settled = []
                    }
                    let count = s.sleepers.count
                    ready += s.parked.filter { $0.count <= count }.map(\.resume)
                    s.parked.removeAll { $0.count <= count }
                    return ready
                }
                if Task.isCancelled { cancel(id) }
                for r in ready { r.resume() }
            }
        } onCancel: {
            cancel(id)
        }
    }

    private func cancel(_ id: Int) {
        let sleeper: Sleeper? = state.withLock { s in
            guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
            return s.sleepers.remove(at: i)
        }
        sleeper?.resume.resume(throwing: CancellationError())
    }

    /// Moves the clock on, wakes every sleeper whose deadline it reaches, and returns when each has parked
    /// again.
    public func advance(by duration: Duration) async {
        let due: [Sleeper] = state.withLock { s in
            s.now = s.now.adding(milliseconds: duration.milliseconds)
            let due = s.sleepers.filter { $0.deadline <= s.now.milliseconds }
            s.sleepers.removeAll { $0.deadline <= s.now.milliseconds }
            s.awake += due.count
            return due
        }
        for sleeper in due { sleeper.resume.resume() }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let settled = state.withLock { s in
                if s.awake == 0 { return true }
                s.settled.append(c)
                return false
            }
            if settled { c.resume() }
        }
    }

    /// Returns once at least `count` sleepers are parked (the background loops a test started are idle).
    public func parked(_ count: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s in
                if s.sleepers.count >= count { return true }
                s.parked.append((count, c))
                return false
            }
            if now { c.resume() }
        }
    }
}
