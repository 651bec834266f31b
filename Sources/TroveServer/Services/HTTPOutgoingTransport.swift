import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TroveCore

/// Outgoing calls (webhooks, Customer.io) over AsyncHTTPClient, each to the address the SSRF guard checked
/// (`CheckedURL`): no redirects followed; of the reply's body the first `replyLimit` bytes are kept
/// (enough to record why a receiver refused), the rest read and dropped.
struct HTTPOutgoingTransport: OutgoingTransport {
    let clients: PinnedClients
    var replyLimit = 64 * 1024

    init(clients: PinnedClients = PinnedClients(), replyLimit: Int = 64 * 1024) {
        self.clients = clients
        self.replyLimit = replyLimit
    }

    /// A transport for the length of `body` (a request that calls out, such as a segment pull), shut down after.
    static func withTransport<T: Sendable>(replyLimit: Int, _ body: (HTTPOutgoingTransport) async throws -> T) async throws -> T {
        let transport = HTTPOutgoingTransport(replyLimit: replyLimit)
        do {
            let result = try await body(transport)
            await transport.shutdown()
            return result
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    func shutdown() async { await clients.shutdown() }

    func send(_ outgoing: OutgoingRequest) async throws -> OutgoingReply {
        var request = HTTPClientRequest(url: outgoing.url.absoluteString)
        request.method = HTTPMethod(rawValue: outgoing.method)
        for (name, value) in outgoing.headers { request.headers.add(name: name, value: value) }
        if !outgoing.body.isEmpty || outgoing.method != "GET" { request.body = .bytes(ByteBuffer(bytes: outgoing.body)) }
        let replyLimit = self.replyLimit
        return try await clients.with(outgoing.destination) { client in
            let response = try await client.execute(request, timeout: .seconds(Int64(outgoing.timeout.components.seconds)))
            var kept: [UInt8] = []
            for try await chunk in response.body where kept.count < replyLimit {
                kept += chunk.readableBytesView.prefix(replyLimit - kept.count)
            }
            return OutgoingReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: kept)
        }
    }
}

/// AsyncHTTPClient clients pinned to checked addresses. AsyncHTTPClient resolves a host itself when it
/// connects, which could yield another address than the one checked (DNS rebinding); its `dnsOverride`
/// makes a client connect to a given address while still sending the host's name for TLS (SNI) and
/// checking the certificate against it. So there is one client per (host, checked address), keeping its
/// pooled connections; at most `limit` are kept, the least recently used shut down once its last request
/// has ended.
final class PinnedClients: Sendable {
    let limit: Int

    private struct Entry {
        let serial: Int
        let client: HTTPClient
        var inFlight = 0
        var used: Int
    }
    private struct State {
        var entries: [String: Entry] = [:]
        /// Clients let go of while requests were still using them: shut down when the last one ends.
        var retiring: [Int: Entry] = [:]
        var serial = 0
        var tick = 0
    }
    private let state = Mutex(State())

    init(limit: Int = 32) { self.limit = max(1, limit) }

    /// Dropped without `shutdown()` (an error on the way out of whatever held it): the clients still shut
    /// down, in the background, instead of leaking their connections (and tripping AsyncHTTPClient's
    /// debug check, which brings the whole process down).
    deinit {
        let all = state.withLock { s in Array(s.entries.values.map(\.client)) + s.retiring.values.map(\.client) }
        for client in all { client.shutdown { _ in } }
    }

    /// Runs `body` with the client for `destination`, counted as in use meanwhile.
    func with<T: Sendable>(_ destination: CheckedURL, _ body: (HTTPClient) async throws -> T) async throws -> T {
        let (serial, client, evicted) = acquire(destination)
        for client in evicted { try? await client.shutdown() }
        defer {
            if let done = release(serial) { Task { try? await done.shutdown() } }
        }
        return try await body(client)
    }

    /// Shuts every client down (at a graceful stop, after the sends in flight have finished).
    func shutdown() async {
        let all = state.withLock { s in
            defer { s.entries = [:]; s.retiring = [:] }
            return Array(s.entries.values.map(\.client)) + s.retiring.values.map(\.client)
        }
        for client in all { try? await client.shutdown() }
    }

    private func acquire(_ destination: CheckedURL) -> (Int, HTTPClient, [HTTPClient]) {
        let key = destination.host + "|" + destination.address
        return state.withLock { s in
            s.tick += 1
            var evicted: [HTTPClient] = []
            if s.entries[key] == nil {
                while s.entries.count >= limit, let oldest = s.entries.min(by: { $0.value.used < $1.value.used }) {
                    s.entries[oldest.key] = nil
                    if oldest.value.inFlight == 0 { evicted.append(oldest.value.client) } else { s.retiring[oldest.value.serial] = oldest.value }
                }
                s.serial += 1
                s.entries[key] = Entry(serial: s.serial, client: Self.makeClient(pinning: destination), used: s.tick)
            }
            s.entries[key]!.inFlight += 1
            s.entries[key]!.used = s.tick
            let entry = s.entries[key]!
            return (entry.serial, entry.client, evicted)
        }
    }

    /// Counts a request ended; the client to shut down if it was retiring and this was its last.
    private func release(_ serial: Int) -> HTTPClient? {
        state.withLock { s in
            if let key = s.entries.first(where: { $0.value.serial == serial })?.key {
                s.entries[key]!.inFlight -= 1
                return nil
            }
            guard var entry = s.retiring[serial] else { return nil }
            entry.inFlight -= 1
            if entry.inFlight > 0 {
                s.retiring[serial] = entry
                return nil
            }
            s.retiring[serial] = nil
            return entry.client
        }
    }

    static func makeClient(pinning destination: CheckedURL) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(7), read: .seconds(7))
        if destination.address != destination.host {
            configuration.dnsOverride = [destination.host: destination.address]
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
