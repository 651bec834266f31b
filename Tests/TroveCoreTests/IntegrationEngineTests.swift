import Testing
import TroveTestEngines
@testable import TroveCore

/// The Customer.io integrations' settings (contract §9, §10) on every engine.
@Suite struct IntegrationEngineTests {
    static let now = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

    @Test(arguments: TestEngine.available)
    func destinationAndSourceSettings(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let accounts = Accounts(store: stores.accounts)
            _ = try await accounts.create(name: "acme")
            let account = try #require(try await accounts.accountID(named: "acme"))
            let settings = CustomerIODestinationSettings(store: stores.integrations, clock: .fixed(Self.now), policy: WebhookAddressPolicy(allowInsecure: true))
            await #expect(throws: DestinationError.self) { try await settings.show(account: account) }
            let saved = try await settings.update(account: account, document: ["site_id": "site-1", "api_key": "key-1234", "region": "eu"])
            #expect(saved.destination.siteID == "site-1" && saved.destination.apiKey == "key-1234" && saved.destination.region == .eu)
            #expect(saved.pending == 0 && saved.delivered == 0 && saved.failed == 0 && saved.updatedAt == Self.now)
            // An api_key left out keeps the stored one.
            let kept = try await settings.update(account: account, document: ["site_id": "site-2"])
            #expect(kept.destination.siteID == "site-2" && kept.destination.apiKey == "key-1234")
            await #expect(throws: DestinationError.self) {
                try await settings.update(account: account, document: ["site_id": "s", "sync_segments": [["segment_id": "99", "customerio_segment_id": 3]]])
            }
            #expect(try await settings.show(account: account).destination.siteID == "site-2")
            #expect(try await settings.deliveries(account: account, state: nil, limit: 10).isEmpty)
            let due = try await stores.integrations.dueCustomerIO(now: Self.now, limit: 10) { _ in true }
            #expect(due.rows.isEmpty && due.destinations[account]?.siteID == "site-2")
            try await settings.delete(account: account)
            await #expect(throws: DestinationError.self) { try await settings.show(account: account) }
            await #expect(throws: DestinationError.self) { try await settings.delete(account: account) }

            let source = CustomerIOSourceSettings(store: stores.integrations, clock: .fixed(Self.now))
            #expect(try await source.show(account: account) == CustomerIOSourceSettings.State(signingKey: nil, updatedAt: nil))
            #expect(try await source.setSigningKey(account: account, "whsec_abcd") == CustomerIOSourceSettings.State(signingKey: "whsec_abcd", updatedAt: Self.now))
            #expect(try await source.signingKey(account: account) == "whsec_abcd")
            #expect(try await source.setSigningKey(account: account, nil).signingKeySet == false)
            #expect(try await source.signingKey(account: account) == nil)
        }
    }
}
