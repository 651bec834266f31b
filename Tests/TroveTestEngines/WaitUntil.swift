import Foundation

/// Polls `condition` every 20 ms until it holds; throws `GaveUp` after `seconds` without it. A bound on
/// progress (a regression fails instead of hanging the suite), not a timing assertion.
public func waitUntil(_ what: String, giveUpAfter seconds: Double, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try await !condition() {
        guard Date() < deadline else { throw GaveUp(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// What `waitUntil` waited for in vain.
public struct GaveUp: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "timed out waiting: \(what)" }
}
