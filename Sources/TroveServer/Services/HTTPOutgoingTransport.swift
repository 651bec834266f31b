import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TroveCore

/// Outgoing calls (webhooks, Customer.io) over AsyncHTTPClient: no redirects followed; of the reply's body
/// the first `replyLimit` bytes are kept (enough to record why a receiver refused), the rest read and
/// dropped.
struct HTTPOutgoingTransport: OutgoingTransport {
    let client: HTTPClient
    var replyLimit = 64 * 1024

    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(7), read: .seconds(7))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A client for the length of `body` (a request that calls out, such as a segment pull), shut down after.
    static func withTransport<T: Sendable>(replyLimit: Int, _ body: (HTTPOutgoingTransport) async throws -> T) async throws -> T {
        let client = makeClient()
        do {
            let result = try await body(HTTPOutgoingTransport(client: client, replyLimit: replyLimit))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func send(_ outgoing: OutgoingRequest) async throws -> OutgoingReply {
        var request = HTTPClientRequest(url: outgoing.url.absoluteString)
        request.method = HTTPMethod(rawValue: outgoing.method)
        for (name, value) in outgoing.headers { request.headers.add(name: name, value: value) }
        if !outgoing.body.isEmpty || outgoing.method != "GET" { request.body = .bytes(ByteBuffer(bytes: outgoing.body)) }
        let response = try await client.execute(request, timeout: .seconds(Int64(outgoing.timeout.components.seconds)))
        var kept: [UInt8] = []
        for try await chunk in response.body where kept.count < replyLimit {
            kept += chunk.readableBytesView.prefix(replyLimit - kept.count)
        }
        return OutgoingReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: kept)
    }
}
