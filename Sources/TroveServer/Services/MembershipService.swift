import Logging
import ServiceLifecycle
import TroveCore

/// Runs the membership evaluator in the background for as long as the server runs (SPEC §6): a step
/// whenever there is work, otherwise a cheap look every `idleInterval`, which bounds how stale
/// membership gets after an ingest reply.
struct MembershipService: Service {
    let evaluator: MembershipEvaluator
    var idleInterval: Duration = .milliseconds(50)
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if try await evaluator.step().didWork { continue }
                    try await Task.sleep(for: idleInterval)
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("membership evaluation failed; retrying in 1 s: \(error)")
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}
