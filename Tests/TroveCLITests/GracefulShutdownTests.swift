import AsyncHTTPClient
import Foundation
import GRDB
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

#if canImport(Glibc)
import Glibc
#endif

/// contract §13 / issue 7: SIGTERM stops taking connections, finishes the request in flight, lets the webhook
/// sends in flight finish and records them, and exits 0; what the receiver got is exactly what the outbox
/// says was delivered, and after a restart the rest arrive once each.
@Suite struct GracefulShutdownTests {
    final class Receiver: Sendable {
        let ids = Mutex<[String]>([])

        var router: Router<BasicRequestContext> {
            let router = Router()
            router.post("/hook") { request, _ -> Response in
                _ = try await request.body.collect(upTo: 1 << 20)
                try await Task.sleep(for: .milliseconds(300))
                self.ids.withLock { $0.append(request.headers[HTTPField.Name("X-Chameleon-Id")!] ?? "") }
                return Response(status: .ok)
            }
            return router
        }
    }

    /// A plain TCP connection to 127.0.0.1:port (nil when refused), to hold a request half-sent.
    static func connect(_ port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Reads until the peer closes or `limit` seconds pass.
    static func readAll(_ fd: Int32, limit: Double) -> String {
        var timeout = timeval(tv_sec: Int(limit), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out += buffer[0..<n]
            if String(decoding: out, as: UTF8.self).contains("\r\n\r\n{") { break }  // headers and the JSON body's start
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func sigtermFinishesWhatIsInFlightAndLosesNothing() async throws {
        let receiver = Receiver()
        try await withLiveReceiver(receiver.router) { receiverPort, directory in
            let database = directory + "/trove.sqlite"
            let server = try await onOwnThread { try ServerProcess.start(
                executable: try troveExecutable(), database: database, arguments: ["--allow-insecure-webhooks"], logDirectory: directory) }
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { http.shutdown { _ in } }  // on every way out: a client dropped unshut brings the test process down
            func call(_ method: HTTPMethod, _ path: String, _ body: JSON) async throws -> JSON { try await callTrove(http, server, method, path, body) }
            _ = try await call(.POST, "/v3/edit/webhooks", ["url": .string("http://127.0.0.1:\(receiverPort)/hook"), "topics": ["event.created"]])
            let total = 100
            let events: [JSON] = (0..<total).map { .object([JSONMember("uid", .string("p\($0 % 10)")), JSONMember("name", "Backlog")]) }
            #expect(try await call(.POST, "/v3/observe/hooks/\(server.accountSecret)/events/batch", ["events": .array(events)])["batch"]?["accepted"] == .int(Int64(total)))
            try await http.shutdown()  // (the deferred one then finds it shut down)

            // Deliveries under way; a request half-sent.
            let deadline = Date().addingTimeInterval(60)
            while receiver.ids.withLock({ $0.count }) < 8, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
            let body = Array(#"{"uid":"late","name":"Last Event","message_id":"last"}"#.utf8)
            let head = "POST /v3/observe/hooks/\(server.accountSecret)/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
            let fd = try #require(Self.connect(server.port))
            // Closed once: closing it again after the explicit close below would close whatever the
            // number was reused for meanwhile — another test's socket or SQLite file in this process
            // (seen as NIO's "EBADF in write" crash and as SQLITE_PROTOCOL in other suites).
            var open = true
            defer { if open { close(fd) } }
            Self.send(fd, Array(head.utf8) + body[0..<10])
            try await Task.sleep(for: .milliseconds(200))

            kill(server.pid, SIGTERM)
            var refused = false
            for _ in 0..<100 {
                if let other = Self.connect(server.port) { close(other) } else { refused = true; break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(refused, "no new connections once stopping")
            #expect(server.process.isRunning, "still finishing the request in flight")
            Self.send(fd, Array(body[10...]))
            let reply = Self.readAll(fd, limit: 10)
            #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply)")
            close(fd)
            open = false
            _ = try await onOwnThread { server.process.waitUntilExit() }
            #expect(server.process.terminationStatus == 0)
            let wal = (try? FileManager.default.attributesOfItem(atPath: database + "-wal")[.size] as? Int) ?? 0
            #expect(wal == 0, "the log was copied into the database file at the stop")

            // What the receiver got is exactly what the outbox records as delivered; nothing failed.
            let received = receiver.ids.withLock { $0 }
            #expect(received.count < total + 1, "stopped mid-backlog")
            let reader = try AppDatabase(path: database, readOnly: true)
            let rows = try await reader.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT envelope_id, state, attempts FROM webhook_deliveries")
            }
            #expect(rows.count == total + 1, "one delivery per event, the late one too")
            let delivered = Set(rows.filter { $0["state"] == "delivered" }.map { $0["envelope_id"] as String })
            #expect(delivered == Set(received) && received.count == delivered.count)
            #expect(rows.allSatisfy { ($0["state"] as String) != "failed" && ($0["attempts"] as Int) <= 1 }, "no send was cut off and counted as a failure")
            #expect(try await reader.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE dedupe_key = 'last'") } == 1)
            #expect(try await runTrove(["check", "--database", database]).status == 0)

            // Restarted, the rest arrive, each exactly once.
            let restarted = try await onOwnThread { try ServerProcess.start(
                executable: try troveExecutable(), database: database, accountSecret: server.accountSecret,
                arguments: ["--allow-insecure-webhooks"], logDirectory: directory) }
            defer { restarted.kill(SIGTERM) }
            let finish = Date().addingTimeInterval(120)
            while receiver.ids.withLock({ $0.count }) < total + 1, Date() < finish { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(300))
            let all = receiver.ids.withLock { $0 }
            #expect(all.count == total + 1 && Set(all).count == total + 1, "each delivery exactly once: \(all.count) sends, \(Set(all).count) distinct")
        }
    }
}
