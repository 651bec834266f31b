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

    /// From stored columns (any engine): `topics` and `eventNames` as the stored JSON arrays' text.
    public init(id: Int64, url: String, name: String, topics: String, eventNames: String?, secret: String?, enabled: Bool, lastItemAt: Int64?,
                lastItemState: String?, lastItemError: String?, createdAt: Int64) throws(StoredDataError) {
        self.id = id
        self.url = url
        self.name = name
        self.topics = try StoredJSON.strings(topics, "webhook_endpoints", "topics", id: id)
        self.eventNames = try eventNames.map { text throws(StoredDataError) in try StoredJSON.strings(text, "webhook_endpoints", "event_names", id: id) }
        self.secret = secret
        self.enabled = enabled
        self.lastItemAt = lastItemAt.map(Timestamp.init(milliseconds:))
        self.lastItemState = lastItemState
        self.lastItemError = lastItemError
        self.createdAt = Timestamp(milliseconds: createdAt)
    }
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
    public static func newEnvelopeID() -> String { "whd_" + Credentials.randomToken(bytes: 12) }

    /// From stored columns (any engine).
    public init(id: Int64, envelopeID: String, kind: String, state: String, attempts: Int64, nextAttemptAt: Int64, lastStatus: Int64?,
                lastError: String?) throws(StoredDataError) {
        let state = try State(stored: state, table: "webhook_deliveries", id: id)
        self.id = id
        self.envelopeID = envelopeID
        self.kind = kind
        self.state = state
        self.attempts = Int(attempts)
        self.nextAttemptAt = state == .pending ? Timestamp(milliseconds: nextAttemptAt) : nil
        self.lastStatus = lastStatus.map(Int.init)
        self.lastError = lastError
    }
}

extension WebhookDelivery.State {
    /// A state column's value; anything else is stored data Trove did not write.
    public init(stored text: String, table: String, id: Int64) throws(StoredDataError) {
        guard let state = Self(rawValue: text) else { throw StoredDataError(table: table, column: "state", id: id, reason: "unknown state \"\(text)\"") }
        self = state
    }
}
