import Logging
import ServiceLifecycle
import TroveCore

/// Builds the funnel's step lists and keeps them current (`ReportSteps`): one piece of work at a time (a
/// build pass, a slice of new events, a batch of a dropped list's rows) while any is left — their writes
/// short transactions, each followed by a rest as long, so the group commits find the writer free — with
/// a short pause between, and a look once a second when all lists are current.
struct ReportStepService: Service {
    let services: TroveServices
    var pause: Duration = .milliseconds(5)
    var idleInterval: Duration = .seconds(1)
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let more = try await services.upkeep.stepReportLists(now: services.clock.now())
                    try await services.clock.sleep(for: more ? pause : idleInterval)
                } catch where error.isStopping {
                    return
                } catch {
                    logger.error("building funnel step lists failed; retrying in 1 s: \(error)")
                    try await services.clock.sleep(for: .seconds(1))
                }
            }
        }
    }
}
