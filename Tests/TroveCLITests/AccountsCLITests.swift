import Foundation
import GRDB
import Testing
import TroveCore
import TroveTestEngines

/// `trove accounts create --json` prints every credential once, the write key included (contract §1, §14), and
/// `trove accounts rotate --write-key` replaces that one alone.
@Suite struct AccountsCLITests {
    @Test func createPrintsTheWriteKeyAndRotateReplacesItAlone() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/trove.sqlite"
        let created = try await runTrove(["accounts", "create", "shop", "--database", database, "--json"])
        #expect(created.status == 0, "\(created.errors)")
        let credentials = try JSONParser.parse(Array(created.output.utf8))
        let writeKey = try #require(credentials["write_key"]?.stringValue)
        let appKey = try #require(credentials["app_api_key"]?.stringValue)
        #expect(writeKey.count == 40 && writeKey.allSatisfy(\.isHexDigit))

        let rotated = try await runTrove(["accounts", "rotate", "shop", "--write-key", "--database", database, "--json"])
        #expect(rotated.status == 0, "\(rotated.errors)")
        let newKey = try #require(try JSONParser.parse(Array(rotated.output.utf8))["write_key"]?.stringValue)
        #expect(newKey != writeKey)
        #expect(try await runTrove(["accounts", "rotate", "nobody", "--write-key", "--database", database]).status != 0)

        let accounts = Accounts(database: try AppDatabase(path: database))
        let shop = try await accounts.accountID(named: "shop")
        #expect(try await accounts.authenticate(writeKey: writeKey) == nil)
        #expect(try await accounts.authenticate(writeKey: newKey) == shop)
        #expect(try await accounts.authenticate(appAPIKey: appKey) == shop)
        // Only digests are stored.
        let stored = try await AppDatabase(path: database).read { db in try String.fetchAll(db, sql: "SELECT hex(write_key_hash) FROM accounts") }
        #expect(stored.count == 1 && !stored[0].lowercased().contains(newKey))
    }
}
