/// Receives Customer.io reporting webhooks (contract §9): signature check when the account set a signing key,
/// dedupe on `event_id`, the event and (for subscribed/unsubscribed) the profile's `unsubscribed`
/// written in one transaction.
public struct CustomerIOSource: Sendable {
    public let ingestor: Ingestor
    public let settings: CustomerIOSourceSettings

    public init(ingestor: Ingestor, settings: CustomerIOSourceSettings) {
        self.ingestor = ingestor
        self.settings = settings
    }

    /// What happened to a webhook: stored as a new event, or a repeat of one already stored.
    public struct Receipt: Sendable, Equatable {
        public var eventID: Int64
        public var duplicate: Bool
    }

    public func receive(account: Int64, body: [UInt8], signature: String?, timestamp: String?) async throws -> Receipt {
        guard body.count <= Ingestor.maxObjectBytes else { throw IngestError.tooLarge("body over 1 MiB") }
        let now = ingestor.clock.now()
        if let key = try await settings.signingKey(account: account) {
            try CustomerIOWebhook.verify(body: body, signature: signature, timestamp: timestamp, key: key, now: now)
        }
        let parsed = try CustomerIOWebhook.parse(try Ingestor.parseBody(body), now: now)
        let outcome = try await ingestor.store.write { session in
            let outcome = try session.insertEvent(parsed.event, account: account, onMissing: .create)
            if case .stored = outcome, let profile = parsed.profile {
                _ = try session.upsertProfile(profile, account: account, onMissing: .create)
            }
            return outcome
        }
        switch outcome {
        case .stored(let id): return Receipt(eventID: id, duplicate: false)
        case .duplicate(let id): return Receipt(eventID: id, duplicate: true)
        default: throw IngestError.invalid("the webhook was not stored")
        }
    }
}
