import Synchronization

/// The admission of heavy reads, for either engine: at most `limits.concurrent` run at once, up to
/// `limits.queued` wait their turn (first come, first served), and past that a read is refused at once
/// (`ReadLimitError.busy`, a 429 with Retry-After).
public final class ReadGate: Sendable {
    public let limits: ReadLimits

    public init(_ limits: ReadLimits) { self.limits = limits }

    private struct State {
        var running = 0
        /// Waiting reads, first come first served; each is resumed when a running one hands it its slot.
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    public func admit() async throws {
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
    public func leave() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            if s.waiting.isEmpty {
                s.running -= 1
                return nil
            }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }

    /// Reads running and waiting now (metrics, tests).
    public var load: (running: Int, waiting: Int) {
        state.withLock { s in (s.running, s.waiting.count) }
    }
}
