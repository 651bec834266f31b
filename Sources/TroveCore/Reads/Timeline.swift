/// A person's activity timeline (contract §5 `GET /v3/analyze/events`): their events newest first, a page at a
/// time.
public struct TimelineRequest: Sendable, Equatable {
    public static let defaultLimit = 50
    public static let maxLimit = 500

    public var person: ObjectLookup
    /// Only events of this name, normalized as stored names are (`NameNormalizer`).
    public var nameUID: String?
    public var limit: Int
    public var before: TimelineCursor?

    public init(person: ObjectLookup, name: String? = nil, limit: Int = defaultLimit, before: TimelineCursor? = nil) throws(ReadError) {
        guard (1...Self.maxLimit).contains(limit) else { throw .invalid("limit: must be a whole number from 1 to \(Self.maxLimit)") }
        if let name {
            let uid = NameNormalizer.normalize(name)
            guard !uid.isEmpty else { throw .invalid("name: \"\(name)\" has no letters or digits") }
            nameUID = uid
        }
        self.person = person
        self.limit = limit
        self.before = before
    }
}

/// Where the next page starts: after the event (`time`, `id`) in timeline order, with `next` the id of the
/// first linked event not yet shown (0: none). Opaque to clients: `"time.id.next"` in decimal.
public struct TimelineCursor: Sendable, Equatable {
    public var time: Int64
    public var id: Int64
    public var next: Int64

    public init(time: Int64, id: Int64, next: Int64) {
        self.time = time
        self.id = id
        self.next = next
    }

    public var text: String { "\(time).\(id).\(next)" }

    public init(text: String) throws(ReadError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let time = Int64(parts[0]), let id = Int64(parts[1]), let next = Int64(parts[2]), id > 0, next >= 0, next < id
        else { throw .invalid("before: not a cursor this API returned") }
        self.init(time: time, id: id, next: next)
    }
}

/// One event of a timeline, with its name as sent and its properties as stored.
public struct TimelineEvent: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var timestamp: Timestamp
    public var properties: [JSONMember]

    /// From stored columns (any engine): the name as shown, the stored properties' text (nil: none).
    public init(id: Int64, name: String, timestamp: Int64, properties: String?) throws(StoredDataError) {
        self.id = id
        self.name = name
        self.timestamp = Timestamp(milliseconds: timestamp)
        self.properties = try StoredJSON.properties(properties, "events", id: id)
    }
}

public struct TimelinePage: Sendable, Equatable {
    public var profileID: Int64
    public var uid: String?
    public var events: [TimelineEvent]
    public var limit: Int
    /// The cursor for the next page; nil when this one is the last.
    public var before: TimelineCursor?

    public init(profileID: Int64, uid: String?, events: [TimelineEvent], limit: Int, before: TimelineCursor?) {
        self.profileID = profileID
        self.uid = uid
        self.events = events
        self.limit = limit
        self.before = before
    }
}
