import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import TroveBench
import TroveCore
import TroveTestEngines

/// contract §10, §13: the outboxes survive `kill -9` in the middle of a backlog. Slow live receivers (a
/// webhook endpoint verifying signatures, a fake Customer.io Track API) keep deliveries in flight; the
/// server is killed, restarted, and every event reaches both at least once, Customer.io in per-profile
/// order, with at most the ones in flight sent twice.
@Suite struct DeliveryCrashTests {
    final class Receivers: Sendable {
        let webhooks = Mutex<[(id: String, signature: String, body: [UInt8])]>([])
        let customerIO = Mutex<[(person: String, n: Int64)]>([])

        var router: Router<BasicRequestContext> {
            let router = Router()
            router.post("/hook") { request, _ -> Response in
                let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                try await Task.sleep(for: .milliseconds(40))
                self.webhooks.withLock {
                    $0.append((request.headers[HTTPField.Name("X-Chameleon-Id")!] ?? "", request.headers[HTTPField.Name("X-Chameleon-Signature")!] ?? "", body))
                }
                return Response(status: .ok)
            }
            router.post("/api/v1/customers/:id/events") { request, context -> Response in
                let body = try JSONParser.parse(Array(try await request.body.collect(upTo: 1 << 20).readableBytesView))
                try await Task.sleep(for: .milliseconds(40))
                let n = { if case .int(let i)? = body["data"]?["n"] { return i } else { return -1 } }()
                self.customerIO.withLock { $0.append((context.parameters.get("id") ?? "", n)) }
                return Response(status: .ok)
            }
            return router
        }
    }

    @Test func queuedDeliveriesSurviveSIGKILL() async throws {
        let receivers = Receivers()
        try await withLiveReceiver(receivers.router) { receiverPort, directory in
            let database = directory + "/trove.sqlite"
            let server = try await onOwnThread { try ServerProcess.start(
                executable: try troveExecutable(), database: database, arguments: ["--allow-insecure-webhooks"], logDirectory: directory) }
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { http.shutdown { _ in } }  // on every way out: a client dropped unshut brings the test process down
            func call(_ method: HTTPMethod, _ path: String, _ body: JSON) async throws -> JSON { try await callTrove(http, server, method, path, body) }

            let hook = try await call(.POST, "/v3/edit/webhooks", [
                "url": .string("http://127.0.0.1:\(receiverPort)/hook"), "topics": .array([.string("event.created")]),
            ])
            let secret = try #require(hook["webhook"]?["secret"]?.stringValue)
            let destination = try await call(.PUT, "/v3/edit/integrations/customerio", [
                "site_id": "s", "api_key": "k", "track_url": .string("http://127.0.0.1:\(receiverPort)"), "forward_all_events": true,
                "sync_profiles": false,
            ])
            #expect(destination["integration"] != nil, "\(destination)")
            // 400 events over 20 profiles; per profile n counts up.
            let total = 400
            for batch in 0..<2 {
                let events: [JSON] = (0..<200).map { i in
                    let k = batch * 200 + i
                    return .object([JSONMember("uid", .string("p\(k % 20)")), JSONMember("name", "Backlog"), JSONMember("n", .int(Int64(k))),
                                    JSONMember("message_id", .string("m\(k)"))])
                }
                let reply = try await call(.POST, "/v3/observe/hooks/\(server.accountSecret)/events/batch", ["events": .array(events)])
                #expect(reply["batch"]?["accepted"] == 200)
            }

            // Kill it while both queues are busy.
            let deadline = Date().addingTimeInterval(60)
            while receivers.webhooks.withLock({ $0.count }) < 40 || receivers.customerIO.withLock({ $0.count }) < 40, Date() < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            server.kill(SIGKILL)
            let atKill = (receivers.webhooks.withLock { $0.count }, receivers.customerIO.withLock { $0.count })
            #expect(atKill.0 < total && atKill.1 < total, "killed mid-backlog: \(atKill)")

            let restarted = try await onOwnThread { try ServerProcess.start(
                executable: try troveExecutable(), database: database, accountSecret: server.accountSecret,
                arguments: ["--allow-insecure-webhooks"], logDirectory: directory) }
            defer { restarted.kill(SIGTERM) }
            let finish = Date().addingTimeInterval(120)
            while Date() < finish {
                let webhookIDs = receivers.webhooks.withLock { Set($0.map(\.id)) }.count
                let events = receivers.customerIO.withLock { Set($0.map(\.n)) }.count
                if webhookIDs >= total && events >= total { break }
                try await Task.sleep(for: .milliseconds(50))
            }

            let webhooks = receivers.webhooks.withLock { $0 }
            #expect(Set(webhooks.map(\.id)).count == total, "every event.created delivered at least once")
            #expect(webhooks.count - total <= 4, "at most the 4 in flight sent twice: \(webhooks.count - total)")
            var ns = Set<Int64>()
            for delivery in webhooks {
                #expect(throws: Never.self) { try WebhookSignature.verify(body: delivery.body, signature: delivery.signature, secret: secret, now: TroveClock.system.now()) }
                if case .int(let n)? = (try? JSONParser.parse(delivery.body))?["data"]?["event"]?["properties"]?["n"] { ns.insert(n) }
            }
            #expect(ns == Set((0..<Int64(total))), "one envelope per event")

            let calls = receivers.customerIO.withLock { $0 }
            #expect(Set(calls.map(\.n)) == Set((0..<Int64(total))))
            #expect(calls.count - total <= 8, "at most the 8 in flight sent twice: \(calls.count - total)")
            for person in 0..<20 {
                var seen = Set<Int64>()
                let firstArrivals = calls.filter { $0.person == "p\(person)" }.map(\.n).filter { seen.insert($0).inserted }
                #expect(firstArrivals == firstArrivals.sorted(), "p\(person) in order: \(firstArrivals)")
                #expect(firstArrivals.count == total / 20)
            }
        }
    }
}
