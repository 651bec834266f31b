import Testing
@testable import TroveCore

/// The pure parts of the Customer.io source (contract §9): signatures against vectors computed independently
/// (Python's `hmac` module), event naming.
@Suite struct CustomerIOWebhookTests {
    static let now = Timestamp(seconds: 1_772_366_400)

    @Test(arguments: [
        ("whsec_test_key", "1772366400", #"{"event_id":"01J","metric":"sent"}"#, "4ba1ae6c3a68db35979db08684a5e23a598f2e5478df09d559d43d823db52e7d"),
        ("k", "1", "", "153804fcfb9108133336bc5c4538af6b5847cffa7071f54e2246827941b77d03"),
    ])
    func signaturesMatchKnownVectors(_ key: String, _ timestamp: String, _ body: String, _ expected: String) {
        #expect(CustomerIOWebhook.signature(body: Array(body.utf8), timestamp: timestamp, key: key) == expected)
    }

    @Test func verificationChecksSignatureAndTime() throws {
        let key = "whsec_test_key"
        let body = Array(#"{"event_id":"01J","metric":"sent"}"#.utf8)
        let good = "4ba1ae6c3a68db35979db08684a5e23a598f2e5478df09d559d43d823db52e7d"
        try CustomerIOWebhook.verify(body: body, signature: good, timestamp: "1772366400", key: key, now: Self.now)
        try CustomerIOWebhook.verify(body: body, signature: good.uppercased(), timestamp: "1772366400", key: key, now: Self.now.adding(milliseconds: 300_000))
        let refusals: [(String?, String?, [UInt8], Timestamp, String)] = [
            (good, "1772366400", body + [0x20], Self.now, "does not match"),
            (String(good.dropLast()) + "e", "1772366400", body, Self.now, "does not match"),
            (good, "1772366401", body, Self.now, "does not match"),
            (good, "1772366400", body, Self.now.adding(milliseconds: 301_000), "more than 5 minutes"),
            (nil, "1772366400", body, Self.now, "X-CIO-Signature: required"),
            (good, nil, body, Self.now, "X-CIO-Timestamp: required"),
            ("zz", "1772366400", body, Self.now, "X-CIO-Signature: required"),
        ]
        for (signature, timestamp, bytes, now, message) in refusals {
            #expect(throws: SignatureError.self) { try CustomerIOWebhook.verify(body: bytes, signature: signature, timestamp: timestamp, key: key, now: now) }
            do {
                try CustomerIOWebhook.verify(body: bytes, signature: signature, timestamp: timestamp, key: key, now: now)
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }

    @Test(arguments: [
        ("email", "opened", "Email Opened (Customer.io)"), ("email", "drafted", "Email Drafted (Customer.io)"),
        ("sms", "sent", "SMS Sent (Customer.io)"), ("in_app", "clicked", "In-App Clicked (Customer.io)"),
        ("whatsapp", "replied", "WhatsApp Replied (Customer.io)"), ("customer", "unsubscribed", "Customer Unsubscribed (Customer.io)"),
        ("customer", "cio_subscription_preferences_changed", "Customer Cio Subscription Preferences Changed (Customer.io)"),
        ("carrier_pigeon", "landed", "Carrier Pigeon Landed (Customer.io)"),
    ])
    func eventsAreNamedAsSpecified(_ object: String, _ metric: String, _ name: String) {
        #expect(CustomerIOWebhook.eventName(objectType: object, metric: metric) == name)
    }
}
