import Logging
import ServiceLifecycle
import TroveCore

/// Builds the funnel's step lists and keeps them current (`ReportSteps`): one slice at a time while any
/// list is behind the log — each a short write transaction, with a pause between so the group commits
/// keep the writer — and a look once a second when all are current.
struct ReportStepService: Service {
    let services: TroveServices
    var pause: Duration = .milliseconds(5)
    var idleInterval: Duration = .seconds(1)
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let more = try await ReportSteps.step(services.database, now: services.clock.now())
                    try await Task.sleep(for: more ? pause : idleInterval)
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("building funnel step lists failed; retrying in 1 s: \(error)")
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}
