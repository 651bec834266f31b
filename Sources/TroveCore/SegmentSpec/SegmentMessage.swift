/// One message of Segment's tracking API (contract §14) as the writes it stands for, built from the same
/// inputs the hooks and the Track API produce, so §4's normalization and the identity rules stay single.
/// `context` and `integrations` are not kept: they describe the sending library and device, cost bytes on
/// every event, and no segment or report reads them.
public struct SegmentMessage: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case identify, track, page, screen, group, alias
    }

    /// What the message writes, in order, in the request's transaction.
    enum Step: Sendable {
        /// A profile, company or event through the shared rules.
        case item(Ingestor.Item)
        /// An event of a visitor not identified yet, kept under its anonymous id (contract §8).
        case anonymousEvent(EventInput, anonymousID: String)
        /// A profile upserted, then that visitor's recent anonymous events moved to it.
        case merge(ProfileInput, anonymousID: String)
    }

    let kind: Kind
    let steps: [Step]

    /// Event names of the `page` and `screen` calls (Segment's own names for them downstream).
    public static let pageEventName = "Viewed Page"
    public static let screenEventName = "Viewed Screen"
    static let pageViewed = (name: pageEventName, nameUID: NameNormalizer.normalize(pageEventName))
    static let screenViewed = (name: screenEventName, nameUID: NameNormalizer.normalize(screenEventName))

    /// `kind`: the call's path (`/v1/track`), or nil inside a batch, where each message's `type` says.
    /// `sentAt`: the batch's, used when the message has none. Errors name fields as Segment does.
    static func parse(_ json: JSON, kind pathKind: Kind?, sentAt batchSentAt: Timestamp?, receivedAt: Timestamp) throws(IngestError) -> SegmentMessage {
        guard case .object = json else { throw .invalid("expected a JSON object (a message), got \(json.typeName)") }
        let kind: Kind
        if let pathKind {
            kind = pathKind
        } else {
            guard case .string(let type)? = json["type"] else {
                throw .invalid("type: required, one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let k = Kind(rawValue: type) else {
                throw .invalid("type: \"\(ValueNormalizer.prefix(type, maxBytes: 64))\" is not one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kind = k
        }
        let userID = try Identifiers.key(json["userId"], field: "userId")
        let anonymousID = try Identifiers.key(json["anonymousId"], field: "anonymousId")
        let time = try Self.time(json, batchSentAt: batchSentAt, receivedAt: receivedAt)
        let normalizer = ValueNormalizer(now: receivedAt)
        let identity = userID.map { [JSONMember("uid", .string($0))] } ?? []

        switch kind {
        case .identify:
            let traits = try Self.object(json["traits"], field: "traits")
            var members = identity
            var email: JSON?
            for trait in traits {
                switch NameNormalizer.normalize(trait.key) {
                // The message's ids name the person; a trait cannot rename or re-point it.
                case "id", "uid", "user_id", "anonymous_id": continue
                case "email": email = trait.value
                case "company": if let link = try Self.company(trait.value) { members.append(JSONMember("company", link)) }
                default: members.append(trait)
                }
            }
            if let email, email != .null { members.append(JSONMember("email", email)) }
            if !members.contains(where: { $0.key == "company" }), let group = try Identifiers.key(json["groupId"] ?? json["context"]?["groupId"], field: "groupId") {
                members.append(JSONMember("company_uid", .string(group)))
            }
            guard userID != nil || (email != nil && email != .null) else {
                throw .invalid("userId: required for identify (or traits.email): Trove keeps no profile for an anonymousId alone")
            }
            var profile = try ProfileInput.parse(.object(members), normalizer: normalizer)
            profile.createsByEmail = true
            return SegmentMessage(kind: kind, steps: [anonymousID.map { .merge(profile, anonymousID: $0) } ?? .item(.profile(profile))])

        case .track, .page, .screen:
            var properties = try Self.object(json["properties"], field: "properties")
            let name: (name: String, nameUID: String)
            switch kind {
            case .track:
                guard let event = json["event"], event != .null else { throw .invalid("event: required for track (the event's name)") }
                name = try EventInput.eventName(event, field: "event")
            case .page, .screen:
                // The page's or screen's own name and category become properties of the one event name.
                for field in ["category", "name"] {
                    if let value = json[field], value != .null {
                        properties.removeAll { $0.key == field }
                        properties.insert(JSONMember(field, value), at: 0)
                    }
                }
                name = kind == .page ? Self.pageViewed : Self.screenViewed
            default: preconditionFailure("not an event call")
            }
            guard userID != nil || anonymousID != nil else { throw .invalid("userId or anonymousId: required") }
            // An anonymous event is kept without a profile; the writer does not read its uid.
            var event = EventInput(
                uid: userID ?? "anonymous", email: nil, profileID: nil, name: name.name, nameUID: name.nameUID, timestamp: time,
                dedupeKey: try Identifiers.key(json["messageId"], field: "messageId"), source: .segment, properties: [], propertiesJSON: nil,
                warnings: [])
            try event.setData(properties, normalizer: normalizer)
            if userID == nil, let anonymousID { return SegmentMessage(kind: kind, steps: [.anonymousEvent(event, anonymousID: anonymousID)]) }
            return SegmentMessage(kind: kind, steps: [.item(.event(event))])

        case .group:
            guard let group = try Identifiers.key(json["groupId"], field: "groupId") else { throw .invalid("groupId: required for group") }
            var company = [JSONMember("uid", .string(group))]
            for trait in try Self.object(json["traits"], field: "traits") {
                switch NameNormalizer.normalize(trait.key) {
                case "id", "uid", "group_id": continue
                default: company.append(trait)
                }
            }
            guard userID != nil || anonymousID != nil else { throw .invalid("userId or anonymousId: required") }
            // With a user, one profile write upserts the company and links the person to it.
            if userID != nil {
                let profile = try ProfileInput.parse(.object(identity + [JSONMember("company", .object(company))]), normalizer: normalizer)
                return SegmentMessage(kind: kind, steps: [.item(.profile(profile))])
            }
            return SegmentMessage(kind: kind, steps: [.item(.company(try CompanyInput.parse(.object(company), normalizer: normalizer)))])

        case .alias:
            guard userID != nil else { throw .invalid("userId: required for alias (the identity the previous one joins)") }
            guard let previous = try Identifiers.key(json["previousId"], field: "previousId") else { throw .invalid("previousId: required for alias") }
            let profile = try ProfileInput.parse(.object(identity), normalizer: normalizer)
            return SegmentMessage(kind: kind, steps: [.merge(profile, anonymousID: previous)])
        }
    }

    /// `traits.company` as the hooks' company object: linked by its `id`; without one there is no company
    /// to name (Trove keys companies by uid), so it is left out.
    static func company(_ value: JSON) throws(IngestError) -> JSON? {
        switch value {
        case .null: return nil
        case .object(let members):
            guard let id = try Identifiers.key(members.last(where: { $0.key == "id" })?.value, field: "traits.company.id") else { return nil }
            return .object([JSONMember("uid", .string(id))] + members.filter { $0.key != "id" && $0.key != "uid" })
        case .string, .int:
            return .object([JSONMember("uid", .string(try Identifiers.key(value, field: "traits.company")!))])
        default:
            throw .invalid("traits.company: must be an object with an id, got \(value.typeName)")
        }
    }

    /// A `sentAt` (the message's, or the batch's once for all its messages); nil when absent.
    static func sentAt(_ value: JSON?, receivedAt: Timestamp) throws(IngestError) -> Timestamp? {
        guard let value, value != .null else { return nil }
        do {
            return try EventInput.eventTime(value, now: receivedAt)
        } catch {
            throw .invalid("sentAt: must be an ISO-8601 time (or unix seconds) in the years 0000–9999")
        }
    }

    static func object(_ value: JSON?, field: String) throws(IngestError) -> [JSONMember] {
        switch value {
        case nil, .null?: return []
        case .object(let members)?: return members
        case let other?: throw .invalid("\(field): must be an object, got \(other.typeName)")
        }
    }

    /// When it happened: the message's `timestamp` (or `originalTimestamp`), moved by the sender's clock
    /// skew when the sender says when it sent the message (`sentAt`, the message's or the batch's):
    /// `receivedAt − (sentAt − timestamp)`, Segment's correction. Without a time, when it was received.
    static func time(_ json: JSON, batchSentAt: Timestamp?, receivedAt: Timestamp) throws(IngestError) -> Timestamp {
        let stated = json["timestamp"].flatMap { $0 == .null ? nil : $0 } ?? json["originalTimestamp"].flatMap { $0 == .null ? nil : $0 }
        guard let stated else { return receivedAt }
        let at = try EventInput.eventTime(stated, now: receivedAt)
        guard let sent = try sentAt(json["sentAt"], receivedAt: receivedAt) ?? batchSentAt else { return at }
        let corrected = Timestamp(milliseconds: at.milliseconds + (receivedAt.milliseconds - sent.milliseconds))
        return corrected.isRepresentable ? corrected : at
    }
}
