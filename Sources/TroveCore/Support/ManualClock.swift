import Synchronization

/// A clock a test moves by hand: `now`, `elapsed`, every `sleep` and every timer on its `clock` follow
/// `advance`, so background work runs when the test says and never by wall time. A loop's sleep parks
/// until the clock reaches its deadline; `advance` wakes those it passes and runs the timers due, and
/// `parked` waits until the loops are idle again.
public final class ManualClock: Sendable {
    struct Sleeper {
        var id: Int
        var deadline: Duration
        var resume: CheckedContinuation<Void, any Error>
    }

    struct State {
        var now: Timestamp
        var elapsed = Duration.zero
        var nextID = 0
        var sleepers: [Sleeper] = []
        var timers: [(deadline: Duration, body: @Sendable () -> Void)] = []
        var parked: [(count: Int, resume: CheckedContinuation<Void, Never>)] = []
    }

    let state: Mutex<State>

    public init(_ now: Timestamp) { state = Mutex(State(now: now)) }

    public var clock: TroveClock {
        TroveClock(
            { self.state.withLock { $0.now } }, elapsed: { self.state.withLock { $0.elapsed } }, sleep: { try await self.sleep(for: $0) },
            after: { delay, body in self.state.withLock { $0.timers.append(($0.elapsed + delay, body)) } })
    }

    func sleep(for duration: Duration) async throws {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let ready: [CheckedContinuation<Void, Never>] = state.withLock { s in
                    s.sleepers.append(Sleeper(id: id, deadline: s.elapsed + duration, resume: c))
                    let count = s.sleepers.count
                    let ready = s.parked.filter { $0.count <= count }.map(\.resume)
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

    /// Moves the clock on, runs the timers due (here, in order) and wakes every sleeper whose deadline it
    /// reaches (they run after this returns).
    public func advance(by duration: Duration) {
        let (due, timers) = state.withLock { s in
            s.now = s.now.adding(milliseconds: duration.milliseconds)
            s.elapsed += duration
            let due = s.sleepers.filter { $0.deadline <= s.elapsed }
            s.sleepers.removeAll { $0.deadline <= s.elapsed }
            let timers = s.timers.filter { $0.deadline <= s.elapsed }.sorted { $0.deadline < $1.deadline }
            s.timers.removeAll { $0.deadline <= s.elapsed }
            return (due, timers)
        }
        for timer in timers { timer.body() }
        for sleeper in due { sleeper.resume.resume() }
    }

    /// Returns once at least `count` sleepers are parked: the background loops a test runs are idle (each
    /// woken one has finished its pass and waits again).
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
