import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Synchronization
import Testing
import TroveBench
import TroveCore
import TroveTestEngines

/// Issue 20: three `trove serve` processes on one PostgreSQL database, a client spreading its writes over
/// them, a local receiver of webhooks and of Customer.io's Track API (checking its Basic auth). The segment's
/// ledger must equal an independent evaluation of what was sent; each ledger row reaches the webhook receiver
/// exactly once, and Customer.io's segment exactly once, while all three run; after one is killed with
/// SIGKILL mid-delivery, the other two finish every pending delivery (at most the ones it had in flight
/// sent twice); every event sent (some through two nodes) is stored once; an export asked of one node is
/// downloaded through another.
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct MultiNodeTests {
    final class Receiver: Sendable {
        let deliveries = Mutex<[(id: String, body: [UInt8])]>([])
        /// Customer.io segment calls: (uid, added) per id, in arrival order; calls refused for their auth.
        let customerIO = Mutex<[(uid: String, added: Bool)]>([])
        let refused = Mutex(0)
        let delay = Mutex<Duration>(.milliseconds(2))
        static let trackAuth = "Basic " + Data("site-1:key-1".utf8).base64EncodedString()

        var router: Router<BasicRequestContext> {
            let router = Router()
            router.post("/hook") { request, _ -> Response in
                let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                try await Task.sleep(for: self.delay.withLock { $0 })
                self.deliveries.withLock { $0.append((request.headers[HTTPField.Name("X-Chameleon-Id")!] ?? "", body)) }
                return Response(status: .ok)
            }
            for (action, added) in [("add_customers", true), ("remove_customers", false)] {
                router.post("/api/v1/segments/42/\(action)") { request, _ -> Response in
                    guard request.headers[.authorization] == Self.trackAuth else {
                        self.refused.withLock { $0 += 1 }
                        return Response(status: .unauthorized)
                    }
                    let body = try JSONParser.parse(Array(try await request.body.collect(upTo: 1 << 20).readableBytesView))
                    try await Task.sleep(for: self.delay.withLock { $0 })
                    let ids = body["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    self.customerIO.withLock { $0 += ids.map { ($0, added) } }
                    return Response(status: .ok)
                }
            }
            return router
        }

        /// (uid, entered) per distinct envelope, and how many arrived in all.
        func received() -> (changes: [String: (uid: String, entered: Bool)], total: Int) {
            let all = deliveries.withLock { $0 }
            var changes: [String: (uid: String, entered: Bool)] = [:]
            for d in all {
                guard let json = try? JSONParser.parse(d.body), let uid = json.at("data.profile.uid")?.stringValue else { continue }
                changes[d.id] = (uid, json["kind"] == "segment.entered")
            }
            return (changes, all.count)
        }
    }

    /// Each uid's score in round `round` (the segment: score ≥ 80): a third of them cross the line each round.
    static func score(_ i: Int, round: Int) -> Int64 { Int64((i * 37 + round * 53) % 160) }

    @Test func threeNodesShareTheWorkAndFinishWhatAKilledOneLeft() async throws {
        let receiver = Receiver()
        try await withLiveReceiver(receiver.router) { receiverPort, directory in
            let database = try await TestPostgres.createDatabase()
            let name = database.location.database
            defer { Task { try? await TestPostgres.drop(name) } }
            let url = TestPostgres.url(of: name)
            // Short leases, so a killed node's work moves within seconds; an exports folder each (nothing shared
            // but the database: export files are kept there).
            @Sendable func arguments(_ node: Int) -> [String] {
                ["--allow-insecure-webhooks", "--lease-seconds", "3", "--exports-dir", directory + "/exports-\(node)"]
            }
            let executable = try troveExecutable()
            let first = try await onOwnThread { try ServerProcess.start(executable: executable, database: url, arguments: arguments(0), logDirectory: directory) }
            var started = [first]
            for node in 1..<3 {
                started.append(try await onOwnThread { try ServerProcess.start(
                    executable: executable, database: url, accountSecret: first.accountSecret, arguments: arguments(node), logDirectory: directory) })
            }
            let nodes = started
            defer { for node in nodes { node.kill(SIGKILL) } }
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { http.shutdown { _ in } }
            func call(_ node: Int, _ method: HTTPMethod, _ path: String, _ body: JSON = [:]) async throws -> JSON {
                try await callTrove(http, nodes[node], method, path, body)
            }
            func log(_ node: Int) -> String { (try? String(contentsOfFile: nodes[node].logPath, encoding: .utf8))?.suffix(2000).description ?? "" }

            let hook = try await call(0, .POST, "/v3/edit/webhooks", [
                "url": .string("http://127.0.0.1:\(receiverPort)/hook"), "topics": ["segment.entered", "segment.exited"],
            ])
            #expect(hook["webhook"] != nil, "\(hook)")
            let segment = try await call(1, .POST, "/v3/edit/segments", [
                "name": "Ready", "items": [["kind": "property", "prop": "score", "op": "gte", "value": 80]],
            ])
            let segmentID = try #require(segment.at("segment.id")?.stringValue, "\(segment)")
            let destination = try await call(2, .PUT, "/v3/edit/integrations/customerio", [
                "site_id": "site-1", "api_key": "key-1", "track_url": .string("http://127.0.0.1:\(receiverPort)"), "sync_profiles": false,
                "sync_segments": [["segment_id": .string(segmentID), "customerio_segment_id": "42"]],
            ])
            #expect(destination["integration"] != nil, "\(destination)")

            // The client: each round, every uid's score, the batches spread over the three nodes at once.
            let people = 300
            func send(round: Int) async throws {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for node in 0..<nodes.count where nodes[node].process.terminationStatus == nil {
                        group.addTask {
                            for chunk in stride(from: node * 20, to: people, by: 20 * nodes.count) {
                                let profiles: [JSON] = (chunk..<min(chunk + 20, people)).map { i in
                                    ["uid": .string("p\(i)"), "score": .int(Self.score(i, round: round))]
                                }
                                let reply = try await call(node, .POST, "/v3/observe/hooks/\(first.accountSecret)/profiles/batch", ["profiles": .array(profiles)])
                                #expect(reply.at("batch.accepted") == .int(Int64(profiles.count)), "\(reply)")
                                // The round's events, each sent to this node and to the next: stored once.
                                let events: [JSON] = (chunk..<min(chunk + 20, people)).map { i in
                                    ["uid": .string("p\(i)"), "name": "Scored", "message_id": .string("r\(round)-\(i)"), "score": .int(Self.score(i, round: round))]
                                }
                                for target in [node, (node + 1) % nodes.count] where nodes[target].process.terminationStatus == nil {
                                    let sent = try await call(target, .POST, "/v3/observe/hooks/\(first.accountSecret)/events/batch", ["events": .array(events)])
                                    #expect(sent.at("batch.accepted") == .int(Int64(events.count)), "\(sent)")
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            /// The whole ledger, read through `node`.
            func ledger(_ node: Int) async throws -> [(uid: String, entered: Bool)] {
                var rows: [(uid: String, entered: Bool)] = []
                var since = "0"
                while true {
                    let page = try await call(node, .GET, "/v3/edit/segments/\(segmentID)/changes?since=\(since)&limit=1000")
                    let changes = page["changes"]?.arrayValue ?? []
                    for c in changes { rows.append((c.at("profile.uid")?.stringValue ?? "", c["change"] == "entered")) }
                    guard !changes.isEmpty, let next = page["next"]?.stringValue else { return rows }
                    since = next
                }
            }
            func members(_ rows: [(uid: String, entered: Bool)]) -> Set<String> {
                var set = Set<String>()
                for row in rows { if row.entered { set.insert(row.uid) } else { set.remove(row.uid) } }
                return set
            }
            func expected(round: Int) -> Set<String> { Set((0..<people).filter { Self.score($0, round: round) >= 80 }.map { "p\($0)" }) }
            /// Customer.io's segment as its calls left it, replayed in arrival order.
            func customerIOMembers() -> Set<String> {
                var set = Set<String>()
                for call in receiver.customerIO.withLock({ $0 }) { if call.added { set.insert(call.uid) } else { set.remove(call.uid) } }
                return set
            }

            // Steady state: three rounds, then the ledger settles on the independent evaluation, and each of
            // its rows reaches the receiver exactly once.
            for round in 0..<3 { try await send(round: round) }
            do {
                try await waitUntil("the ledger to match round 2 and every row delivered", giveUpAfter: 120) {
                    let rows = try await ledger(2)
                    return members(rows) == expected(round: 2) && receiver.received().changes.count == rows.count
                        && receiver.customerIO.withLock({ $0.count }) == rows.count
                }
            } catch {
                throw BenchError("\(error); node logs:\n\(log(0))\n\(log(1))\n\(log(2))")
            }
            let steady = try await ledger(0)
            let heard = receiver.received()
            #expect(heard.total == steady.count, "each ledger row delivered once: \(heard.total) deliveries for \(steady.count) rows")
            #expect(heard.changes.values.filter(\.entered).count == steady.filter(\.entered).count)
            #expect(Set(heard.changes.values.map { "\($0.uid) \($0.entered)" }).count == Set(steady.map { "\($0.uid) \($0.entered)" }).count)
            #expect(customerIOMembers() == members(steady), "Customer.io's segment holds the ledger's members")
            #expect(receiver.customerIO.withLock { $0.count } == steady.count, "each ledger row sent to Customer.io once")
            #expect(receiver.refused.withLock { $0 } == 0, "every Track API call carried site_id:api_key")

            // An export asked of one node, followed and downloaded through the others.
            let stdout = (try? String(contentsOfFile: nodes[0].logPath.replacingOccurrences(of: ".log", with: ".stdout"), encoding: .utf8)) ?? ""
            let appKey = try #require(stdout.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }.first?["app_api_key"]?.stringValue)
            func v1(_ node: Int, _ method: HTTPMethod, _ path: String, _ body: JSON? = nil) async throws -> (status: UInt, body: [UInt8]) {
                var request = HTTPClientRequest(url: path.hasPrefix("http") ? path : "http://127.0.0.1:\(nodes[node].port)\(path)")
                request.method = method
                request.headers.add(name: "Authorization", value: "Bearer \(appKey)")
                if let body { request.body = .bytes(ByteBuffer(bytes: JSONWriter.bytes(body))) }
                let response = try await http.execute(request, timeout: .seconds(30))
                return (response.status.code, Array(try await response.body.collect(upTo: 1 << 24).readableBytesView))
            }
            let created = try JSONParser.parse(try await v1(0, .POST, "/v1/exports/customers", [:]).body)
            let exportID = try #require(created.at("export.id")?.numberValue.map { Int64($0) }, "\(created)")
            try await waitUntil("the export to finish", giveUpAfter: 120) {
                try JSONParser.parse(try await v1(1, .GET, "/v1/exports/\(exportID)").body).at("export.status") == "done"
            }
            let link = try #require(try JSONParser.parse(try await v1(2, .GET, "/v1/exports/\(exportID)/download").body)["url"]?.stringValue)
            // The link names the node that made it (its --public-url); any node serves the file, from the database.
            let linkURL = try #require(URL(string: link))
            let file = try await v1(2, .GET, linkURL.path + "?" + (linkURL.query ?? ""))
            #expect(file.status == 200)
            #expect(String(decoding: file.body, as: UTF8.self).split(separator: "\n").count == people + 1, "a header and a line per person")
            for node in 0..<3 {
                let kept = ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/exports-\(node)")) ?? []).filter { $0.hasSuffix(".csv") }
                #expect(kept.isEmpty, "no node keeps the file in its folder")
            }

            // A node killed mid-delivery — the one evaluating the account's membership (its id names its process),
            // so that work moves too — while a slow receiver keeps deliveries in flight on all three.
            receiver.delay.withLock { $0 = .milliseconds(30) }
            let before = receiver.received().total
            try await send(round: 3)
            try await send(round: 4)
            try await waitUntil("deliveries under way after round 4", giveUpAfter: 120) { receiver.received().total >= before + 30 }
            let holder = try await database.query(PostgresQuery(unsafeSQL: StatementRule.testMark + " SELECT node_id FROM work_claims WHERE kind = 'membership'"))
                .first?.decode(String.self)
            let holderPID = holder.flatMap { $0.split(separator: "-").dropLast().last.flatMap { Int32($0) } }
            let victim = nodes.firstIndex { $0.pid == holderPID } ?? 1
            nodes[victim].kill(SIGKILL)
            let survivors = (0..<nodes.count).filter { $0 != victim }
            receiver.delay.withLock { $0 = .milliseconds(2) }
            do {
                try await waitUntil("the other nodes to finish every delivery", giveUpAfter: 120) {
                    let rows = try await ledger(survivors[0])
                    return members(rows) == expected(round: 4) && receiver.received().changes.count == rows.count
                        && customerIOMembers() == members(rows)
                }
            } catch {
                throw BenchError("\(error); received \(receiver.received().changes.count); node logs:\n\(log(survivors[0]))\n\(log(survivors[1]))")
            }
            #expect(holderPID != nil && nodes[victim].pid == holderPID, "the membership's node was the one killed (\(holder ?? "none"))")
            let rows = try await ledger(survivors[1])
            let final = receiver.received()
            #expect(members(rows) == expected(round: 4), "the ledger equals an independent evaluation of what was sent")
            #expect(final.changes.count == rows.count, "every ledger row delivered")
            // Sent twice at most: what the killed node had in flight (4 per endpoint).
            #expect(final.total - final.changes.count <= WebhookDeliverer.perEndpoint, "duplicates: \(final.total - final.changes.count)")
            #expect(customerIOMembers() == members(rows), "Customer.io's segment ends as the ledger does")
            // Customer.io's calls of the killed node, if it held the account's, may go again (8 in flight at most).
            let sentToCustomerIO = receiver.customerIO.withLock { $0.count }
            #expect(sentToCustomerIO >= rows.count && sentToCustomerIO - rows.count <= CustomerIODeliverer.perAccount * CustomerIODeliverer.maxIDsPerCall)
            // Every event sent, through two nodes each, stored once.
            let stored = try await database.query(PostgresQuery(unsafeSQL: StatementRule.testMark + " SELECT count(*), count(DISTINCT dedupe_key) FROM events"))
            let (count, distinct) = try stored[0].decode((Int64, Int64).self)
            #expect(count == Int64(5 * people) && distinct == count, "5 rounds of \(people) events: \(count) stored, \(distinct) distinct")
            await database.close()
        }
    }

    /// `--role api` answers the API and does no background work (it never joins the nodes); `--role worker`
    /// does the work and answers only `/health` and `/metrics`; a SQLite file allows neither.
    @Test func anAPINodeLeavesTheWorkToAWorkerNode() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let refused = try await runTrove(["serve", "--database", directory + "/one.sqlite", "--role", "api", "--port", "0"])
        #expect(refused.status != 0 && refused.errors.contains("--role api needs PostgreSQL"), "\(refused.errors)")

        let database = try await TestPostgres.createDatabase()
        defer { Task { try? await TestPostgres.drop(database.location.database) } }
        let url = TestPostgres.url(of: database.location.database)
        let executable = try troveExecutable()
        let api = try await onOwnThread { try ServerProcess.start(
            executable: executable, database: url, arguments: ["--role", "api", "--exports-dir", directory + "/exports"], logDirectory: directory) }
        defer { api.kill(SIGKILL) }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { http.shutdown { _ in } }
        let segment = try await callTrove(http, api, .POST, "/v3/edit/segments", [
            "name": "Ready", "items": [["kind": "property", "prop": "score", "op": "gte", "value": 80]],
        ])
        let segmentID = try #require(segment.at("segment.id")?.stringValue, "\(segment)")
        let profiles: [JSON] = (0..<10).map { ["uid": .string("p\($0)"), "score": .int(Int64($0 * 20))] }
        let reply = try await callTrove(http, api, .POST, "/v3/observe/hooks/\(api.accountSecret)/profiles/batch", ["profiles": .array(profiles)])
        #expect(reply.at("batch.accepted") == 10, "\(reply)")
        func count(_ sql: String) async throws -> Int64 {
            try await database.query(PostgresQuery(unsafeSQL: StatementRule.testMark + " " + sql)).first?.decode(Int64.self) ?? -1
        }
        #expect(try await count("SELECT count(*) FROM trove_nodes") == 0, "an api node is no node: it claims no work")
        #expect(try await count("SELECT count(*) FROM segment_members") == 0)

        let worker = try await onOwnThread { try ServerProcess.start(
            executable: executable, database: url, accountSecret: api.accountSecret, arguments: ["--role", "worker"], logDirectory: directory) }
        defer { worker.kill(SIGKILL) }
        try await waitUntil("the worker to build the segment", giveUpAfter: 60) {
            try await callTrove(http, api, .GET, "/v3/edit/segments/\(segmentID)", [:]).at("segment.member_count") == 6
        }
        #expect(try await count("SELECT count(*) FROM trove_nodes") == 1)
        for (path, status) in [("/health", 200), ("/metrics", 200), ("/v3/edit/segments", 404), ("/openapi.json", 404)] {
            let response = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(worker.port)\(path)"), timeout: .seconds(30))
            #expect(Int(response.status.code) == status, "\(path) on a worker")
        }
        worker.kill(SIGTERM)
        try await waitUntil("the worker to leave on a clean stop", giveUpAfter: 60) { try await count("SELECT count(*) FROM trove_nodes") == 0 }
        await database.close()
    }
}
