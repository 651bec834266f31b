import GRDB
import Testing
@testable import TroveCore

@Suite struct AccountTests {
    @Test func storesOnlyDigestsAndAuthenticatesEachCredential() async throws {
        let db = try temporaryDatabase()
        let store = Accounts(database: db)
        let c = try await store.create(name: "acme")
        #expect(c.accountSecret.count == 40 && c.appAPIKey.count == 40 && c.trackAPIKey.count == 40 && c.siteID.count == 32)
        let id = try await store.accountID(named: "acme")
        #expect(try await store.authenticate(accountSecret: c.accountSecret) == id)
        #expect(try await store.authenticate(appAPIKey: c.appAPIKey) == id)
        #expect(try await store.authenticate(siteID: c.siteID, trackAPIKey: c.trackAPIKey) == id)
        #expect(try await store.authenticate(accountSecret: c.appAPIKey) == nil)
        #expect(try await store.authenticate(siteID: c.siteID, trackAPIKey: c.accountSecret) == nil)
        let dump = try await db.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM accounts").description }
        #expect(!dump.contains(c.accountSecret) && !dump.contains(c.appAPIKey) && !dump.contains(c.trackAPIKey))
    }

    @Test func rotationReplacesCredentials() async throws {
        let store = Accounts(database: try temporaryDatabase())
        let old = try await store.create(name: "acme")
        // Authenticated once, so remembered by the credential cache: rotation must forget it.
        #expect(try await store.authenticate(accountSecret: old.accountSecret) != nil)
        #expect(try await store.authenticate(siteID: old.siteID, trackAPIKey: old.trackAPIKey) != nil)
        let new = try await store.rotate(name: "acme")
        #expect(try await store.authenticate(accountSecret: old.accountSecret) == nil)
        #expect(try await store.authenticate(siteID: old.siteID, trackAPIKey: old.trackAPIKey) == nil)
        #expect(try await store.authenticate(accountSecret: new.accountSecret) != nil)
        await #expect(throws: AccountError.notFound("nope")) { try await store.rotate(name: "nope") }
        await #expect(throws: AccountError.exists("acme")) { try await store.create(name: "acme") }
        await #expect(throws: AccountError.invalidName("bad name")) { try await store.create(name: "bad name") }
    }

    @Test func createsTheDefaultAccountOnlyOnAnEmptyDatabase() async throws {
        let store = Accounts(database: try temporaryDatabase())
        #expect(try await store.ensureDefaultAccount()?.account == "default")
        #expect(try await store.ensureDefaultAccount() == nil)
        #expect(try await store.list().map(\.name) == ["default"])
    }
}
