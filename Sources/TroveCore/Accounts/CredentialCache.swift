import Synchronization

/// Recently authenticated credentials, by digest, for a short while. Every request authenticates; a
/// database read for each cost SQL parsing and WAL locks on the request path (seen in `perf` under
/// `trove bench http-single`). Only successes are kept, never longer than `lifetime` on the injected
/// clock, so a secret rotated by another process (the CLI, another node on the same database) stops
/// working within that time; rotating through the same store clears the cache at once.
final class CredentialCache: Sendable {
    struct Key: Hashable {
        var kind: UInt8
        var site: String
        var digest: [UInt8]
    }

    static let lifetime: Duration = .seconds(2)
    static let capacity = 10_000

    private let entries = Mutex<[Key: (account: Int64, expires: Int64)]>([:])
    let clock: TroveClock

    init(clock: TroveClock) { self.clock = clock }

    func account(for key: Key) -> Int64? {
        let now = clock.now().milliseconds
        return entries.withLock { e in
            guard let hit = e[key] else { return nil }
            if hit.expires < now {
                e[key] = nil
                return nil
            }
            return hit.account
        }
    }

    func remember(_ key: Key, account: Int64) {
        let expires = clock.now().milliseconds + Self.lifetime.milliseconds
        entries.withLock { e in
            if e.count >= Self.capacity { e.removeAll() }
            e[key] = (account, expires)
        }
    }

    func clear() { entries.withLock { $0.removeAll() } }
}
