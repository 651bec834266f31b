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
}
