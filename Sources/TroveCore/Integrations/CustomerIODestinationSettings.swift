import Foundation

/// `PUT/GET/DELETE /v3/edit/integrations/customerio` (contract §10): the destination's settings per account;
/// the rules (the settings document, where calls may go); the rows are the engine's `IntegrationStore`.
public struct CustomerIODestinationSettings: Sendable {
    public let store: any IntegrationStore
    public let clock: TroveClock
    public let policy: WebhookAddressPolicy

    public init(store: any IntegrationStore, clock: TroveClock = .system, policy: WebhookAddressPolicy = WebhookAddressPolicy()) {
        self.store = store
        self.clock = clock
        self.policy = policy
    }

    /// The settings with the outbox's counts, as the API and the admin UI show them.
    public struct State: Sendable {
        public var destination: CustomerIODestination
        public var pending: Int
        public var delivered: Int
        public var failed: Int
        public var updatedAt: Timestamp?

        /// `counts`: the outbox's rows per stored state; an unknown state is stored data Trove did not write.
        public init(destination: CustomerIODestination, counts: [(state: String, count: Int)], updatedAt: Int64?) throws(StoredDataError) {
            self.destination = destination
            (pending, delivered, failed) = (0, 0, 0)
            self.updatedAt = updatedAt.map(Timestamp.init(milliseconds:))
            for (state, count) in counts {
                switch state {
                case "pending": pending = count
                case "delivered": delivered = count
                case "failed": failed = count
                case let other: throw StoredDataError(table: "customerio_deliveries", column: "state", id: nil, reason: "unknown state \"\(other)\"")
                }
            }
        }
    }

    /// Sets the destination from its settings document (`CustomerIODestination.parse`); an `api_key` left out
    /// keeps the current one.
    public func update(account: Int64, document: JSON) async throws -> State {
        try await store.saveDestination(account: account, now: clock.now()) { [policy] current in
            let destination = try CustomerIODestination.parse(document, current: current)
            if let url = destination.trackURL {
                do { _ = try policy.check(url: url) } catch { throw DestinationError.invalid("track_url: \(error)") }
            }
            return destination
        }
    }

    public func show(account: Int64) async throws -> State {
        try await store.destinationState(account: account)
    }

    /// Removes the settings; what was still waiting to go out is marked failed (kept, visible).
    public func delete(account: Int64) async throws {
        try await store.deleteDestination(account: account, now: clock.now())
    }

    /// `GET /v3/edit/integrations/customerio/deliveries?state=`: newest first.
    public func deliveries(account: Int64, state: WebhookDelivery.State?, limit: Int) async throws -> [CustomerIODelivery] {
        try await store.destinationDeliveries(account: account, state: state, limit: limit)
    }

    /// `POST /v3/edit/integrations/customerio/deliveries/:id/retry`: a failed delivery is due again now,
    /// with a fresh 24 hours of retries.
    public func retry(account: Int64, delivery: Int64) async throws -> CustomerIODelivery {
        try await store.retryDestinationDelivery(account: account, delivery: delivery, now: clock.now())
    }
}

/// One call (or series of calls) to Customer.io in the outbox.
public struct CustomerIODelivery: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var profileID: Int64
    /// Nil once the profile is gone.
    public var profileUID: String?
    /// Who the person is in Customer.io; nil when the profile had no identifier.
    public var identifier: String?
    public var customerIOSegmentID: String?
    public var state: WebhookDelivery.State
    public var attempts: Int
    public var nextAttemptAt: Timestamp?
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Timestamp
    public var deliveredAt: Timestamp?

    /// From stored columns (any engine); `profileUID` from the profile, nil once it is gone.
    public init(id: Int64, kind: String, profileID: Int64, profileUID: String?, identifier: String?, target: String?, state: String, attempts: Int64,
                nextAttemptAt: Int64, lastStatus: Int64?, lastError: String?, createdAt: Int64, deliveredAt: Int64?) throws(StoredDataError) {
        let state = try WebhookDelivery.State(stored: state, table: "customerio_deliveries", id: id)
        self.id = id
        self.kind = kind
        self.profileID = profileID
        self.profileUID = profileUID
        self.identifier = identifier
        self.customerIOSegmentID = target
        self.state = state
        self.attempts = Int(attempts)
        self.nextAttemptAt = state == .pending ? Timestamp(milliseconds: nextAttemptAt) : nil
        self.lastStatus = lastStatus.map(Int.init)
        self.lastError = lastError
        self.createdAt = Timestamp(milliseconds: createdAt)
        self.deliveredAt = deliveredAt.map(Timestamp.init(milliseconds:))
    }
}
