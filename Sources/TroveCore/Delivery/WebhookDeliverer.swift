import Foundation
import Logging

/// Sends due webhook deliveries (contract §10): each attempt gets a fresh `sent_at` and signature over the
/// exact bytes sent, the same envelope `id`; any 2xx is delivered, anything else is retried on the
/// schedule, then `failed`. Every endpoint has its own bounded set of attempts in flight, so a slow or
/// failing endpoint never holds up another; a crash leaves the in-flight rows pending, to be sent again.
public actor WebhookDeliverer {
    public let store: any WebhookStore
    public let clock: TroveClock
    let transport: any OutgoingTransport
    let policy: WebhookAddressPolicy
    let logger: Logger
    public static let timeout: Duration = .seconds(7)
    public static let perEndpoint = 4
    public static let userAgent = "Trove-Webhooks/1.0"

    private var inFlight: [Int64: Set<Int64>] = [:]  // endpoint → deliveries being sent
    private var settled = SettledRows()
    /// Attempts ended so far: `drain` waits on it instead of reading the store again meanwhile.
    private var ended = 0

    public init(store: any WebhookStore, clock: TroveClock = .system, transport: any OutgoingTransport, policy: WebhookAddressPolicy,
                logger: Logger = Logger(label: "trove.webhooks")) {
        self.store = store
        self.clock = clock
        self.transport = transport
        self.policy = policy
        self.logger = logger
    }

    /// Starts sending what is due (without waiting for it); returns how many attempts it started.
    @discardableResult
    public func dispatch() async throws -> Int {
        let now = clock.now()
        let read = settled.beginRead()
        // Each endpoint's own earliest due rows, so a backlog at one endpoint never hides another's.
        let busy = inFlight.mapValues(\.count)
        let due = try await store.due(now: now) { endpoint in
            // A few more than there is room for: rows another dispatch just settled are skipped below.
            let room = Self.perEndpoint - (busy[endpoint] ?? 0)
            return room > 0 ? room + Self.perEndpoint : 0
        }
        settled.trust(read: read)
        var started = 0
        var left: [WebhookDue] = []
        for delivery in due {
            var running = inFlight[delivery.endpoint] ?? []
            if running.contains(delivery.id) || settled.isStale(delivery.id, read: read) { continue }
            guard running.count < Self.perEndpoint else {
                left.append(delivery)
                continue
            }
            running.insert(delivery.id)
            inFlight[delivery.endpoint] = running
            started += 1
            Task { await self.attempt(delivery) }
        }
        // Claimed for this process (an engine shared by several) but not sent now: the others may take them.
        if !left.isEmpty { try await store.release(left) }
        return started
    }

    /// Sends due deliveries until none is due or in flight (tests, the CLI).
    public func drain() async throws {
        while true {
            // Idle before the read began: no attempt could finish during it, so it saw everything.
            let idleBefore = inFlight.values.allSatisfy(\.isEmpty)
            let seen = ended
            let started = try await dispatch()
            if idleBefore && started == 0 && inFlight.values.allSatisfy(\.isEmpty) { return }
            // Until an attempt ends nothing new is due (the store is read again only then: a slow
            // endpoint once had this loop read it 200 times a second).
            repeat { try await Task.sleep(for: .milliseconds(5)) } while ended == seen && !inFlight.values.allSatisfy(\.isEmpty)
        }
    }

    /// Waits until no attempt is in flight (a graceful stop: none is cut off and counted as a failure; each
    /// ends within the request timeout). Returns at once if the caller is cancelled.
    public func finishInFlight() async {
        while !inFlight.values.allSatisfy(\.isEmpty), !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
    }

    func attempt(_ d: WebhookDue) async {
        defer {
            settled.settle(d.id)
            inFlight[d.endpoint]?.remove(d.id)
            ended += 1
        }
        let sentAt = clock.now()
        var status: Int?
        var failure: String?
        do {
            // A stored payload that does not parse fails the delivery with that reason; never sent as null.
            let data = try d.data()
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

    func record(_ d: WebhookDue, status: Int?, failure: String?) async {
        let now = clock.now()
        let attempts = d.attempts + 1
        let next = failure == nil ? nil : RetrySchedule.nextWebhookAttempt(after: attempts, at: now)
        do {
            try await store.recordAttempt(d, attempts: attempts, status: status, failure: failure, retryAt: next, now: now)
            TroveMetrics.delivery("webhook", outcome: failure == nil ? "delivered" : next == nil ? "failed" : "retrying")
        } catch {
            logger.error("could not record webhook delivery \(d.id): \(error)")
        }
    }
}
