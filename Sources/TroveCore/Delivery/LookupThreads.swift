import Foundation
import Synchronization

/// Threads for blocking host lookups (`getaddrinfo`), off the cooperative pool: at most `limit` at once, each
/// started when work arrives and kept while more waits; work beyond the limit waits its turn. A name server
/// that stops answering (20 s a lookup) then holds `limit` threads, not one per delivery in flight.
public final class LookupThreads: Sendable {
    public static let shared = LookupThreads(limit: 16)

    struct State {
        var running = 0
        var waiting: [@Sendable () -> Void] = []
    }

    let limit: Int
    let state = Mutex(State())

    public init(limit: Int) { self.limit = max(1, limit) }

    /// Runs `work` on one of the threads, now or once one is free.
    func run(_ work: @escaping @Sendable () -> Void) {
        let start = state.withLock { s in
            guard s.running < limit else {
                s.waiting.append(work)
                return false
            }
            s.running += 1
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in
            var next: (@Sendable () -> Void)? = work
            while let current = next {
                current()
                next = state.withLock { s in
                    guard !s.waiting.isEmpty else {
                        s.running -= 1
                        return nil
                    }
                    return s.waiting.removeFirst()
                }
            }
        }
        thread.name = "trove-lookup"
        thread.start()
    }
}
