import TroveCore

/// The Customer.io destination and source settings, and the destination's outbox (`/v3/edit/integrations`).
extension ChameleonJSON {
    static func destination(_ s: CustomerIODestinationSettings.State) -> JSON {
        var members = s.destination.document
        members.insert(JSONMember("api_key_hint", .string(s.destination.apiKeyHint)), at: 1)
        return ["integration": .object([JSONMember("name", "customerio")] + members + [
            JSONMember("deliveries", ["pending": .int(s.pending), "delivered": .int(s.delivered), "failed": .int(s.failed)]),
            JSONMember("updated_at", .time(s.updatedAt)),
        ])]
    }

    static func delivery(_ d: CustomerIODelivery) -> JSON {
        .object([
            JSONMember("id", .id(d.id)),
            JSONMember("kind", .string(d.kind)),
            JSONMember("profile", .object([JSONMember("id", .id(d.profileID)), JSONMember("uid", .string(d.profileUID))])),
            JSONMember("identifier", .string(d.identifier)),
            JSONMember("customerio_segment_id", .string(d.customerIOSegmentID)),
            JSONMember("state", .string(d.state.rawValue)),
            JSONMember("attempts", .int(d.attempts)),
            JSONMember("next_attempt_at", .time(d.nextAttemptAt)),
            JSONMember("last_status", .int(d.lastStatus)),
            JSONMember("last_error", .string(d.lastError)),
            JSONMember("created_at", .time(d.createdAt)),
            JSONMember("delivered_at", .time(d.deliveredAt)),
        ])
    }

    static func source(_ s: CustomerIOSourceSettings.State) -> JSON {
        ["integration": .object([
            JSONMember("name", "customerio-source"),
            JSONMember("signing_key_set", .bool(s.signingKeySet)),
            JSONMember("signing_key_hint", .string(s.signingKeyHint)),
            JSONMember("updated_at", .time(s.updatedAt)),
        ])]
    }

    /// `{"signing_key": "…" | null}`: the key to set, or nil to stop checking signatures.
    static func signingKey(_ body: JSON) throws(IngestError) -> String? {
        guard case .object = body else { throw .invalid("body: expected {\"signing_key\": \"…\"}") }
        switch body["signing_key"] {
        case .string(let key)?: return key
        case .null?: return nil
        default: throw .invalid("signing_key: required, a string (or null to stop checking signatures)")
        }
    }

    /// `?state=pending|delivered|failed`.
    static func deliveryState(_ text: String?) throws(DestinationError) -> WebhookDelivery.State? {
        guard let text else { return nil }
        guard let state = WebhookDelivery.State(rawValue: text) else { throw .invalid("state: must be pending, delivered or failed") }
        return state
    }

    /// `{customerio_segment_id, app_api_key, api_url?}`: the types here; the values are checked by the import.
    static func segmentImport(_ body: JSON) throws(DestinationError) -> CustomerIOSegmentImport.Request {
        guard case .object = body else { throw .invalid("body: expected {customerio_segment_id, app_api_key, api_url?}") }
        let remote: String
        switch body["customerio_segment_id"] {
        case .int(let n)? where n > 0: remote = String(n)
        case .string(let s)?: remote = s
        default: throw .invalid("customerio_segment_id: required, the id of the Customer.io segment")
        }
        guard case .string(let key)? = body["app_api_key"] else { throw .invalid("app_api_key: required, a Customer.io App API key") }
        switch body["api_url"] {
        case nil, .null?: return CustomerIOSegmentImport.Request(customerIOSegmentID: remote, appAPIKey: key)
        case .string(let url)?: return CustomerIOSegmentImport.Request(customerIOSegmentID: remote, appAPIKey: key, apiURL: url)
        default: throw .invalid("api_url: must be a string")
        }
    }

    static func segmentImport(_ r: CustomerIOSegmentImport.Result) -> JSON {
        ["import": .object([
            JSONMember("customerio_segment_id", .string(r.customerIOSegmentID)),
            JSONMember("pages", .int(r.pages)),
            JSONMember("people", .int(r.people)),
            JSONMember("matched", .int(r.matched)),
            JSONMember("unmatched", .int(r.unmatched)),
            JSONMember("added", .int(r.added)),
            JSONMember("removed", .int(r.removed)),
        ])]
    }
}
