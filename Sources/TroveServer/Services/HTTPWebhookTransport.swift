import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TroveCore

/// Webhook deliveries over AsyncHTTPClient: no redirects followed, the body read up to 64 KiB (enough to
/// record why a receiver refused).
struct HTTPWebhookTransport: WebhookTransport {
    let client: HTTPClient

    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(7), read: .seconds(7))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func post(url: URL, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
        let reply = try await response.body.collect(upTo: 64 * 1024)
        return (Int(response.status.code), Array(reply.readableBytesView))
    }
}
