import Crypto

/// An account's five credentials, in clear. They exist only at creation or rotation (contract §1).
public struct Credentials: Sendable, Equatable {
    public var account: String
    public var accountSecret: String
    public var appAPIKey: String
    public var siteID: String
    public var trackAPIKey: String
    /// Segment's tracking API (contract §14): the user name of HTTP Basic, or `writeKey` in the body.
    public var writeKey: String

    static func generate(account: String) -> Credentials {
        Credentials(
            account: account, accountSecret: randomToken(bytes: 20), appAPIKey: randomToken(bytes: 20),
            siteID: randomToken(bytes: 16), trackAPIKey: randomToken(bytes: 20), writeKey: randomToken(bytes: 20))
    }

    /// Lower-case hex of `bytes` random bytes from the system's CSPRNG (160 bits for secrets).
    static func randomToken(bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }
}

/// Secrets are stored as SHA-256 digests and compared in constant time.
public enum SecretHash {
    public static func digest(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
