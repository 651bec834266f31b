import Logging
import ServiceLifecycle
import TroveCore

/// Runs export jobs in the background (contract §7): at start it picks up whatever a stop left pending, then
/// looks for new jobs and expired files every `interval`.
struct ExportService: Service {
    let runner: any ExportWork
    var interval: Duration = .milliseconds(200)
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if try await runner.step() { continue }
                    try await runner.clock.sleep(for: interval)
                } catch where error.isStopping {
                    return
                } catch {
                    logger.error("export runner failed; retrying in 1 s: \(error)")
                    try await runner.clock.sleep(for: .seconds(1))
                }
            }
        }
    }
}
