import GRDB
import Synchronization
import Testing
import TroveTestEngines
@testable import TroveCore

@Suite struct AccountTests {
    @Test func storesOnlyDigestsOnSQLite() async throws {
        let db = try await temporaryDatabase()
        let c = try await Accounts(database: db).create(name: "acme")
        let dump = try await db.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM accounts").description }
        #expect(!dump.contains(c.accountSecret) && !dump.contains(c.appAPIKey) && !dump.contains(c.trackAPIKey))
    }

    @Test(arguments: TestEngine.available)
    func authenticatesEachCredential(engine: TestEngine) async throws {
        try await engine.withStores { (stores: TestStores) async throws in
            let store = Accounts(store: stores.accounts)
            let c = try await store.create(name: "acme")
            #expect(c.accountSecret.count == 40 && c.appAPIKey.count == 40 && c.trackAPIKey.count == 40 && c.siteID.count == 32)
            let id = try await store.accountID(named: "acme")
            #expect(try await store.authenticate(accountSecret: c.accountSecret) == id)
            #expect(try await store.authenticate(appAPIKey: c.appAPIKey) == id)
            #expect(try await store.authenticate(siteID: c.siteID, trackAPIKey: c.trackAPIKey) == id)
            #expect(try await store.authenticate(accountSecret: c.appAPIKey) == nil)
            #expect(try await store.authenticate(siteID: c.siteID, trackAPIKey: c.accountSecret) == nil)
        }
    }

    @Test(arguments: TestEngine.available)
    func rotationReplacesCredentials(engine: TestEngine) async throws {
        try await engine.withStores { (stores: TestStores) async throws in
            let store = Accounts(store: stores.accounts)
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
    }

    @Test(arguments: TestEngine.available)
    func createsTheDefaultAccountOnlyOnAnEmptyDatabase(engine: TestEngine) async throws {
        try await engine.withStores { (stores: TestStores) async throws in
            let store = Accounts(store: stores.accounts)
            #expect(try await store.ensureDefaultAccount()?.account == "default")
            #expect(try await store.ensureDefaultAccount() == nil)
            #expect(try await store.list().map(\.name) == ["default"])
        }
    }

    /// A session is found under its account only; signing out, rotating or expiry ends it.
    @Test(arguments: TestEngine.available)
    func adminSessionsLiveUnderTheirAccount(engine: TestEngine) async throws {
        try await engine.withStores { (stores: TestStores) async throws in
            let start = Timestamp(milliseconds: 1_780_000_000_000)
            let now = Mutex(start)
            let clock = TroveClock { now.withLock { $0 } }
            let accounts = Accounts(store: stores.accounts, clock: clock)
            let sessions = AdminSessions(accounts: accounts, clock: clock)
            let acme = try await accounts.create(name: "acme")
            let other = try await accounts.create(name: "other")
            let (token, opened) = try #require(try await sessions.signIn(accountSecret: acme.accountSecret))
            #expect(opened.accountName == "acme")
            #expect(try await sessions.session(token: token) == opened)
            // The same secret under another account's id finds nothing; nor does a token without its account.
            let otherID = try #require(try await accounts.accountID(named: "other"))
            let secret = String(token.split(separator: ".", maxSplits: 1)[1])
            #expect(try await sessions.session(token: "\(otherID).\(secret)") == nil)
            #expect(try await sessions.session(token: secret) == nil)
            #expect(try await sessions.signIn(accountSecret: other.accountSecret) != nil)
            now.withLock { $0 = start.adding(milliseconds: AdminSessions.lifetime) }
            #expect(try await sessions.session(token: token) == nil)
            now.withLock { $0 = start }
            #expect(try await sessions.session(token: token) == opened)
            try await sessions.signOut(token: token)
            #expect(try await sessions.session(token: token) == nil)
            let (again, _) = try #require(try await sessions.signIn(accountSecret: acme.accountSecret))
            _ = try await accounts.rotate(name: "acme")
            #expect(try await sessions.session(token: again) == nil)
        }
    }
}
