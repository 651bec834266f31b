import Logging
import ServiceLifecycle
import TroveCore

/// Hourly upkeep (contract §11): prunes delivered outbox rows past 30 days, drops funnel step lists no report
/// has read for 30 days, deletes anonymous events no identify claimed within 30 days (§8), and with
/// `--retain-events-days` deletes older events. The first round runs at start. Several nodes on one database
/// take turns: a round is run by the node that holds upkeep (`UpkeepStore.claimUpkeep`), which each asks
/// every `check`, so a node that died is replaced within its lease and a check.
struct UpkeepService: Service {
    let services: TroveServices
    var interval: Duration = .seconds(3600)
    var check: Duration = .seconds(10)
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            // This process's own pace on the clock's elapsed time (it moves under `--now`, which fixes `now`).
            var lastRound: Duration?
            while !Task.isCancelled {
                do {
                    if let last = lastRound, services.clock.elapsed() - last < interval {
                        try await services.clock.sleep(for: check)
                        continue
                    }
                    let now = services.clock.now()
                    guard try await services.upkeep.claimUpkeep(every: interval) else {
                        try await services.clock.sleep(for: check)
                        continue
                    }
                    try await OutboxRetention.prune(services.upkeep, now: now)
                    let dropped = try await services.upkeep.dropUnusedReportLists(now: now)
                    if dropped > 0 { logger.info("dropping \(dropped) funnel step lists unused for 30 days") }
                    let anonymous = try await EventRetention.pruneAnonymous(services.ingestor.store, now: now)
                    if anonymous > 0 { logger.info("deleted \(anonymous) anonymous events no identify claimed within \(EventRetention.anonymousDays) days") }
                    if let keep = services.retainEvents {
                        let removed = try await EventRetention.prune(services.ingestor.store, before: now.adding(milliseconds: -keep))
                        if removed > 0 { logger.info("deleted \(removed) events older than \(keep / 86_400_000) days") }
                    }
                    lastRound = services.clock.elapsed()
                    try await services.upkeep.upkeepDone()
                    try await services.clock.sleep(for: check)
                } catch where error.isStopping {
                    return
                } catch {
                    logger.error("upkeep failed; retrying in a minute: \(error)")
                    try await services.clock.sleep(for: .seconds(60))
                }
            }
        }
    }
}
