import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// Customer.io-style exports through the App API (contract §7), with payloads from `fixtures/exports`.
@Suite struct ExportHTTPTests {
    func seed(_ client: TestTrove.Client) async throws {
        #expect(try await client.post(client.hook("companies/batch"), try fixture("exports/companies.json")).status == 202)
        #expect(try await client.post(client.hook("profiles/batch"), try fixture("exports/profiles.json")).status == 202)
    }

    /// The expected file, with `{cio:<uid or email>}` replaced by the profile's public id.
    func expectedCSV(_ trove: TestTrove) async throws -> String {
        var text = String(decoding: try fixture("exports/customers.csv"), as: UTF8.self)
        let ids = try await trove.strings("SELECT coalesce(uid, email) || '=' || CAST(id AS text) FROM profiles").map { line in
            let parts = line.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), Int64(parts[1])!)
        }
        if trove.isPostgres {
            // jsonb keeps an object's keys shorter first: the same hash, written in that order.
            text = text.replacingOccurrences(of: #"{""city"":""Oslo"",""zip"":""0150""}"#, with: #"{""zip"":""0150"",""city"":""Oslo""}"#)
        }
        for (key, id) in ids { text = text.replacingOccurrences(of: "{cio:\(key)}", with: PublicID.encode(id)) }
        return text
    }

    func fetch(_ client: TestTrove.Client, _ url: String) async throws -> (status: Int, body: String, headers: HTTPFields) {
        let components = try #require(URLComponents(string: url))
        let path = components.percentEncodedPath + "?" + (components.percentEncodedQuery ?? "")
        return try await client.client.execute(uri: path, method: .get, headers: [:], body: nil) { response in
            (Int(response.status.code), String(decoding: response.body.readableBytesView, as: UTF8.self), response.headers)
        }
    }

    @Test(arguments: TestEngine.available)
    func anExportIsCreatedRunAndDownloadedThroughASignedLink(engine: TestEngine) async throws {
        let time = MovableClock()
        let trove = try await TestTrove(engine: engine, clock: time.clock)
        let key = trove.credentials.appAPIKey
        try await trove.test { client in
            try await seed(client)
            let created = try await client.v1(.post, "/v1/exports/customers", key: key, try fixtureJSON("exports/customers.json"))
            #expect(created.status == 200)
            let export = try #require(created.json?["export"])
            #expect(export["status"] == "pending")
            #expect(export["failed"] == false)
            #expect(export["total"] == 0)
            #expect(export["downloads"] == 0)
            #expect(export["type"] == "customers")
            #expect(export["created_at"] == .int(testNow.seconds))
            let id = try #require(export["id"]?.int)
            #expect(export["deduplicate_id"] == .string("\(id):\(testNow.seconds)"))
            #expect(export.objectKeys == ["id", "deduplicate_id", "description", "downloads", "failed", "status", "total", "type", "user_email", "user_id", "created_at", "updated_at"])

            // No file to hand out yet.
            #expect(try await client.v1(.get, "/v1/exports/\(id)/download", key: key).status == 409)

            try await trove.services.exportRunner.runUntilIdle()
            let done = try await client.v1(.get, "/v1/exports/\(id)", key: key).json?["export"]
            #expect(done?["status"] == "done")
            #expect(done?["total"] == 3)
            #expect(try await client.v1(.get, "/v1/exports", key: key).json?["exports"]?.arrayValue?.map { $0["id"] } == [.int(id)])

            let link = try #require(try await client.v1(.get, "/v1/exports/\(id)/download", key: key).json?["url"]?.stringValue)
            #expect(link.hasPrefix("http://127.0.0.1:8080/exports/\(id)/file?expires=\(testNow.seconds + 900)&signature="))
            let file = try await fetch(client, link)
            #expect(file.status == 200)
            #expect(file.headers[.contentType] == "text/csv; charset=utf-8")
            let expected = try await expectedCSV(trove)
            #expect(file.body == expected, "\(file.body)")
            _ = try await fetch(client, link)
            #expect(try await client.v1(.get, "/v1/exports/\(id)", key: key).json?.at("export.downloads") == 2)

            // Altered links and expired ones are refused; neither counts as a download.
            let tampered = link.replacingOccurrences(of: "expires=\(testNow.seconds + 900)", with: "expires=\(testNow.seconds + 90_000)")
            #expect(try await fetch(client, tampered).status == 403)
            let flipped = String(link.dropLast()) + (link.hasSuffix("0") ? "1" : "0")
            #expect(try await fetch(client, flipped).status == 403)
            #expect(try await fetch(client, link.replacingOccurrences(of: "&signature=", with: "&sig=")).status == 403)
            time.advance(seconds: 15 * 60)
            let expired = try await fetch(client, link)
            #expect(expired.status == 403)
            #expect(expired.body.contains("expired"))
            #expect(try await client.v1(.get, "/v1/exports/\(id)", key: key).json?.at("export.downloads") == 2)

            // A fresh link works until the file is removed after the retention period (7 days).
            let again = try #require(try await client.v1(.get, "/v1/exports/\(id)/download", key: key).json?["url"]?.stringValue)
            #expect(try await fetch(client, again).status == 200)
            time.advance(seconds: 7 * 86_400)
            try await trove.services.exportRunner.runUntilIdle()
            #expect(!FileManager.default.fileExists(atPath: trove.services.exports.settings.file(id)))
            let account = try await trove.services.accounts.accountID(named: Accounts.defaultName)
            let kept = try await trove.services.exports.store.storedFile(account: account, id: Int64(id))
            #expect(kept.map { _ in true } == nil, "nor kept by the engine")
            let gone = try await client.v1(.get, "/v1/exports/\(id)/download", key: key)
            #expect(gone.status == 409)
            #expect(gone.json?["errors"]?.arrayValue?.first?["detail"]?.stringValue?.contains("retention") == true)
        }
    }

    @Test func badRequestsSayWhatIsWrong() async throws {
        let trove = try await TestTrove()
        let key = trove.credentials.appAPIKey
        try await trove.test { client in
            let cases: [(String, String)] = [
                (#"{"filters":{"attribute":{"field":"plan","operator":"like","value":"x"}}}"#, "filters.attribute.operator: unknown operator"),
                (#"{"attributes":"plan"}"#, "attributes: must be an array"),
                (#"{"attributes":["plan",""]}"#, "attributes[1]: must be a non-empty string"),
                (#"{"filters":{"segment":{"id":99}}}"#, "no segment with id 99"),
                (#"[1]"#, "must be a JSON object"),
            ]
            for (body, message) in cases {
                let reply = try await client.send(.post, "/v1/exports/customers", body: Array(body.utf8), headers: [.authorization: "Bearer \(key)"])
                #expect(reply.status == 400 || reply.status == 422, "\(body)")
                let detail = reply.json?["errors"]?.arrayValue?.first?["detail"]?.stringValue ?? ""
                #expect(detail.contains(message), "\(body): \(detail)")
            }
            #expect(try await client.v1(.get, "/v1/exports/41", key: key).status == 404)
            #expect(try await client.v1(.get, "/v1/exports/x", key: key).status == 404)
            #expect(try await client.v1(.get, "/v1/exports", key: "wrong").status == 401)
            #expect(try await client.send(.get, "/exports/1/file", body: nil, headers: [:]).status == 403)
            let count = try await trove.services.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM exports") }
            #expect(count == 0, "no half-made export rows")
        }
    }

    /// A restart in the middle of an export redoes it; one that keeps dying fails instead of staying
    /// pending; one export's failure leaves the others alone.
    @Test func anExportInterruptedByARestartIsRedone() async throws {
        let trove = try await TestTrove()
        let key = trove.credentials.appAPIKey
        let made = Mutex<[Int64]>([])
        try await trove.test { client in
            try await seed(client)
            for _ in 0..<3 {
                let created = try await client.v1(.post, "/v1/exports/customers", key: key, try fixtureJSON("exports/customers.json"))
                let id = try #require(created.json?.at("export.id")?.int)
                made.withLock { $0.append(id) }
            }
        }
        let ids = made.withLock { $0 }
        // The first run of export 1 is cut off: its attempt counted, half a file written, then the process dies.
        let claimed = try #require(try await ExportRunner(database: trove.services.database, clock: trove.services.clock, settings: trove.services.exports.settings).claim())
        #expect(claimed.id == ids[0])
        let settings = trove.services.exports.settings
        try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
        try Data("id,email,cio_id\nu-1,ann@exa".utf8).write(to: URL(fileURLWithPath: settings.partialFile(ids[0])))
        // Export 2 was interrupted twice before, and export 3 refers to a segment deleted since.
        try await trove.services.database.pool.write { db in
            try db.execute(sql: "UPDATE exports SET attempts = 3 WHERE id = ?", arguments: [ids[1]])
            try db.execute(sql: #"UPDATE exports SET request = '{"filters":{"segment":{"id":77}},"attributes":[]}' WHERE id = ?"#, arguments: [ids[2]])
        }

        let restarted = try TestTrove(reopening: trove, clock: .fixed(testNow))
        try await restarted.services.exportRunner.runUntilIdle()
        try await restarted.test { client in
            let first = try await client.v1(.get, "/v1/exports/\(ids[0])", key: key).json?["export"]
            #expect(first?["status"] == "done")
            #expect(first?["total"] == 3)
            let link = try #require(try await client.v1(.get, "/v1/exports/\(ids[0])/download", key: key).json?["url"]?.stringValue)
            #expect(try await fetch(client, link).body == (try await expectedCSV(restarted)))
            #expect(!FileManager.default.fileExists(atPath: settings.partialFile(ids[0])))

            let second = try await client.v1(.get, "/v1/exports/\(ids[1])", key: key).json?["export"]
            #expect(second?["status"] == "failed")
            #expect(second?["failed"] == true)
            let third = try await client.v1(.get, "/v1/exports/\(ids[2])", key: key).json?["export"]
            #expect(third?["status"] == "failed")
            #expect(try await client.v1(.get, "/v1/exports/\(ids[2])/download", key: key).status == 409)
        }
        let errors = try await restarted.services.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT error FROM exports WHERE status = 'failed' ORDER BY id")
        }
        #expect(errors.count == 2)
        #expect(errors[0].contains("stopped 3 times"), "\(errors)")
        #expect(errors[1].contains("no segment with id 77"), "\(errors)")
    }

    /// On a live server the background service runs the job when its next pass is due: a client only asks
    /// and downloads. The services wait on a manual clock, so the test moves time instead of polling.
    @Test(arguments: TestEngine.available)
    func aLiveServerRunsExportsInTheBackground(engine: TestEngine) async throws {
        let time = ManualClock(testNow)
        let trove = try await TestTrove(engine: engine, clock: time.clock)
        let key = trove.credentials.appAPIKey
        let app = buildApplication(services: trove.services, options: ServerOptions(port: 0), logger: Logger(label: "test"))
        try await app.test(.live) { raw in
            let loops = backgroundServices(trove.services, logger: Logger(label: "test")).count
            await time.parked(loops)
            let client = TestTrove.Client(client: raw, secret: trove.secret)
            try await seed(client)
            let created = try await client.v1(.post, "/v1/exports/customers", key: key, try fixtureJSON("exports/customers.json"))
            let id = try #require(created.json?.at("export.id")?.int)
            #expect(try await client.v1(.get, "/v1/exports/\(id)", key: key).json?.at("export.status") == "pending", "nothing runs before its pass is due")
            time.advance(by: .seconds(1))
            await time.parked(loops)
            let status = try await client.v1(.get, "/v1/exports/\(id)", key: key).json?.at("export.status")
            #expect(status == "done")
            let link = try #require(try await client.v1(.get, "/v1/exports/\(id)/download", key: key).json?["url"]?.stringValue)
            #expect(try await fetch(client, link).body == (try await expectedCSV(trove)))
        }
    }
}
