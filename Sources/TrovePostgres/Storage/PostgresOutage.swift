import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// Whether the server is answering, as the statements found. A statement that finds it gone marks an
/// outage; while one lasts, statements fail at once (a 503 with Retry-After) instead of waiting in the
/// pool for a connection it cannot open, and a probe tries a fresh connection every `probeEvery` until one
/// opens, which ends the outage: everything resumes without a restart.
final class PostgresOutage: Sendable {
    let location: PostgresLocation
    let logger: Logger
    let probeEvery: Duration
    private let state = Mutex<(down: Bool, probing: Bool)>((false, false))

    init(location: PostgresLocation, logger: Logger, probeEvery: Duration = .milliseconds(500)) {
        self.location = location
        self.logger = logger
        self.probeEvery = probeEvery
    }

    var isDown: Bool { state.withLock { $0.down } }

    /// Throws `.unavailable` while an outage lasts.
    func check() throws(PostgresStoreError) {
        if isDown { throw .unavailable("\(location): the server is not answering; Trove reconnects on its own") }
    }

    /// A statement's failure, mapped; an unreachable or unavailable server starts an outage.
    func failed(_ error: any Error) -> PostgresStoreError {
        let mapped = PostgresStoreError.from(error, location: location)
        switch mapped {
        case .unavailable, .unreachable: begin()
        default: break
        }
        return mapped
    }

    private func begin() {
        let startProbe = state.withLock { s in
            s.down = true
            defer { s.probing = true }
            return !s.probing
        }
        guard startProbe else { return }
        logger.warning("PostgreSQL at \(location) is not answering; requests get 503 until it is back")
        Task { await probe() }
    }

    private func probe() async {
        while true {
            try? await Task.sleep(for: probeEvery)
            do {
                let connection = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(), configuration: try PostgresAppDatabase.connectionConfiguration(location),
                    id: 0, logger: logger
                ).get()
                try await connection.query("SELECT 1", logger: logger)
                try? await connection.close().get()
                state.withLock { $0 = (false, false) }
                logger.notice("PostgreSQL at \(location) answers again")
                return
            } catch {
                continue
            }
        }
    }
}
