import Foundation
import Synchronization
import TroveCore

/// Membership freshness (contract §6, §12): while a background stream sends events at a fixed rate, probes
/// send one event that puts a new profile into a segment, and time from the ingest reply until
/// `/v1/customers/:id/segments` lists that segment.
enum Freshness {
    struct Result {
        var delays: [Double]  // milliseconds, sorted
        var visible: Int
        var achievedRate: Double
        /// Probes acknowledged; those never seen within 10 s count as infinitely late in the percentiles.
        var probes: Int
        /// The uids of those never seen, with when they were acknowledged (to look for in the server's log).
        var unseen: [String] = []

        func percentile(_ p: Double) -> Double {
            let all = delays + Array(repeating: .infinity, count: max(0, probes - delays.count))
            guard !all.isEmpty else { return .infinity }
            return all[min(all.count - 1, max(0, Int((Double(all.count) * p).rounded(.up)) - 1))]
        }
    }

    /// With several `ports` (nodes on one database) the stream goes round them, and each probe is sent to one
    /// node and looked for on the next.
    static func measure(ports: [Int], secret: String, appAPIKey: String, profiles: Int, rate: Int, probes: Int) async throws -> Result {
        let controls = ports.compactMap { HTTPConnection(port: $0) }
        guard controls.count == ports.count, let control = controls.first else { throw BenchError("cannot connect to the server") }
        defer { for c in controls { c.close() } }
        // The segment the probes enter: anyone who did "Bench Probe".
        let segmentBody = #"{"name":"Freshness probe","items":[{"kind":"event","value":"Bench Probe"}]}"#
        guard let created = request(control, "POST", "/v3/edit/segments", headers: "X-Account-Secret: \(secret)\r\n", body: segmentBody),
              created.status == 200, let id = created.json?["segment"]?["id"]?.stringValue.flatMap(PublicID.decode)
        else { throw BenchError("could not create the probe segment") }
        // Wait for its (empty) build so probes measure incremental evaluation, not the build.
        for _ in 0..<600 {
            if request(control, "GET", "/v3/edit/segments/\(PublicID.encode(id))", headers: "X-Account-Secret: \(secret)\r\n")?.json?["segment"]?["state"] == "ready" { break }
            usleep(50_000)
        }

        let stop = Atomic<Bool>(false)
        let sent = Atomic<Int>(0)
        let background = Thread {
            let connections = ports.compactMap { HTTPConnection(port: $0) }
            guard connections.count == ports.count else { return }
            defer { for c in connections { c.close() } }
            // Batches of 100 every 10 ms of schedule = `rate` events/s, catching up when behind.
            let batch = 100
            let interval = Double(batch) / Double(rate)
            let start = Date()
            var batches = 0
            var random = SeededRandom(seed: 7)
            while !stop.load(ordering: .relaxed) {
                let due = start.addingTimeInterval(Double(batches) * interval)
                let wait = due.timeIntervalSinceNow
                if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                var body = Array(#"{"events":["#.utf8)
                for i in 0..<batch {
                    if i > 0 { body.append(UInt8(ascii: ",")) }
                    let n = Int(random.next() % UInt64(profiles)) + 1
                    body += Array(#"{"uid":"user-\#(n)","name":"Viewed Page","path":"/bench"}"#.utf8)
                }
                body += Array("]}".utf8)
                let node = connections[batches % connections.count]
                guard let reply = request(node, "POST", "/v3/observe/hooks/\(secret)/events/batch", headers: "", bytes: body),
                      reply.status == 202 else { continue }
                batches += 1
                sent.add(batch, ordering: .relaxed)
            }
        }
        background.start()
        let streamStart = Date()
        usleep(500_000)  // let the stream settle

        var delays: [Double] = []
        var acknowledgedProbes = 0
        var unseen: [String] = []
        for k in 0..<probes {
            let uid = "probe-\(UUID().uuidString.prefix(8))-\(k)"
            let (sendTo, lookAt) = (controls[k % controls.count], controls[(k + 1) % controls.count])
            guard let reply = request(sendTo, "POST", "/v3/observe/hooks/\(secret)/events", headers: "", body: #"{"uid":"\#(uid)","name":"Bench Probe"}"#),
                  reply.status == 200 else { continue }
            acknowledgedProbes += 1
            let acknowledged = Date()
            while Date().timeIntervalSince(acknowledged) < 10 {
                let look = request(lookAt, "GET", "/v1/customers/\(uid)/segments", headers: "Authorization: Bearer \(appAPIKey)\r\n")
                if look?.json?["segments"]?.arrayValue?.contains(where: { $0["id"] == .int(id) }) == true {
                    delays.append(Date().timeIntervalSince(acknowledged) * 1000)
                    break
                }
                usleep(2_000)
            }
            if delays.count < acknowledgedProbes { unseen.append("\(uid) (acknowledged \(Timestamp(milliseconds: Int64(acknowledged.timeIntervalSince1970 * 1000)).iso8601))") }
            usleep(50_000)
        }
        stop.store(true, ordering: .relaxed)
        let achieved = Double(sent.load(ordering: .relaxed)) / Date().timeIntervalSince(streamStart)
        return Result(delays: delays.sorted(), visible: delays.count, achievedRate: achieved, probes: acknowledgedProbes, unseen: unseen)
    }

    struct Reply {
        var status: Int
        var json: JSON?
    }

    static func request(_ c: HTTPConnection, _ method: String, _ path: String, headers: String, body: String? = nil) -> Reply? {
        request(c, method, path, headers: headers, bytes: body.map { Array($0.utf8) })
    }

    static func request(_ c: HTTPConnection, _ method: String, _ path: String, headers: String, bytes: [UInt8]?) -> Reply? {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(headers)"
        if let bytes { head += "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n" }
        head += "\r\n"
        guard c.send(Array(head.utf8) + (bytes ?? [])), let reply = c.receive() else { return nil }
        return Reply(status: reply.status, json: try? JSONParser.parse(reply.body))
    }
}
