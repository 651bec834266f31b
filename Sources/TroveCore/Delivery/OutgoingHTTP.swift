import Foundation

/// One outgoing HTTP request (webhooks, Customer.io).
public struct OutgoingRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var timeout: Duration

    public init(method: String, url: URL, headers: [(String, String)], body: [UInt8], timeout: Duration) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct OutgoingReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// The start of the body, for recording why a receiver refused.
    public var bodyExcerpt: String { String(decoding: body.prefix(500), as: UTF8.self) }
}

/// What the senders need from the network (the server supplies AsyncHTTPClient; tests a live local
/// receiver). Redirects must not be followed.
public protocol OutgoingTransport: Sendable {
    func send(_ request: OutgoingRequest) async throws -> OutgoingReply
}

extension WebhookAddressPolicy {
    /// The URL checked as text, then every address its host resolves to (SPEC §10 "SSRF guard").
    public func checkResolved(url text: String) async throws -> URL {
        let url = try check(url: text)
        let host = url.host ?? ""
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let addresses = await Task.detached { WebhookAddressPolicy.resolve(bare) }.value
        try check(addresses: addresses)
        return url
    }
}
