import Foundation

/// Where outgoing webhooks may go (contract §10): `https` only, and never to loopback or private addresses,
/// unless the server runs with `--allow-insecure-webhooks` (tests, local development); link-local
/// (cloud metadata endpoints), unspecified and multicast addresses never. The check applies to every
/// address the host resolves to, right before sending, not only to the URL's text.
public struct WebhookAddressPolicy: Sendable {
    public var allowInsecure: Bool
    /// The addresses a host name resolves to (`resolve`, blocking); `checkResolved` runs it on one of
    /// `lookupThreads` and waits `lookupLimit` for it on `clock`. Tests replace them.
    public var lookup: @Sendable (String) -> [String]
    public var lookupThreads: LookupThreads
    public var lookupLimit: Duration
    public var clock: TroveClock

    public init(allowInsecure: Bool = false, lookup: @escaping @Sendable (String) -> [String] = WebhookAddressPolicy.resolve,
                lookupThreads: LookupThreads = .shared, lookupLimit: Duration = .seconds(5), clock: TroveClock = .system) {
        self.allowInsecure = allowInsecure
        self.lookup = lookup
        self.lookupThreads = lookupThreads
        self.lookupLimit = lookupLimit
        self.clock = clock
    }

    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// What kind of address an IP literal is.
    public enum Kind: Equatable, Sendable {
        case global, loopback, privateNetwork, linkLocal, unspecified, multicast
    }

    /// Checks a URL's text: scheme, host, and the host itself when it is an IP literal.
    public func check(url text: String) throws(Refusal) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw Refusal(description: "url: \"\(text)\" is not an absolute URL")
        }
        guard scheme == "https" || (scheme == "http" && allowInsecure) else {
            throw Refusal(description: "url: must use https" + (scheme == "http" ? " (http only with --allow-insecure-webhooks)" : ""))
        }
        guard url.user == nil, url.password == nil else { throw Refusal(description: "url: must not carry credentials") }
        let literal = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if let kind = Self.kind(of: literal) { try check(kind, address: literal) }
        if literal.lowercased() == "localhost" || literal.lowercased().hasSuffix(".localhost") { try check(.loopback, address: literal) }
        return url
    }

    /// Checks every address a host resolved to.
    public func check(addresses: [String]) throws(Refusal) {
        guard !addresses.isEmpty else { throw Refusal(description: "the host resolved to no address") }
        for address in addresses {
            guard let kind = Self.kind(of: address) else { throw Refusal(description: "\(address) is not an IP address") }
            try check(kind, address: address)
        }
    }

    func check(_ kind: Kind, address: String) throws(Refusal) {
        switch kind {
        case .global: return
        case .loopback, .privateNetwork:
            guard allowInsecure else {
                throw Refusal(description: "\(address) is a \(kind == .loopback ? "loopback" : "private") address (allowed only with --allow-insecure-webhooks)")
            }
        case .linkLocal: throw Refusal(description: "\(address) is link-local (cloud metadata endpoints live there): never allowed")
        case .unspecified: throw Refusal(description: "\(address) is unspecified: never allowed")
        case .multicast: throw Refusal(description: "\(address) is multicast: never allowed")
        }
    }

    /// The kind of an IPv4 or IPv6 literal; nil when it is neither.
    public static func kind(of text: String) -> Kind? {
        let address = String(text.split(separator: "%", maxSplits: 1).first ?? "")  // fe80::1%eth0
        var v4 = in_addr()
        // inet_aton also reads the legacy forms the resolver accepts for a host name (127.1, 0x7f000001,
        // 2130706433, 0177.0.0.1), so an address cannot pass as a name in them.
        if inet_pton(AF_INET, address, &v4) == 1 || inet_aton(address, &v4) != 0 {
            return kind(ipv4: withUnsafeBytes(of: v4.s_addr) { Array($0) })
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return nil }
        let b = withUnsafeBytes(of: v6) { Array($0) }
        // IPv6 forms that carry an IPv4 address are judged by it, so a refused IPv4 range cannot come back
        // dressed as IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d, deprecated but still routed by
        // some stacks), NAT64's well-known prefix (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return kind(ipv4: Array(b[12..<16])) }
        if b.allSatisfy({ $0 == 0 }) { return .unspecified }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return .loopback }
        if b[0..<12].allSatisfy({ $0 == 0 }) { return kind(ipv4: Array(b[12..<16])) }
        if b[0..<4] == [0x00, 0x64, 0xFF, 0x9B] {
            // 64:ff9b::/96 embeds the address in its last 4 bytes; 64:ff9b:1::/48 is for local use only.
            if b[4..<12].allSatisfy({ $0 == 0 }) { return kind(ipv4: Array(b[12..<16])) }
            if b[4] == 0 && b[5] == 1 { return .privateNetwork }
        }
        if b[0] == 0x20 && b[1] == 0x02 { return kind(ipv4: Array(b[2..<6])) }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return .linkLocal }  // fe80::/10
        if b[0] & 0xFE == 0xFC { return .privateNetwork }  // fc00::/7
        if b[0] == 0xFF { return .multicast }
        return .global
    }

    static func kind(ipv4 b: [UInt8]) -> Kind {
        switch (b[0], b[1]) {
        case (0, _): return .unspecified
        case (127, _): return .loopback
        case (10, _), (192, 168): return .privateNetwork
        case (172, 16...31), (100, 64...127): return .privateNetwork  // RFC 1918, carrier-grade NAT
        case (169, 254): return .linkLocal
        case (224...239, _): return .multicast
        case (255, 255) where b[2] == 255 && b[3] == 255: return .multicast  // broadcast
        default: return .global
        }
    }

    /// The addresses `host` resolves to (blocking, for as long as the resolver takes: 20 s and more when its
    /// name server does not answer; `checkResolved` calls it on one of its `lookupThreads`).
    public static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let info = node {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(text) { addresses.append(text) }
            }
            node = info.pointee.ai_next
        }
        return addresses
    }
}
