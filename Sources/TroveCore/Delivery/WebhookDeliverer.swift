import Foundation
import GRDB
import Logging

/// Sends due webhook deliveries (contract §10): each attempt gets a fresh `sent_at` and signature over the
/// exact bytes sent, the same envelope `id`; any 2xx is delivered, anything else is retried on the
/// schedule, then `failed`. Every endpoint has its own bounded set of attempts in flight, so a slow or
/// failing endpoint never holds up another; a crash leaves the in-flight rows pending, to be sent again.
public actor WebhookDeliverer {
    public let database: AppDatabase
    public let clock: TroveClock
    let transport: any OutgoingTransport
    let policy: WebhookAddressPolicy
    let logger: Logger
    public static let timeout: Duration = .seconds(7)
    public static let perEndpoint = 4
    public static let userAgent = "Trove-Webhooks/1.0"

    private var inFlight: [Int64: Set<Int64>] = [:]  // endpoint → deliveries being sent
    private var settled = SettledRows()

    public init(database: AppDatabase, clock: TroveClock = .system, transport: any OutgoingTransport, policy: WebhookAddressPolicy,
                logger: Logger = Logger(label: "trove.webhooks")) {
        self.database = database
        self.clock = clock
        self.transport = transport
        self.policy = policy
        self.logger = logger
    }

    struct Due: Sendable {
        var id: Int64, endpoint: Int64, url: String, secret: String, envelopeID: String, kind: String, data: String, attempts: Int
    }

    /// Starts sending what is due (without waiting for it); returns how many attempts it started.
    @discardableResult
    public func dispatch() async throws -> Int {
        let now = clock.now()
        let read = settled.beginRead()
        // Each endpoint's own earliest due rows, so a backlog at one endpoint never hides another's.
        let busy = inFlight.mapValues(\.count)
        let due = try await database.pool.read { db in
            var due: [Due] = []
            for e in try Row.fetchAll(db, sql: "SELECT id, url, secret FROM webhook_endpoints WHERE enabled = 1 ORDER BY id") {
                let endpoint: Int64 = e[0]
                let room = Self.perEndpoint - (busy[endpoint] ?? 0)
                guard room > 0 else { continue }
                due += try Row.fetchAll(db, sql: """
                    SELECT id, envelope_id, kind, data, attempts FROM webhook_deliveries
                    WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at, id LIMIT ?
                    """, arguments: [endpoint, now.milliseconds, room + Self.perEndpoint]).map {
                    Due(id: $0[0], endpoint: endpoint, url: e[1], secret: e[2], envelopeID: $0[1], kind: $0[2], data: $0[3], attempts: $0[4])
                }
            }
            return due
        }
        settled.trust(read: read)
        var started = 0
        for delivery in due where !settled.isStale(delivery.id, read: read) {
            var running = inFlight[delivery.endpoint] ?? []
            guard !running.contains(delivery.id), running.count < Self.perEndpoint else { continue }
            running.insert(delivery.id)
            inFlight[delivery.endpoint] = running
            started += 1
            Task { await self.attempt(delivery) }
        }
        return started
    }

    /// Sends due deliveries until none is due or in flight (tests, the CLI).
    public func drain() async throws {
        while true {
            // Idle before the read began: no attempt could finish during it, so it saw everything.
            let idleBefore = inFlight.values.allSatisfy(\.isEmpty)
            let started = try await dispatch()
            if idleBefore && started == 0 && inFlight.values.allSatisfy(\.isEmpty) { return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until no attempt is in flight (a graceful stop: none is cut off and counted as a failure; each
    /// ends within the request timeout). Returns at once if the caller is cancelled.
    public func finishInFlight() async {
        while !inFlight.values.allSatisfy(\.isEmpty), !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
    }

    func attempt(_ d: Due) async {
        defer {
            settled.settle(d.id)
            inFlight[d.endpoint]?.remove(d.id)
        }
        let sentAt = clock.now()
        var status: Int?
        var failure: String?
        do {
            // A stored payload that does not parse fails the delivery with that reason; never sent as null.
            let data = try StoredJSON.parse(d.data, "webhook_deliveries", "data", id: d.id)
            let envelope: JSON = .object([
                JSONMember("id", .string(d.envelopeID)), JSONMember("kind", .string(d.kind)),
                JSONMember("sent_at", .string(sentAt.iso8601)), JSONMember("data", data),
            ])
            let body = JSONWriter.bytes(envelope)
            let url = try await policy.checkResolved(url: d.url)
            let headers = [
                ("Content-Type", "application/json"), ("Accept", "application/json"), ("User-Agent", Self.userAgent),
                ("X-Chameleon-Id", d.envelopeID), ("X-Chameleon-Signature", WebhookSignature.sign(body: body, secret: d.secret)),
            ]
            let reply = try await transport.send(OutgoingRequest(method: "POST", to: url, headers: headers, body: body, timeout: Self.timeout))
            status = reply.status
            if !(200..<300).contains(reply.status) { failure = "HTTP \(reply.status): " + reply.bodyExcerpt }
        } catch let refusal as WebhookAddressPolicy.Refusal {
            failure = "refused: \(refusal.description)"
        } catch {
            failure = "\(error)"
        }
        await record(d, status: status, failure: failure)
    }

    func record(_ d: Due, status: Int?, failure: String?) async {
        let now = clock.now()
        let attempts = d.attempts + 1
        do {
            let outcome = try await database.pool.write { db in
                if let failure {
                    let next = RetrySchedule.nextWebhookAttempt(after: attempts, at: now)
                    try db.execute(
                        sql: """
                            UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?, state = ?, next_attempt_at = coalesce(?, next_attempt_at)
                            WHERE id = ? AND state = 'pending'
                            """,
                        arguments: [attempts, status, failure, next == nil ? "failed" : "pending", next?.milliseconds, d.id])
                    try db.execute(
                        sql: "UPDATE webhook_endpoints SET last_item_at = ?, last_item_state = ?, last_item_error = ? WHERE id = ?",
                        arguments: [now.milliseconds, next == nil ? "failed" : "retrying", failure, d.endpoint])
                    return next == nil ? "failed" : "retrying"
                } else {
                    try db.execute(
                        sql: "UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = NULL, state = 'delivered', delivered_at = ? WHERE id = ?",
                        arguments: [attempts, status, now.milliseconds, d.id])
                    try db.execute(
                        sql: "UPDATE webhook_endpoints SET last_item_at = ?, last_item_state = 'delivered', last_item_error = NULL WHERE id = ?",
                        arguments: [now.milliseconds, d.endpoint])
                    return "delivered"
                }
            }
            TroveMetrics.delivery("webhook", outcome: outcome)
        } catch {
            logger.error("could not record webhook delivery \(d.id): \(error)")
        }
    }
}
