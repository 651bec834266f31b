import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A closed-loop HTTP/1.1 load generator: `connections` threads, each with one keep-alive connection and
/// blocking sockets, send the next request as soon as the previous reply arrived (as wrk does). It knows
/// exactly which requests were acknowledged, so a run can be checked against the database afterwards.
public final class LoadGenerator: @unchecked Sendable {
    /// Writes request `index`'s body.
    public typealias BodyBuilder = @Sendable (_ index: Int, _ body: inout [UInt8]) -> Void
    /// Whether a reply acknowledges the request (2xx and whatever the workload checks in the body).
    public typealias Acceptance = @Sendable (_ status: Int, _ body: ArraySlice<UInt8>) -> Bool

    public struct Outcome: Sendable {
        /// Per request that got a reply, in microseconds, sorted.
        public var latencies: [UInt32] = []
        public var statuses: [Int: Int] = [:]
        public var transportErrors = 0
        public var seconds = 0.0
        /// Indexes of the acknowledged requests, ascending.
        public var acknowledged: [Int] = []

        public func percentile(_ p: Double) -> Double { Self.percentile(latencies, p) }

        /// Another run's outcome, as if one (request indexes are each run's own: not merged).
        public mutating func add(_ other: Outcome) {
            latencies = (latencies + other.latencies).sorted()
            statuses.merge(other.statuses, uniquingKeysWith: +)
            transportErrors += other.transportErrors
            seconds += other.seconds
        }

        /// The `p` quantile of sorted microsecond latencies, in milliseconds.
        static func percentile(_ latencies: [UInt32], _ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let i = min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)
            return Double(latencies[max(0, i)]) / 1000
        }
    }

    /// Writes request `index` whole: request line, headers and body.
    public typealias RequestBuilder = @Sendable (_ index: Int, _ request: inout [UInt8]) -> Void

    /// The servers' ports: connection k goes to `ports[k % ports.count]` (several nodes on one database).
    let ports: [Int]
    let connections: Int
    let requests: Int
    let build: RequestBuilder
    let accept: Acceptance
    private let nextIndex = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    /// POSTs of JSON bodies to `path`. The body is written straight into the request buffer each
    /// connection reuses, so the client allocates nothing per request (it shares the 2 cores with the
    /// server it measures).
    /// `headers`: more header lines, each ending in CRLF.
    public convenience init(
        port: Int, path: String, connections: Int, requests: Int, body: @escaping BodyBuilder, accept: @escaping Acceptance, headers: String = ""
    ) {
        self.init(ports: [port], path: path, connections: connections, requests: requests, body: body, accept: accept, headers: headers)
    }

    public convenience init(
        ports: [Int], path: String, connections: Int, requests: Int, body: @escaping BodyBuilder, accept: @escaping Acceptance, headers: String = ""
    ) {
        let head = Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(headers)Content-Type: application/json\r\nContent-Length: ".utf8)
        let lengthDigits = 10
        self.init(ports: ports, connections: connections, requests: requests, request: { index, request in
            request += head
            let lengthAt = request.count
            for _ in 0..<lengthDigits { request.append(UInt8(ascii: " ")) }  // the length, once the body is written
            request.append(13); request.append(10); request.append(13); request.append(10)
            let bodyAt = request.count
            body(index, &request)
            let length = request.count - bodyAt
            var digits = 1
            var rest = length / 10
            while rest > 0 { digits += 1; rest /= 10 }
            var value = length
            for k in stride(from: digits - 1, through: 0, by: -1) {
                request[lengthAt + k] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            request.removeSubrange((lengthAt + digits)..<(lengthAt + lengthDigits))  // shifts in place
        }, accept: accept)
    }

    public convenience init(port: Int, connections: Int, requests: Int, request: @escaping RequestBuilder, accept: @escaping Acceptance) {
        self.init(ports: [port], connections: connections, requests: requests, request: request, accept: accept)
    }

    public init(ports: [Int], connections: Int, requests: Int, request: @escaping RequestBuilder, accept: @escaping Acceptance) {
        self.ports = ports
        self.connections = connections
        self.requests = requests
        self.build = request
        self.accept = accept
    }

    /// Makes the workers stop after their current request.
    public func stop() { stopped.store(true, ordering: .relaxed) }

    /// Requests handed out so far (sent or about to be).
    public var started: Int { min(requests, nextIndex.load(ordering: .relaxed)) }

    /// Runs on threads of its own, leaving Swift's cooperative pool free (its blocking sockets would
    /// otherwise starve it).
    public func run() async -> Outcome {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.runBlocking()) }.start()
        }
    }

    /// Runs to completion (or `stop()`, or until the server stops accepting connections); blocks.
    public func runBlocking() -> Outcome {
        let results = WorkerResults(count: connections)
        let group = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds
        for w in 0..<connections {
            group.enter()
            let thread = Thread { [self] in
                results.slots[w] = work(port: ports[w % ports.count])
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        var outcome = Outcome()
        outcome.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        for r in results.slots {
            outcome.latencies += r.latencies
            outcome.acknowledged += r.acknowledged
            outcome.transportErrors += r.transportErrors
            for (k, v) in r.statuses { outcome.statuses[k, default: 0] += v }
        }
        outcome.latencies.sort()
        outcome.acknowledged.sort()
        return outcome
    }

    private func work(port: Int) -> Outcome {
        var outcome = Outcome()
        var connection: HTTPConnection?
        var request: [UInt8] = []
        request.reserveCapacity(1 << 16)
        while !stopped.load(ordering: .relaxed) {
            let index = nextIndex.add(1, ordering: .relaxed).oldValue
            guard index < requests else { break }
            request.removeAll(keepingCapacity: true)
            build(index, &request)

            if connection == nil { connection = HTTPConnection(port: port) }
            guard let open = connection else {
                outcome.transportErrors += 1
                break  // the server is gone
            }
            let sent = DispatchTime.now().uptimeNanoseconds
            guard open.send(request), let reply = open.receive() else {
                outcome.transportErrors += 1
                open.close()
                connection = nil
                continue
            }
            let micros = (DispatchTime.now().uptimeNanoseconds - sent) / 1000
            outcome.latencies.append(UInt32(clamping: micros))
            outcome.statuses[reply.status, default: 0] += 1
            if accept(reply.status, reply.body) { outcome.acknowledged.append(index) }
            if !reply.keepAlive {
                open.close()
                connection = nil
            }
        }
        connection?.close()
        return outcome
    }
}

private final class WorkerResults: @unchecked Sendable {
    var slots: [LoadGenerator.Outcome]
    init(count: Int) { slots = Array(repeating: .init(), count: count) }
}

/// One blocking keep-alive HTTP/1.1 connection to 127.0.0.1. Only what the load generator needs:
/// replies with Content-Length.
final class HTTPConnection {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var filled = 0

    init?(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(fd)
            return nil
        }
    }

    func close() { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    struct Reply {
        var status: Int
        var body: ArraySlice<UInt8>
        var keepAlive: Bool
    }

    func receive() -> Reply? {
        filled = 0
        var headerEnd: Int?
        while headerEnd == nil {
            guard fill() else { return nil }
            headerEnd = Self.find([13, 10, 13, 10], in: buffer[0..<filled])
        }
        let headers = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        let lines = headers.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.count >= 12, let status = Int(statusLine.dropFirst(9).prefix(3)) else {
            return nil
        }
        var length = 0
        var keepAlive = true
        for line in lines.dropFirst() {
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if lower.hasPrefix("connection:") && lower.contains("close") { keepAlive = false }
        }
        let bodyStart = headerEnd! + 4
        while filled < bodyStart + length {
            guard fill() else { return nil }
        }
        return Reply(status: status, body: buffer[bodyStart..<(bodyStart + length)], keepAlive: keepAlive)
    }

    private func fill() -> Bool {
        if filled == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, $0.count - filled, 0) }
        guard n > 0 else { return false }
        filled += n
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        while i <= haystack.endIndex - needle.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
