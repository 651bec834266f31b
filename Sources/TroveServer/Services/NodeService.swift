import Logging
import ServiceLifecycle
import TroveCore

/// Keeps this process alive in the eyes of the other nodes on the database (`NodePresence`): says so every
/// third of the lease, so its claims on background work hold; a clean stop removes it, and its claims with
/// it, once the other background services have finished (it is registered first, so stopped last).
struct NodeService: Service {
    let node: any NodePresence
    let clock: TroveClock
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await node.beat()
                } catch where error.isStopping {
                    return
                } catch {
                    // The claims lapse if this goes on past the lease: the other nodes then take the work.
                    logger.error("could not say this node is alive: \(error)")
                }
                try await clock.sleep(for: node.lease / 3)
            }
        }
        await node.leave()
    }
}
