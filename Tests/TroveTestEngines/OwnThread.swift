import Foundation

/// Runs blocking work (waiting for a child process, polling its log) on a thread of its own, so that it holds
/// none of Swift concurrency's cooperative threads — two on a 2-core machine. Held by two such waits at
/// once, every in-process server of the parallel suite stalls, and their clients time out (CI saw 11 s
/// request latencies and a 20 s read timeout that way).
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
