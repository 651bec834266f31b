import Foundation
import HTTPTypes
import Testing
import TroveTestEngines
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
            #expect((value(#"trove_http_requests_total{route="\#(route)",method="POST",status="2xx"}"#) ?? 0) >= 1)
            #expect((value(#"trove_http_requests_total{route="\#(route)",method="POST",status="4xx"}"#) ?? 0) >= 1)
            #expect((value(#"trove_http_request_duration_seconds_count{family="v3"}"#) ?? 0) >= 3, "latency by API family")
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

    /// Every series exists from the first scrape, at zero, with its HELP and TYPE; counters end in `_total`;
    /// what no route took is counted under one label set, so a scan of made-up paths cannot grow the scrape.
    /// (The scrape is the process's: one engine is enough.)
    @Test func everySeriesIsThereFromTheStartAndStaysBounded() async throws {
        let trove = try await TestTrove()
        try await trove.test { app in
            let first = try await app.get("/metrics").text
            let routes = registeredRoutes(services: trove.services)
            for series in TroveMetrics.catalog + [ServerMetrics.requests, ServerMetrics.duration] {
                #expect(first.contains("# HELP \(series.name) \(series.help)\n"), "\(series.name)")
                if case .counter = series.kind { #expect(series.name.hasSuffix("_total")) }
            }
            for route in routes {
                #expect(first.contains(#"trove_http_requests_total{route="\#(route.path)",method="\#(route.method)",status="5xx"} 0"#), "\(route)")
            }
            // Labelled series exist before anything counts them (their values are the process's: tests
            // running beside this one may have counted already).
            #expect(first.contains(#"\#ntrove_deliveries_total{outbox="customerio",outcome="failed"} "#))
            #expect(first.contains(#"\#ntrove_segment_evaluation_seconds_count{kind="build"} "#))
            for n in 0..<50 {
                _ = try await app.get("/no/such/path/\(n)")
                _ = try await app.send(.put, "/v3/edit/segments/\(n)/changes", body: nil, headers: [:])
            }
            let after = try await app.get("/metrics").text
            func names(_ text: String) -> Set<String> { Set(text.split(separator: "\n").map { String($0.split(separator: " ").dropLast().joined(separator: " ")) }) }
            #expect(names(after).subtracting(names(first)).isEmpty, "no new series: \(names(after).subtracting(names(first)))")
            let unrouted = after.split(separator: "\n").first { $0.hasPrefix(#"trove_http_requests_total{route="(unrouted)",method="(other)",status="4xx"}"#) }
            #expect((unrouted.flatMap { Int($0.split(separator: " ").last!) } ?? 0) >= 100)
        }
    }

    /// A known path asked with a method it does not take: 405 with `Allow`, in the family's error shape;
    /// HEAD is answered wherever GET is.
    @Test(arguments: TestEngine.available)
    func aKnownPathWithAnotherMethodIs405WithAllow(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { app in
            let put = try await app.send(.put, "/v3/edit/segments/1/members", body: nil, headers: [HTTPField.Name("X-Account-Secret")!: trove.secret])
            #expect(put.status == 405)
            #expect(put.headers[.allow] == "GET, HEAD")
            #expect(put.json?["code"] == 405)
            let health = try await app.send(.delete, "/health", body: nil, headers: [:])
            #expect(health.status == 405 && health.headers[.allow] == "GET, HEAD")
            let segments = try await app.send(.put, "/v1/segments", body: nil, headers: [.authorization: "Bearer \(trove.credentials.appAPIKey)"])
            #expect(segments.status == 405 && segments.headers[.allow] == "GET, HEAD, POST")
            #expect(segments.text.contains(#""status":"405""#))
            let hook = try await app.send(.get, app.hook("events"), body: nil, headers: [:])
            #expect(hook.status == 405 && hook.headers[.allow] == "POST")
            let head = try await app.send(.head, "/health", body: nil, headers: [:])
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(try await app.get("/v3/no/such/route").status == 404)
        }
    }
}
