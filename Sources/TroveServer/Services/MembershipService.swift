import Logging
import ServiceLifecycle
import TroveCore

/// Runs the membership evaluator in the background for as long as the server runs (contract §6): steps back
/// to back while a backlog remains, otherwise one every `idleInterval` (a cheap read-only look when there
/// is nothing to do), which bounds how stale membership gets after an ingest reply.
struct MembershipService: Service {
    let evaluator: any MembershipWork
    var idleInterval: Duration = .milliseconds(50)
    /// A step at least this long is logged: it held the writer, so ingest and fresher membership waited.
    var slowStep: Duration = .seconds(1)
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            do {
                let dropped = try await evaluator.dropUnusedIndexes()
                if !dropped.isEmpty { logger.info("dropped indexes no segment uses: \(dropped.joined(separator: ", "))") }
            } catch {
                logger.error("could not look for unused segment indexes: \(error)")
            }
            while !Task.isCancelled {
                do {
                    // Straight on only while a backlog remains: stepping again the moment a few new events
                    // arrived would take the writer from the group commits in a tight loop (measured:
                    // http-single fell from ~24k to ~13k req/s).
                    let started = ContinuousClock.now
                    let result = try await evaluator.step()
                    let took = ContinuousClock.now - started
                    if took >= slowStep { logger.notice("a membership step took \(took.milliseconds) ms: \(result.summary)") }
                    if result.more { continue }
                    try await evaluator.clock.sleep(for: idleInterval)
                } catch where error.isStopping {
                    return
                } catch {
                    logger.error("membership evaluation failed; retrying in 1 s: \(error)")
                    try await evaluator.clock.sleep(for: .seconds(1))
                }
            }
        }
    }
}
