import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TroveCore

/// Outgoing calls (webhooks, Customer.io) over AsyncHTTPClient: no redirects followed, the reply's body
/// read up to 64 KiB (enough to record why a receiver refused, and a page of a Customer.io segment).
struct HTTPOutgoingTransport: OutgoingTransport {
    let client: HTTPClient
    var replyLimit = 64 * 1024

    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(7), read: .seconds(7))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func send(_ outgoing: OutgoingRequest) async throws -> OutgoingReply {
        var request = HTTPClientRequest(url: outgoing.url.absoluteString)
        request.method = HTTPMethod(rawValue: outgoing.method)
        for (name, value) in outgoing.headers { request.headers.add(name: name, value: value) }
        if !outgoing.body.isEmpty || outgoing.method != "GET" { request.body = .bytes(ByteBuffer(bytes: outgoing.body)) }
        let response = try await client.execute(request, timeout: .seconds(Int64(outgoing.timeout.components.seconds)))
        let reply = try await response.body.collect(upTo: replyLimit)
        return OutgoingReply(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(reply.readableBytesView))
    }
}
