import GRDB
import Testing
@testable import TroveCore

@Suite struct AccountTests {
    @Test func storesOnlyDigestsAndAuthenticatesEachCredential() throws {
        let db = try temporaryDatabase()
        let store = AccountStore(database: db)
        let c = try store.create(name: "acme")
        #expect(c.accountSecret.count == 40 && c.appAPIKey.count == 40 && c.trackAPIKey.count == 40 && c.siteID.count == 32)
        let id = try store.accountID(named: "acme")
        #expect(try store.authenticate(accountSecret: c.accountSecret) == id)
        #expect(try store.authenticate(appAPIKey: c.appAPIKey) == id)
        #expect(try store.authenticate(siteID: c.siteID, trackAPIKey: c.trackAPIKey) == id)
        #expect(try store.authenticate(accountSecret: c.appAPIKey) == nil)
        #expect(try store.authenticate(siteID: c.siteID, trackAPIKey: c.accountSecret) == nil)
        let dump = try db.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM accounts").description }
        #expect(!dump.contains(c.accountSecret) && !dump.contains(c.appAPIKey) && !dump.contains(c.trackAPIKey))
    }

    @Test func rotationReplacesCredentials() throws {
        let store = AccountStore(database: try temporaryDatabase())
        let old = try store.create(name: "acme")
        // Authenticated once, so remembered by the credential cache: rotation must forget it.
        #expect(try store.authenticate(accountSecret: old.accountSecret) != nil)
        #expect(try store.authenticate(siteID: old.siteID, trackAPIKey: old.trackAPIKey) != nil)
        let new = try store.rotate(name: "acme")
        #expect(try store.authenticate(accountSecret: old.accountSecret) == nil)
        #expect(try store.authenticate(siteID: old.siteID, trackAPIKey: old.trackAPIKey) == nil)
        #expect(try store.authenticate(accountSecret: new.accountSecret) != nil)
        #expect(throws: AccountError.notFound("nope")) { try store.rotate(name: "nope") }
        #expect(throws: AccountError.exists("acme")) { try store.create(name: "acme") }
        #expect(throws: AccountError.invalidName("bad name")) { try store.create(name: "bad name") }
    }

    @Test func createsTheDefaultAccountOnlyOnAnEmptyDatabase() throws {
        let store = AccountStore(database: try temporaryDatabase())
        #expect(try store.ensureDefaultAccount()?.account == "default")
        #expect(try store.ensureDefaultAccount() == nil)
        #expect(try store.list().map(\.name) == ["default"])
    }
}
