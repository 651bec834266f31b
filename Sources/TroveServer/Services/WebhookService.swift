import Logging
import ServiceLifecycle
import TroveCore

/// Sends webhook deliveries in the background (SPEC §10): every `interval` it starts what is due; the
/// attempts themselves run on their own, so a slow receiver holds up nothing but its own endpoint. It
/// owns its HTTP client for as long as it runs.
struct WebhookService: Service {
    let services: TroveServices
    var interval: Duration = .milliseconds(100)
    let logger: Logger

    func run() async throws {
        let client = HTTPOutgoingTransport.makeClient()
        let deliverer = WebhookDeliverer(
            database: services.database, clock: services.clock, transport: HTTPOutgoingTransport(client: client),
            policy: services.webhooks.policy, logger: logger)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await deliverer.dispatch()
                    try await Task.sleep(for: interval)
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("webhook dispatch failed; retrying in 1 s: \(error)")
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
        try await client.shutdown()
    }
}
