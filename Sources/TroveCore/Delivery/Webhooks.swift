import Foundation

/// Webhook endpoints and their deliveries as `/v3/edit/webhooks` shows them (contract §10): the rules
/// (addresses, topics, event names, secrets); the rows are the engine's `WebhookStore`. Deliveries are
/// enqueued here (ping, retry by hand) and by the changes that cause them, in their own transactions;
/// `WebhookDeliverer` sends them.
public struct Webhooks: Sendable {
    public let store: any WebhookStore
    public let clock: TroveClock
    public let policy: WebhookAddressPolicy

    public init(store: any WebhookStore, clock: TroveClock = .system, policy: WebhookAddressPolicy = WebhookAddressPolicy()) {
        self.store = store
        self.clock = clock
        self.policy = policy
    }

    public static let topics = ["ping", "segment.entered", "segment.exited", "export.finished", "event.created"]

    /// The change with its values checked (the address against the policy, topics known and not empty, event
    /// names normalized); `creating` requires `url` and `topics`.
    func checked(_ change: WebhookEndpointChange, creating: Bool) throws(WebhookError) -> WebhookEndpointChange {
        var c = change
        if let url = c.url {
            do { _ = try policy.check(url: url) } catch { throw .invalid(error.description) }
        } else if creating {
            throw .invalid("url: required, an https URL")
        }
        if let name = c.name, name.utf8.count > 255 { throw .invalid("name: must be a string of at most 255 bytes") }
        if let topics = c.topics {
            var unique: [String] = []
            for (i, topic) in topics.enumerated() {
                guard Self.topics.contains(topic) else { throw .invalid("topics[\(i)]: must be one of \(Self.topics.joined(separator: ", "))") }
                if !unique.contains(topic) { unique.append(topic) }
            }
            guard !unique.isEmpty else { throw .invalid("topics: at least one topic") }
            c.topics = unique
        } else if creating {
            throw .invalid("topics: required, an array of \(Self.topics.joined(separator: ", "))")
        }
        if case .some(.some(let names)) = c.eventNames {
            c.eventNames = .some(try names.enumerated().map { i, name throws(WebhookError) in
                let normalized = NameNormalizer.normalize(name)
                guard !normalized.isEmpty else { throw .invalid("event_names[\(i)]: must be an event name") }
                return normalized
            })
        }
        return c
    }

    /// A signing secret, shown once.
    static func newSecret() -> String { "whsec_" + Credentials.randomToken(bytes: 24) }

    /// `POST /v3/edit/webhooks`: the only reply that shows the secret.
    public func create(account: Int64, _ change: WebhookEndpointChange) async throws -> WebhookEndpoint {
        try await store.insert(account: account, try checked(change, creating: true), secret: Self.newSecret(), now: clock.now())
    }

    public func list(account: Int64) async throws -> [WebhookEndpoint] {
        try await store.endpoints(account: account)
    }

    public func get(account: Int64, id: Int64) async throws -> WebhookEndpoint {
        try await store.endpoint(account: account, id: id)
    }

    /// `PATCH /v3/edit/webhooks/:id {url?, topics?, enabled?, name?, event_names?}`.
    public func update(account: Int64, id: Int64, _ change: WebhookEndpointChange) async throws -> WebhookEndpoint {
        try await store.update(account: account, id: id, try checked(change, creating: false), now: clock.now())
    }

    /// `POST /:id/rotate_secret`: a new secret, shown once; deliveries from now on are signed with it.
    public func rotateSecret(account: Int64, id: Int64) async throws -> WebhookEndpoint {
        try await store.replaceSecret(account: account, id: id, secret: Self.newSecret(), now: clock.now())
    }

    public func delete(account: Int64, id: Int64) async throws {
        try await store.delete(account: account, id: id)
    }

    /// `POST /:id/ping`: a `ping` delivery, due now.
    public func ping(account: Int64, id: Int64) async throws -> WebhookDelivery {
        try await store.enqueue(account: account, endpoint: id, kind: "ping", data: ["webhook_id": .string(PublicID.encode(id))], now: clock.now())
    }

    /// `GET /:id/deliveries`: newest first.
    public func deliveries(account: Int64, endpoint: Int64, limit: Int) async throws -> [WebhookDelivery] {
        try await store.deliveries(account: account, endpoint: endpoint, limit: limit)
    }

    /// `POST /:id/deliveries/:delivery_id/retry`: a failed (or pending) delivery is due again now, with a
    /// fresh set of retries.
    public func retry(account: Int64, endpoint: Int64, delivery: Int64) async throws -> WebhookDelivery {
        try await store.resetDelivery(account: account, endpoint: endpoint, delivery: delivery, now: clock.now())
    }
}

extension Webhooks {
    /// `segment.entered` / `segment.exited`'s `data` (contract §10) for one ledger row. (SQLite's outbox
    /// writes the same object in SQL, `WebhookOutbox.enqueueSegmentChanges`.)
    public static func segmentChangeData(segment: Int64, name: String, profile: Int64, uid: String?, email: String?, at: Timestamp,
                                         version: Int64) -> JSON {
        .object([
            JSONMember("segment", .object([JSONMember("id", .string(PublicID.encode(segment))), JSONMember("name", .string(name))])),
            JSONMember("profile", .object([
                JSONMember("id", .string(PublicID.encode(profile))), JSONMember("uid", uid.map(JSON.string) ?? .null),
                JSONMember("email", email.map(JSON.string) ?? .null),
            ])),
            JSONMember("at", .string(at.iso8601)),
            JSONMember("version", .int(version)),
        ])
    }
}
