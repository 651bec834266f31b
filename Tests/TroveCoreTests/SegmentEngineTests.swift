import Foundation
import Testing
import TroveTestEngines
@testable import TroveCore

/// Segments on every engine: the one compiler's SQL in each dialect must select the same people. SQLite's
/// membership is held to the independent `ReferenceEvaluator` (PeoplePageTests); PostgreSQL's is held to
/// SQLite's, step by step, over the same random ingest.
@Suite struct SegmentEngineTests {
    func json(_ text: String) throws -> JSON { try JSONParser.parse(Array(text.utf8)) }

    /// Segments and ad-hoc filters covering every operator family, typed comparisons, event windows and
    /// filters, company conditions, segment references and negations.
    static let segments = [
        #"{"name":"Upsell","items_op":"and","items":[{"kind":"property","prop":"score","op":"gte","value":80},{"kind":"property","prop":"plan","op":"eq","value":"pro"},{"kind":"property","prop":"company.employees","op":"gt","value":"30"},{"kind":"event","value":"Completed Tour","mod":"gte","range":1,"cond":"gt-d","int":30}]}"#,
        #"{"name":"Beta or quiet","items_op":"or","items":[{"kind":"group","filters_op":"and","filters":[{"kind":"property","prop":"tags","op":"in-a","value":"beta"},{"kind":"segment","op":"ne","value":"$0"}]},{"kind":"event","value":"Viewed Page","op":"nx","cond":"gt-d","int":7},{"kind":"property","prop":"plan","op":"in-v","value":"free, enterprise"}]}"#,
        #"{"name":"Misc","items":[{"kind":"property","prop":"signup_at","op":"gt-d","value":20},{"kind":"property","prop":"plan","op":"ne","value":"free"},{"kind":"property","prop":"city","op":"nin-i","value":"BER"},{"kind":"event","value":"Completed Tour","mod":"lte","range":1,"filters":[{"prop":"tour_id","op":"eq","value":"t1"}]}]}"#,
        #"{"name":"Typed","items_op":"or","items":[{"kind":"property","prop":"score","op":"lt","value":1},{"kind":"property","prop":"score","op":"eq","value":"high"},{"kind":"property","prop":"vip","op":"eq","value":true},{"kind":"property","prop":"city","op":"in","value":"erl"},{"kind":"property","prop":"signup_at","op":"lt","value":"2026-02-10T00:00:00Z"}]}"#,
    ]

    static let filters = [
        #"{"attribute":{"field":"score","operator":"eq","value":"80"}}"#,
        #"{"and":[{"attribute":{"field":"plan","operator":"exists"}},{"not":{"attribute":{"field":"plan","operator":"eq","value":"free"}}}]}"#,
        #"{"or":[{"attribute":{"field":"company.employees","operator":"gt","value":100}},{"attribute":{"field":"vip","operator":"eq","value":"true"}}]}"#,
        #"{"attribute":{"field":"city","operator":"in-i","value":"ER"}}"#,
    ]

    /// What one engine shows after each step: members per segment, ledger rows, ad-hoc counts.
    func run(_ engine: TestEngine, seed: UInt64) async throws -> [String] {
        var states: [String] = []
        let clock = MovableClock(fixedNow)
        try await engine.withStores(clock: clock.clock) { (stores: TestStores) async throws in
            let accounts = Accounts(store: stores.accounts)
            _ = try await accounts.create(name: "acme")
            let account = try #require(try await accounts.accountID(named: "acme"))
            let ingestor = Ingestor(store: stores.ingest)
            let definitions = SegmentDefinitions(store: stores.segments, clock: clock.clock)
            // A manual segment first (id 1), used by the last dynamic one; an endpoint hearing every change.
            let manual = try await definitions.createManual(account: account, name: "VIPs", description: "")
            let endpoint = try await stores.webhooks.insert(
                account: account, WebhookEndpointChange(url: "https://hooks.example.com/x", name: "all", topics: ["segment.entered", "segment.exited", "event.created"]),
                secret: "whsec_test", now: fixedNow)
            var ids: [Int64] = []
            for text in Self.segments {
                let body = try json(text.replacingOccurrences(of: "\"$0\"", with: ids.first.map(String.init) ?? "0"))
                ids.append(try await definitions.create(account: account, SegmentChange(body: body)).id)
            }
            ids.append(try await definitions.create(account: account, SegmentChange(body: json(
                #"{"name":"VIP or pro","items_op":"or","items":[{"kind":"segment","op":"eq","value":\#(manual.id)},{"prop":"plan","op":"eq","value":"pro"}]}"#))).id)
            ids.append(manual.id)
            // A Customer.io destination: profiles synced, every event but Viewed Page forwarded, Upsell synced.
            _ = try await CustomerIODestinationSettings(store: stores.integrations, clock: clock.clock, policy: WebhookAddressPolicy(allowInsecure: true))
                .update(account: account, document: [
                    "site_id": "site", "api_key": "key", "forward_all_events": true, "events": ["Viewed Page": false],
                    "sync_segments": [["segment_id": .string(PublicID.encode(ids[0])), "customerio_segment_id": 3]],
                ])
            func send(_ model: Model, _ body: String) async throws {
                _ = try await ingestor.ingest(model, account: account, body: Array(body.utf8))
            }
            func snapshot(_ label: String) async throws {
                var lines = [label]
                for id in ids {
                    let members = try await stores.membership.members(account: account, segment: id, asOf: nil, limit: 1000, before: nil)
                    let ledger = try await stores.membership.changes(account: account, segment: id, since: 0, limit: 10_000)
                    lines.append("\(id): \(members.page.items.compactMap(\.uid).sorted()) ledger \(ledger.changes.map { "\($0.profileUID ?? "")\($0.entered ? "+" : "-")" })")
                }
                // The webhook deliveries so far: kind and data (keys sorted: jsonb keeps its own order).
                let due = try await stores.webhooks.due(now: clock.clock.now().adding(milliseconds: 1), room: { _ in 100_000 })
                #expect(due.allSatisfy { $0.endpoint == endpoint.id })
                // An event's id is the engine's own (PostgreSQL hands them out in blocks): left out of the comparison.
                lines.append("webhooks: " + due.sorted { $0.id < $1.id }.map { "\($0.kind) \(Self.canonical($0.storedData, without: "id"))" }
                    .joined(separator: "\n"))
                for filter in Self.filters {
                    let count = try await stores.audiences.count(account: account, audience: .filter(try CustomerIOFilter.parse(json(filter))), companies: false)
                    lines.append("\(filter): \(count)")
                }
                // The Customer.io outbox: every row, and the bodies of the identifies at the head of their queues.
                let outbox = try await stores.integrations.destinationDeliveries(account: account, state: nil, limit: 100_000)
                lines.append("customerio: " + outbox.sorted { $0.id < $1.id }
                    .map { "\($0.kind) \($0.profileID) \($0.identifier ?? "-") \($0.customerIOSegmentID ?? "-") \($0.state)" }.joined(separator: ", "))
                let heads = try await stores.integrations.dueCustomerIO(now: clock.clock.now().adding(milliseconds: 1), limit: 100_000) { _ in true }
                lines.append("identifies: " + heads.rows.filter { $0.kind == "identify" }.sorted { $0.profile < $1.profile }
                    .map { "\($0.profile) \(Self.canonical($0.body ?? ""))" }.joined(separator: "; "))
                // Customer search pages through a filter, and attributes in request order.
                let pro = try CustomerIOFilter.parse(json(Self.filters[1]))
                var start: String?
                var pages: [String] = []
                repeat {
                    let page = try await stores.customers.search(account: account, filter: pro, start: start, limit: 3)
                    pages.append(page.identifiers.compactMap(\.uid).joined(separator: ","))
                    start = page.next.map(PublicID.encode)
                } while start != nil
                lines.append("search: " + pages.joined(separator: " | "))
                let everyone = try await stores.customers.search(account: account, filter: nil, start: nil, limit: 100).identifiers.count
                let attributes = try await stores.customers.attributes(account: account, ids: [.uid("u3"), .uid("nobody"), .uid("u1")])
                lines.append("customers: \(everyone), attributes: \(attributes.map { "\($0.uid ?? "") \($0.properties.count)" })")
                // Explanations, condition by condition, for two people.
                for uid in ["u1", "u5"] {
                    for id in ids.dropLast() {
                        guard let e = try? await stores.explain.explain(account: account, segment: id, profile: .uid(uid)) else {
                            lines.append("explain \(uid) \(id): none")
                            continue
                        }
                        let conditions = e.conditions.map { c in
                            "\(c.path) \(c.kind) \(c.prop ?? "") \(c.op) \(c.result) \(c.actual.map { Self.canonical(JSONWriter.string($0)) })"
                        }
                        lines.append("explain \(uid) \(id): \(e.member) \(conditions.joined(separator: "; "))")
                    }
                }
                states.append(lines.joined(separator: "\n"))
            }
            try await stores.membershipWork.catchUp()
            try await snapshot("empty builds")
            var rng = SplitMix(seed: seed)
            let plans = ["\"free\"", "\"pro\"", "\"pro\"", "\"enterprise\"", "null"]
            let cities = ["\"Berlin\"", "\"berlin\"", "\"Paris\"", "null", "\"ÜBERLINGEN\""]
            let scores = ["\"high\"", "0", "1", "true", "79.5", "\"80\"", "[80]"]
            for round in 0..<5 {
                for _ in 0..<40 {
                    let uid = "u\(rng.next(16))"
                    switch rng.next(6) {
                    case 0, 1:
                        let score = rng.next(4) == 0 ? scores[rng.next(scores.count)] : String(60 + rng.next(41))
                        let tags = rng.next(3) == 0 ? #"["beta","x"]"# : #"["x"]"#
                        let signup = fixedNow.adding(milliseconds: -Int64(rng.next(40)) * 86_400_000).iso8601
                        try await send(.profile, """
                            {"uid":"\(uid)","plan":\(plans[rng.next(5)]),"score":\(score),"tags":\(tags),"vip":\(rng.next(5) == 0),
                             "city":\(cities[rng.next(cities.count)]),"signup_at":"\(signup)","company_uid":"c\(rng.next(4))","disabled":\(rng.next(12) == 0)}
                            """)
                    case 2:
                        try await send(.company, #"{"uid":"c\#(rng.next(4))","employees":\#(rng.next(120))}"#)
                    default:
                        let name = rng.next(2) == 0 ? "Completed Tour" : "Viewed Page"
                        let at = fixedNow.adding(milliseconds: -Int64(rng.next(45 * 24)) * 3_600_000).iso8601
                        try await send(.event, #"{"uid":"\#(uid)","name":"\#(name)","timestamp":"\#(at)","tour_id":"t\#(rng.next(2))"}"#)
                    }
                }
                await stores.ingest.settled()
                try await stores.membershipWork.catchUp()
                try await snapshot("round \(round)")
                if round == 1 {
                    let manualStore = stores.manual
                    _ = try await manualStore.change(account: account, segment: manual.id, ids: ["u1", "u2", "nobody", "u1"], idType: nil, add: true)
                    _ = try await manualStore.change(account: account, segment: manual.id, ids: ["u2"], idType: nil, add: false)
                    try await stores.membershipWork.catchUp()
                    try await snapshot("manual adds")
                    let u3 = try await manualStore.profileIDs(account: account, [(uid: "u3", email: nil), (uid: "nobody", email: nil)])
                    #expect(u3.count == 2 && u3[1] == nil)
                    _ = try await manualStore.replace(account: account, segment: manual.id, profiles: Set(u3.compactMap { $0 }))
                    try await stores.membershipWork.catchUp()
                    try await snapshot("manual replaced")
                }
                if round == 2 {
                    clock.advance(days: 9)
                    try await stores.membershipWork.catchUp()
                    try await snapshot("after 9 days")
                }
            }
            // A changed definition builds a new version.
            _ = try await definitions.update(account: account, id: ids[3], SegmentChange(body: json(#"{"items":[{"prop":"score","op":"gte","value":90}]}"#)))
            try await stores.membershipWork.catchUp()
            try await snapshot("after a new version")
            // Reports over what is there: events per day and per hour in a zone, each segment's history.
            var reports: [String] = []
            for parameters in [EventReport.Parameters(from: "2026-01-15", to: "2026-03-31"),
                               EventReport.Parameters(from: "2026-02-20", to: "2026-02-22", names: "Viewed Page,Never Seen", interval: "hour", tz: "America/New_York")] {
                let report = try await stores.eventReports.run(account: account, try stores.eventReports.request(parameters))
                reports.append("events \(report.buckets.count) buckets: " + report.series.map { "\($0.uid) \($0.counts)" }.joined(separator: "; "))
            }
            for id in ids {
                let history = try await stores.segmentHistory.run(account: account, segment: id, from: "2026-02-20", to: "2026-03-15")
                reports.append("history \(id): " + history.days.map { "\($0.date) \($0.count) +\($0.entered) -\($0.exited)" }.joined(separator: ", "))
            }
            let message = try await stores.messageReports.run(account: account, MessageReport.Parameters(message: [(field: "campaign_id", id: "7")]))
            reports.append("message: \(message.metrics.count) \(message.rates.map(\.name))")
            for parameters in [FunnelReport.Parameters(steps: "Viewed Page,Completed Tour", from: "2026-01-01", to: "2026-03-10"),
                               FunnelReport.Parameters(steps: "Completed Tour,Completed Tour,Never Seen", groupBy: "tour_id", within: "20",
                                                       from: "2026-01-01", to: "2026-03-10"),
                               FunnelReport.Parameters(steps: "Completed Tour,Viewed Page", groupBy: "tour_id", within: "3", from: "2026-01-20", to: "2026-03-10")] {
                let request = try stores.funnels.request(parameters)
                var funnel: FunnelReport.Result?
                while funnel == nil {
                    switch try await stores.funnels.run(account: account, request) {
                    case .ready(let result): funnel = result
                    case .building: while try await stores.upkeep.stepReportLists(now: clock.clock.now()) {}
                    }
                }
                let f = try #require(funnel)
                reports.append("funnel \(f.steps.map(\.name)) \(f.total.reached) \((f.groups ?? []).map { "\(JSONWriter.string($0.value)) \($0.reached)" })")
            }
            // Exports: customers (a filter, properties, built-in and company columns) and one message's deliveries.
            for (i, uid) in ["u1", "u2", "u3"].enumerated() {
                for metric in ["sent", "delivered", "opened", "drafted"].prefix(2 + i) {
                    _ = try await ingestor.ingest(.event, account: account, body: Array("""
                        {"uid":"\(uid)","name":"Customer.io \(metric)","timestamp":"2026-02-2\(i)T10:00:00Z","metric":"\(metric)","campaign_id":7,
                         "delivery_id":"d\(i)","subject":"Hello, \\"world\\""}
                        """.utf8), source: .customerio)
                }
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trove-exports-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let settings = ExportSettings(directory: directory, publicURL: "http://127.0.0.1")
            let jobs = ExportJobs(store: stores.exports, clock: clock.clock, settings: settings)
            let customers = try await jobs.createCustomers(account: account, CustomerExportRequest(
                filters: try json(Self.filters[1]), attributes: ["plan", "score", "tags", "created_at", "admin", "company.employees", "city"]))
            let everyone = try await jobs.createCustomers(account: account, CustomerExportRequest(attributes: ["signup_at", "vip"]))
            let deliveries = try await jobs.createDeliveries(account: account, DeliveryExportRequest(
                messageField: "campaign_id", messageID: 7, attributes: ["plan"]))
            try await stores.exportWork(settings).runUntilIdle()
            for job in [customers, everyone, deliveries] {
                let done = try await jobs.get(account: account, id: job.id)
                // Where the engine keeps it: PostgreSQL in the database, SQLite in the folder.
                var file = (try? String(contentsOfFile: settings.file(job.id), encoding: .utf8)) ?? "(no file: \(done.error ?? ""))"
                if case .stored(_, let parts, let read)? = try await stores.exports.storedFile(account: account, id: job.id) {
                    var bytes: [UInt8] = []
                    for part in 0..<parts { bytes += try await read(part) }
                    file = String(decoding: bytes, as: UTF8.self)
                }
                reports.append("export \(job.type) \(done.status) \(done.total):\n" + file)
            }
            let overview = try await stores.upkeep.overview(account: account)
            reports.append("overview \(overview)")
            states.append(reports.joined(separator: "\n"))
        }
        return states
    }

    /// JSON text with every object's keys sorted, to compare what two engines stored.
    static func canonical(_ text: String, without eventKey: String? = nil) -> String {
        func sorted(_ value: JSON, parent: String? = nil) -> JSON {
            switch value {
            case .object(let members):
                return .object(members.filter { parent != "event" || $0.key != eventKey }.sorted { $0.key < $1.key }
                    .map { JSONMember($0.key, sorted($0.value, parent: $0.key)) })
            case .array(let values): return .array(values.map { sorted($0) })
            default: return value
            }
        }
        return (try? JSONWriter.string(sorted(JSONParser.parse(Array(text.utf8))))) ?? text
    }

    @Test(.enabled(if: TestEngine.available.contains(.postgres), "needs TROVE_TEST_POSTGRES"), arguments: [UInt64(7), 20261203])
    func postgresKeepsTheMembershipSQLiteKeeps(seed: UInt64) async throws {
        let sqlite = try await run(.sqlite, seed: seed)
        let postgres = try await run(.postgres, seed: seed)
        if ProcessInfo.processInfo.environment["TROVE_DUMP"] != nil {
            try? sqlite.joined(separator: "\n=====\n").write(toFile: "/tmp/seg-sqlite-\(seed).txt", atomically: true, encoding: .utf8)
            try? postgres.joined(separator: "\n=====\n").write(toFile: "/tmp/seg-pg-\(seed).txt", atomically: true, encoding: .utf8)
        }
        #expect(sqlite.count == postgres.count)
        for (a, b) in zip(sqlite, postgres) { #expect(a == b) }
        // Every segment had members at some point, and people left too, or the test proves little.
        let everyone = sqlite.joined(separator: "\n")
        for id in 1...(Self.segments.count + 2) { #expect(everyone.contains("\n\(id): [\"u"), "segment \(id) never had members (seed \(seed))") }
        #expect(everyone.contains("-\""))
        #expect(everyone.contains("funnel [\"Viewed Page\", \"Completed Tour\"] [") && !everyone.contains("] [0, 0]"), "the funnels counted someone")
        #expect(["identify ", "event ", "segment_add ", "segment_remove "].allSatisfy { everyone.contains($0) }, "the Customer.io outbox saw every kind")
        #expect(everyone.contains("export customers done") && everyone.contains("export deliveries done 8:"), "the exports ran")
        #expect(everyone.contains("viewed_page [") && everyone.contains("+1"), "the reports counted something")
        #expect(everyone.contains("segment.entered {") && everyone.contains("segment.exited {") && everyone.contains("event.created {"),
                "webhooks heard entries, exits and events")
    }
}
