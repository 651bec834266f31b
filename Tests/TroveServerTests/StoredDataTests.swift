import GRDB
import HTTPTypes
import Hummingbird
import Logging
import Testing
import TroveCore
@testable import TroveServer

/// Stored JSON that does not parse (a hand-edited or damaged database) is reported, naming the row, and is
/// never read as "nothing": a profile update does not wipe the properties it cannot read, a broken
/// Customer.io destination stops its own account's writes rather than silently dropping their calls.
@Suite(.timeLimit(.minutes(1))) struct StoredDataTests {
    /// Damages a row the way a hand edit can: past the schema's CHECK constraints (which hold JSON columns
    /// to valid JSON of the right type).
    static func corrupt(_ trove: TestTrove, _ sql: String) async throws {
        try await trove.services.database.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            defer { try? db.execute(sql: "PRAGMA ignore_check_constraints = OFF") }
            try db.execute(sql: sql)
        }
    }

    @Test func aProfileWhosePropertiesDoNotParseIsReportedAndNeverOverwritten() async throws {
        let trove = try await TestTrove()
        try await trove.test(.live) { app in
            #expect(try await app.post(app.hook("profiles"), json: ["uid": "u-1", "plan": "pro", "seats": 5]).status == 200)
            #expect(try await app.post(app.hook("profiles"), json: ["uid": "u-2", "plan": "free"]).status == 200)
            try await Self.corrupt(trove, "UPDATE profiles SET properties = '{\"plan\": \"pro\", \"seats\"' WHERE uid = 'u-1'")

            let update = try await app.post(app.hook("profiles"), json: ["uid": "u-1", "plan": "team"])
            #expect(update.status == 500)
            let message = update.json?["messages"]?.arrayValue?.first?.stringValue ?? ""
            #expect(message.contains("stored profiles.properties of row"), "\(message)")
            #expect(message.contains("request id"))
            let stored = try await trove.services.database.read { db in
                try String.fetchOne(db, sql: "SELECT properties FROM profiles WHERE uid = 'u-1'")
            }
            #expect(stored == "{\"plan\": \"pro\", \"seats\"")  // untouched, not replaced by {"plan":"team"}

            // Reads say so too; other profiles carry on.
            #expect(try await app.get("/v3/analyze/profile?uid=u-1").status == 500)
            #expect(try await app.post(app.hook("profiles"), json: ["uid": "u-2", "plan": "team"]).status == 200)
            #expect(try await app.profile(uid: "u-2")?["plan"] == "team")
        }
    }

    @Test func aBrokenCustomerIODestinationIsReportedNotReadAsNone() async throws {
        let trove = try await TestTrove()
        try await trove.test(.live) { app in
            let put = try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s", "api_key": "k"])
            #expect(put.status == 200)
            // Valid JSON (as the schema demands), but not a destination Trove can use.
            try await Self.corrupt(trove, "UPDATE integrations SET config = json_set(config, '$.region', 'mars') WHERE name = 'customerio-destination'")

            let shown = try await app.v3(.get, "/v3/edit/integrations/customerio")
            #expect(shown.status == 500)
            #expect(shown.json?["messages"]?.arrayValue?.first?.stringValue?.contains("stored integrations.config") == true)
            // An event of this account would owe Customer.io a call the broken row cannot say how to make:
            // refused (not acknowledged, so nothing is lost), rather than stored without it.
            let event = try await app.post(app.hook("events"), json: ["uid": "u-1", "name": "Signed Up"])
            #expect(event.status == 500)
            #expect(try await trove.services.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") } == 0)
        }
    }

    @Test func aSegmentWhoseDefinitionDoesNotParseIsReported() async throws {
        let trove = try await TestTrove()
        try await trove.test(.live) { app in
            let made = try await app.v3(.post, "/v3/edit/segments", ["name": "Pro", "items": [["prop": "plan", "op": "eq", "value": "pro"]]])
            let id = try #require(made.json?.at("segment.id")?.stringValue)
            try await Self.corrupt(trove, "UPDATE segments SET definition = '{\"items\": [' ")
            let shown = try await app.v3(.get, "/v3/edit/segments/\(id)")
            #expect(shown.status == 500)
            #expect(shown.json?["messages"]?.arrayValue?.first?.stringValue?.contains("stored segments.definition") == true)
        }
    }

    @Test func aWebhookEndpointWhoseTopicsDoNotParseStopsOnlyItsOwnAccount() async throws {
        let trove = try await TestTrove()
        let other = try await trove.services.accounts.create(name: "other")
        try await trove.test(.live) { app in
            let made = try await app.v3(.post, "/v3/edit/webhooks", ["url": "https://hooks.example.com/a", "topics": ["event.created"]])
            #expect(made.status == 200)
            try await Self.corrupt(trove, "UPDATE webhook_endpoints SET topics = '[\"event.created\"' ")

            let listed = try await app.v3(.get, "/v3/edit/webhooks")
            #expect(listed.status == 500)
            #expect(listed.json?["messages"]?.arrayValue?.first?.stringValue?.contains("stored webhook_endpoints.topics of row 1") == true)
            // This account's event would owe the endpoint a delivery the row cannot say it wants: refused,
            // naming the row; another account's events are taken as ever.
            let mine = try await app.post(app.hook("events"), json: ["uid": "u-1", "name": "Signed Up"])
            #expect(mine.status == 500)
            #expect(mine.json?["messages"]?.arrayValue?.first?.stringValue?.contains("stored webhook_endpoints.topics of row 1") == true)
            let theirs = try await app.post("/v3/observe/hooks/\(other.accountSecret)/events", json: ["uid": "u-1", "name": "Signed Up"])
            #expect(theirs.status == 200)
            #expect(try await trove.services.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") } == 1)
        }
    }

    @Test func aCatalogRowThatDoesNotParseIsReportedNotShownEmpty() async throws {
        let trove = try await TestTrove()
        try await trove.test(.live) { app in
            #expect(try await app.post(app.hook("profiles"), json: ["uid": "u-1", "plan": "pro"]).status == 200)
            #expect(try await app.v3(.get, "/v3/edit/properties").status == 200)
            try await Self.corrupt(trove, "UPDATE properties SET types = '[\"string\"' WHERE prop = 'plan'")
            let shown = try await app.v3(.get, "/v3/edit/properties")
            #expect(shown.status == 500)
            #expect(shown.json?["messages"]?.arrayValue?.first?.stringValue?.contains("stored properties.types") == true)
        }
    }

    @Test func unforeseenErrorsAre500sWithTheRequestIDAndBusyIs503() {
        struct Unforeseen: Error {}
        var logger = Logger(label: "test")
        logger[metadataKey: "hb.request.id"] = "req-7"
        let unforeseen = ErrorMiddleware<BasicRequestContext>.response(for: Unforeseen(), family: .chameleon, logger: logger)
        #expect(unforeseen.status == .internalServerError)
        let busy = ErrorMiddleware<BasicRequestContext>.describe(DatabaseError(resultCode: .SQLITE_BUSY))
        #expect(busy.0 == .serviceUnavailable && busy.2[.retryAfter] == "1")
        #expect(ErrorMiddleware<BasicRequestContext>.describe(DatabaseError(resultCode: .SQLITE_FULL)).0 == .serviceUnavailable)
        // A statement that fails (here as malformed JSON in a row would make it) is a fault, not a busy server.
        #expect(ErrorMiddleware<BasicRequestContext>.describe(DatabaseError(resultCode: .SQLITE_ERROR, message: "malformed JSON")).0 == .internalServerError)
    }
}
