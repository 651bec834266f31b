import Foundation
import Synchronization

/// A URL the SSRF guard passed, with the address its host resolved to when it was checked: the one a
/// transport connects to, so no second resolution can lead elsewhere (contract §10 "SSRF guard"). Only
/// `WebhookAddressPolicy.checkResolved` makes one.
public struct CheckedURL: Sendable {
    public let url: URL
    /// The URL's host, without the brackets of an IPv6 literal.
    public let host: String
    /// The checked address to connect to: the host itself when it is an IP literal.
    public let address: String

    init(url: URL, host: String, address: String) {
        self.url = url
        self.host = host
        self.address = address
    }
}

/// One outgoing HTTP request (webhooks, Customer.io), to a checked destination.
public struct OutgoingRequest: Sendable {
    public var method: String
    public var destination: CheckedURL
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var timeout: Duration

    public var url: URL { destination.url }

    public init(method: String, to destination: CheckedURL, headers: [(String, String)], body: [UInt8], timeout: Duration) {
        self.method = method
        self.destination = destination
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
/// receiver). Redirects must not be followed; the connection goes to `destination.address` only.
public protocol OutgoingTransport: Sendable {
    func send(_ request: OutgoingRequest) async throws -> OutgoingReply
}

extension WebhookAddressPolicy {
    /// The URL checked as text, then every address its host resolves to (contract §10 "SSRF guard"); the
    /// first of them is the one to connect to.
    public func checkResolved(url text: String) async throws -> CheckedURL {
        let url = try check(url: text)
        let host = url.host ?? ""
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let addresses = Self.kind(of: bare) != nil ? [bare] : try await resolved(bare)
        try check(addresses: addresses)
        return CheckedURL(url: url, host: bare, address: addresses[0])
    }

    /// The host's addresses, looked up on one of `lookupThreads` — not on the cooperative pool, whose threads
    /// (one per core) run every request's handler: two lookups waiting on a silent name server held both of
    /// this 2-core host's, and every request waited 5 s with them (the PostgreSQL fuzz in CI, where erasures
    /// queue Customer.io calls). A lookup not answered within `lookupLimit` (waiting for a thread included)
    /// is refused — a delivery then retries as after a timeout, a request answers at once — and, if it had
    /// not started, never runs.
    func resolved(_ host: String) async throws(Refusal) -> [String] {
        let lookup = self.lookup, clock = self.clock, limit = lookupLimit
        let addresses: [String]? = await withCheckedContinuation { continuation in
            let answer = FirstAnswer(continuation)
            clock.after(limit) { answer.give(nil) }
            lookupThreads.run { if answer.isWaiting { answer.give(lookup(host)) } }
        }
        guard let addresses else { throw Refusal(description: "\(host) did not resolve within \(limit.components.seconds) s") }
        return addresses
    }
}

/// Resumes a continuation with the first answer given; later ones are dropped.
private final class FirstAnswer<T: Sendable>: Sendable {
    let waiting: Mutex<CheckedContinuation<T, Never>?>
    init(_ continuation: CheckedContinuation<T, Never>) { waiting = Mutex(continuation) }
    func give(_ answer: T) { waiting.withLock { $0.take() }?.resume(returning: answer) }
    var isWaiting: Bool { waiting.withLock { $0 != nil } }
}
