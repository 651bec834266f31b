import Crypto
import Foundation

/// A reporting webhook refused for its signature or time (contract §9): 403.
public struct SignatureError: Error, Equatable, CustomStringConvertible {
    public var description: String
}

/// Customer.io reporting webhooks as a source (contract §9): each one becomes an event named
/// `"<Object type> <Metric> (Customer.io)"` on the profile it names, through the shared ingest path.
/// Only a malformed envelope or a bad signature is refused: Customer.io holds every later webhook back
/// behind one that keeps failing, so an unknown object type or metric is stored with a warning.
public enum CustomerIOWebhook {
    /// contract §9's metrics per object type.
    public static let metrics: [String: [String]] = [
        "customer": ["subscribed", "unsubscribed", "cio_subscription_preferences_changed"],
        "email": ["drafted", "attempted", "sent", "delivered", "opened", "clicked", "converted", "unsubscribed", "spammed",
                  "bounced", "dropped", "undeliverable", "failed", "deferred"],
        "push": ["drafted", "attempted", "sent", "delivered", "opened", "clicked", "converted", "bounced", "dropped", "failed", "undeliverable"],
        "sms": ["drafted", "attempted", "sent", "delivered", "clicked", "converted", "bounced", "failed", "undeliverable", "replied"],
        "whatsapp": ["drafted", "attempted", "sent", "delivered", "clicked", "converted", "bounced", "failed", "undeliverable", "replied",
                     "opened", "dropped"],
        "in_app": ["drafted", "attempted", "sent", "opened", "clicked", "converted", "failed", "undeliverable"],
        "slack": ["drafted", "attempted", "sent", "clicked", "converted", "failed", "undeliverable"],
        "webhook": ["drafted", "attempted", "sent", "clicked", "converted", "failed", "undeliverable"],
    ]

    static let objectNames = [
        "customer": "Customer", "email": "Email", "push": "Push", "sms": "SMS", "whatsapp": "WhatsApp", "in_app": "In-App",
        "slack": "Slack", "webhook": "Webhook",
    ]

    /// How far `X-CIO-Timestamp` may be from now.
    public static let maxSkewSeconds: Int64 = 300

    /// `X-CIO-Signature` = hex(HMAC-SHA256(key, "v0:" + X-CIO-Timestamp + ":" + body)), compared in constant
    /// time; a timestamp more than 5 minutes off is refused too (a replayed webhook).
    public static func verify(body: [UInt8], signature: String?, timestamp: String?, key: String, now: Timestamp) throws(SignatureError) {
        guard let timestamp, let seconds = Int64(timestamp) else { throw SignatureError(description: "X-CIO-Timestamp: required (unix seconds)") }
        guard let signature, let given = Hex.decode(signature, count: 32) else {
            throw SignatureError(description: "X-CIO-Signature: required (hex HMAC-SHA256)")
        }
        guard abs(now.seconds - seconds) <= maxSkewSeconds else {
            throw SignatureError(description: "X-CIO-Timestamp: \(seconds) is more than 5 minutes from now")
        }
        var signed = Array("v0:\(timestamp):".utf8)
        signed.append(contentsOf: body)
        guard HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: signed, using: SymmetricKey(data: Array(key.utf8))) else {
            throw SignatureError(description: "X-CIO-Signature: does not match the body and timestamp")
        }
    }

    /// The signature Customer.io would send (tests, and `trove` tooling).
    public static func signature(body: [UInt8], timestamp: String, key: String) -> String {
        var signed = Array("v0:\(timestamp):".utf8)
        signed.append(contentsOf: body)
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Array(key.utf8))))
    }

    /// `"Email Opened (Customer.io)"`: the object type's name, the metric's words capitalized.
    public static func eventName(objectType: String, metric: String) -> String {
        let object = objectNames[objectType] ?? words(objectType)
        return "\(object) \(words(metric)) (Customer.io)"
    }

    static func words(_ text: String) -> String {
        text.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }.joined(separator: " ")
    }

    /// What one webhook means: the event to store, and for `customer subscribed|unsubscribed` the value
    /// of the profile's `unsubscribed`.
    public struct Parsed: Sendable {
        public var event: EventInput
        public var profile: ProfileInput?
    }

    public static func parse(_ body: JSON, now: Timestamp) throws(IngestError) -> Parsed {
        guard case .object = body else { throw .malformed("body: expected a Customer.io reporting webhook object, got \(body.typeName)") }
        func text(_ key: String) throws(IngestError) -> String {
            guard case .string(let s)? = body[key], !s.isEmpty else { throw .malformed("\(key): required (a string)") }
            return s
        }
        let eventID = try text("event_id")
        let objectType = try text("object_type")
        let metric = try text("metric")
        guard case .object(let data)? = body["data"] else { throw .malformed("data: required (an object)") }
        let timestamp: JSON
        switch body["timestamp"] {
        case .int?, .double?: timestamp = body["timestamp"]!
        default: throw .malformed("timestamp: required (unix seconds)")
        }

        // The profile: identifiers.id, else identifiers.email, else customer_id.
        let identifiers = body["data"]?["identifiers"]
        var identity: [JSONMember] = []
        if let id = nonEmpty(identifiers?["id"]) {
            identity = [JSONMember("uid", id)]
        } else if let email = nonEmpty(identifiers?["email"]) {
            identity = [JSONMember("email", email)]
        } else if let customer = nonEmpty(body["data"]?["customer_id"]) {
            identity = [JSONMember("uid", customer)]
        } else {
            throw .malformed("data.identifiers: an id or email (or data.customer_id) is required to name the customer")
        }

        let name = eventName(objectType: objectType, metric: metric)
        let envelope = identity + [
            JSONMember("name", .string(name)), JSONMember("timestamp", timestamp),
            JSONMember("message_id", .string("customerio:\(eventID)")),
        ]
        let normalizer = ValueNormalizer(now: now)
        var event = try EventInput.parse(.object(envelope), normalizer: normalizer, source: .customerio)
        event.createsByEmail = true
        var fields = data.filter { $0.key != "identifiers" }
        fields += [JSONMember("object_type", .string(objectType)), JSONMember("metric", .string(metric)), JSONMember("event_id", .string(eventID))]
        try event.setData(fields, normalizer: normalizer)
        if !(metrics[objectType]?.contains(metric) ?? false) {
            event.warnings.append(IngestWarning(.unknownMetric, "metric", "\"\(objectType)\" / \"\(metric)\" is not a metric Trove knows; stored as \"\(name)\""))
        }

        var profile: ProfileInput?
        if objectType == "customer", metric == "subscribed" || metric == "unsubscribed" {
            var input = try ProfileInput.parse(.object(identity + [JSONMember("unsubscribed", .bool(metric == "unsubscribed"))]), normalizer: normalizer)
            input.createsByEmail = true
            profile = input
        }
        return Parsed(event: event, profile: profile)
    }

    static func nonEmpty(_ value: JSON?) -> JSON? {
        switch value {
        case .string(let s)? where !s.isEmpty: return .string(s)
        case .int(let i)?: return .string(String(i))
        default: return nil
        }
    }
}
