import TroveCore

/// Webhook endpoints and their deliveries (`/v3/edit/webhooks`, contract §10).
extension ChameleonJSON {
    static func endpoint(_ e: WebhookEndpoint) -> JSON {
        var members = [
            JSONMember("id", .id(e.id)),
            JSONMember("uid", .string(e.url)),
            JSONMember("name", .string(e.name)),
            JSONMember("topics", .strings(e.topics)),
            JSONMember("event_names", e.eventNames.map(JSON.strings) ?? .null),
        ]
        if let secret = e.secret { members.append(JSONMember("secret", .string(secret))) }
        members += [
            JSONMember("enabled", .bool(e.enabled)),
            JSONMember("last_item_at", .time(e.lastItemAt)),
            JSONMember("last_item_state", .string(e.lastItemState)),
            JSONMember("last_item_error", .string(e.lastItemError)),
            JSONMember("created_at", .time(e.createdAt)),
        ]
        return .object(members)
    }

    static func delivery(_ d: WebhookDelivery) -> JSON {
        .object([
            JSONMember("id", .id(d.id)),
            JSONMember("envelope_id", .string(d.envelopeID)),
            JSONMember("kind", .string(d.kind)),
            JSONMember("state", .string(d.state.rawValue)),
            JSONMember("attempts", .int(d.attempts)),
            JSONMember("next_attempt_at", .time(d.nextAttemptAt)),
            JSONMember("last_status", .int(d.lastStatus)),
            JSONMember("last_error", .string(d.lastError)),
        ])
    }

    /// `{url, topics, name, event_names, enabled}`: the types here; the values are checked by the store.
    static func endpointChange(_ body: JSON) throws(WebhookError) -> WebhookEndpointChange {
        guard case .object = body else { throw .invalid("body: expected a JSON object {url, topics, name}") }
        var c = WebhookEndpointChange()
        switch body["url"] {
        case nil: break
        case .string(let url)?: c.url = url
        default: throw .invalid("url: required, an https URL")
        }
        switch body["name"] {
        case nil, .null?: break
        case .string(let name)?: c.name = name
        default: throw .invalid("name: must be a string of at most 255 bytes")
        }
        switch body["topics"] {
        case nil: break
        case .array(let values)?:
            c.topics = try values.enumerated().map { i, value throws(WebhookError) in
                guard case .string(let topic) = value else { throw .invalid("topics[\(i)]: must be one of \(Webhooks.topics.joined(separator: ", "))") }
                return topic
            }
        default: throw .invalid("topics: required, an array of \(Webhooks.topics.joined(separator: ", "))")
        }
        switch body["event_names"] {
        case nil: break
        case .null?: c.eventNames = .some(nil)
        case .array(let values)?:
            c.eventNames = .some(try values.enumerated().map { i, value throws(WebhookError) in
                guard case .string(let name) = value else { throw .invalid("event_names[\(i)]: must be an event name") }
                return name
            })
        default: throw .invalid("event_names: must be an array of event names (or null for all)")
        }
        switch body["enabled"] {
        case nil: break
        case .bool(let b)?: c.enabled = b
        default: throw .invalid("enabled: must be true or false")
        }
        return c
    }
}
