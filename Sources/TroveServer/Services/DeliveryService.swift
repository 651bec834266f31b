import Logging
import ServiceLifecycle
import TroveCore

/// Sends the outboxes in the background (contract §10): webhook deliveries and Customer.io calls. Every
/// `interval` each deliverer starts what is due; the calls themselves run on their own, so a slow
/// receiver holds up nothing but its own endpoint (or account). It owns the HTTP clients while it runs.
struct DeliveryService: Service {
    let services: TroveServices
    var interval: Duration = .milliseconds(100)
    let logger: Logger

    func run() async throws {
        let transport = HTTPOutgoingTransport()
        let webhooks = WebhookDeliverer(
            store: services.webhooks.store, clock: services.clock, transport: transport, policy: services.webhooks.policy, logger: logger)
        let customerIO = CustomerIODeliverer(
            store: services.customerIODestination.store, clock: services.clock, transport: transport, policy: services.webhooks.policy, logger: logger)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await webhooks.dispatch()
                    try await customerIO.dispatch()
                    try await services.clock.sleep(for: interval)
                } catch where error.isStopping {
                    return
                } catch {
                    logger.error("delivery dispatch failed; retrying in 1 s: \(error)")
                    try await services.clock.sleep(for: .seconds(1))
                }
            }
        }
        // Stopping: let the sends in flight finish (each within its timeout) rather than cut them off and
        // record them as failures; nothing new starts.
        await webhooks.finishInFlight()
        await customerIO.finishInFlight()
        await transport.shutdown()
    }
}
