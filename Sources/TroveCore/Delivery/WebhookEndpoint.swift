/// A webhook endpoint as the API and the admin UI show it (contract §10).
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: Int64
    public var url: String
    public var name: String
    public var topics: [String]
    /// The event names `event.created` is limited to; nil for all.
    public var eventNames: [String]?
    /// Only in the replies that create the endpoint or rotate its secret.
    public var secret: String?
    public var enabled: Bool
    public var lastItemAt: Timestamp?
    public var lastItemState: String?
    public var lastItemError: String?
    public var createdAt: Timestamp
}

/// The fields a request sets on an endpoint; nil leaves a field as it is (on create, `url` and `topics`
/// are required). `eventNames` is `.some(nil)` to clear the filter.
public struct WebhookEndpointChange: Sendable, Equatable {
    public var url: String?
    public var name: String?
    public var topics: [String]?
    public var eventNames: [String]??
    public var enabled: Bool?

    public init(url: String? = nil, name: String? = nil, topics: [String]? = nil, eventNames: [String]?? = nil, enabled: Bool? = nil) {
        self.url = url
        self.name = name
        self.topics = topics
        self.eventNames = eventNames
        self.enabled = enabled
    }
}

/// One delivery of a webhook endpoint: its state in the outbox.
public struct WebhookDelivery: Sendable, Equatable {
    public enum State: String, Sendable { case pending, delivered, failed }

    public var id: Int64
    public var envelopeID: String
    public var kind: String
    public var state: State
    public var attempts: Int
    /// While pending.
    public var nextAttemptAt: Timestamp?
    public var lastStatus: Int?
    public var lastError: String?

    /// The envelope id a new delivery carries on every attempt (`whd_…`).
    static func newEnvelopeID() -> String { "whd_" + Credentials.randomToken(bytes: 12) }
}
