import Foundation
import HTTPTypes
import Testing
@testable import TroveCore
@testable import TroveServer

/// `/metrics` and the request log (contract §11, §13): series by route template, ingest, backlog gauges read
/// from the database; one log line per request with its id; no secret in either.
@Suite struct OperationsHTTPTests {
    @Test func metricsAndRequestLogsNameRoutesNotSecrets() async throws {
        let time = MovableClock()
        let trove = try await TestTrove(clock: time.clock)
        let c = trove.credentials
        let logs = CapturedLogs()
        try await trove.test(logger: logs.logger()) { app in
            let segment = try await app.v3(.post, "/v3/edit/segments", ["name": "Pro", "items": [["prop": "plan", "op": "eq", "value": "pro"]]])
            #expect(segment.status == 200)
            let sent = try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Started Tour"], headers: [.requestID: "req-42"])
            #expect(sent.status == 200)
            #expect(sent.headers[.requestID] == "req-42", "a caller's id is echoed")
            let odd = try await app.post(app.hook("profiles"), json: ["uid": "bob", "plan": "pro"], headers: [.requestID: "two words"])
            let given = try #require(odd.headers[.requestID])
            #expect(given != "two words" && !given.isEmpty, "an id that is not a plain token is replaced")
            #expect(try await app.post(app.hook("events"), Array("{bad".utf8)).status == 400)
            #expect(try await app.v1(.post, "/v1/exports/customers", key: c.appAPIKey, ["filters": ["and": [["attribute": ["field": "plan", "operator": "eq", "value": "pro"]]]]]).status == 200)
            time.advance(seconds: 5)

            let scraped = try await app.get("/metrics")
            #expect(scraped.status == 200)
            #expect(scraped.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = scraped.text
            let lines = text.split(separator: "\n").map(String.init)
            func value(_ series: String) -> Double? {
                lines.first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            let route = "/v3/observe/hooks/{account_secret}/events"
            #expect((value(#"hb_requests{http_route="\#(route)",http_request_method="POST",http_response_status_code="200"}"#) ?? 0) >= 1)
            #expect((value(#"hb_requests{http_route="\#(route)",http_request_method="POST",http_response_status_code="400"}"#) ?? 0) >= 1)
            #expect(lines.contains { $0.hasPrefix(#"http_server_request_duration_bucket{http_route="\#(route)""#) }, "latency by route")
            #expect((value(#"trove_ingested_rows_total{model="event"}"#) ?? 0) >= 1)
            #expect((value(#"trove_ingested_rows_total{model="profile"}"#) ?? 0) >= 1)
            // The backlog of this database: nothing evaluated yet (no evaluator runs here), 5 s old; one export.
            #expect(value("trove_membership_events_behind") == 1)
            #expect(value("trove_membership_lag_seconds") == 5)
            #expect(value(#"trove_outbox_depth{outbox="export"}"#) == 1)
            #expect(value(#"trove_outbox_depth{outbox="webhook"}"#) == 0)
            for secret in [c.accountSecret, c.appAPIKey, c.trackAPIKey] {
                #expect(!text.contains(secret))
            }
        }
        let requests = logs.all.filter { $0.contains(" request ") }
        #expect(requests.count >= 6, "\(logs.all)")
        #expect(requests.contains { $0.contains("hb.request.id=req-42") && $0.contains("route=/v3/observe/hooks/{account_secret}/events") && $0.contains("status=200") })
        #expect(requests.contains { $0.contains("status=400") && $0.contains("method=POST") })
        for line in logs.all {
            for secret in [c.accountSecret, c.appAPIKey, c.trackAPIKey] {
                #expect(!line.contains(secret), "\(line)")
            }
        }
    }
}
