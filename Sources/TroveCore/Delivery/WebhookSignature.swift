import Crypto
import Foundation

/// Outgoing webhook signatures (contract §10), Chameleon-compatible: `X-Chameleon-Signature` is the lower-case
/// hex HMAC-SHA256 of the exact body bytes with the endpoint's secret. `sent_at` inside the body is set per
/// attempt, so a receiver refuses anything older than five minutes. Receivers written in Swift call
/// `verify`; `trove webhooks verify` wraps it.
public enum WebhookSignature {
    /// How old (or how far ahead) a delivery's `sent_at` may be.
    public static let window: Duration = .seconds(300)

    public static func sign(body: [UInt8], secret: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8))))
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case badSignature
        case noSentAt
        case stale(seconds: Int64)

        public var description: String {
            switch self {
            case .badSignature: return "the signature does not match the body and secret"
            case .noSentAt: return "the body has no sent_at time"
            case .stale(let s): return "sent_at is \(abs(s)) s \(s >= 0 ? "old" : "ahead"): more than 5 minutes"
            }
        }
    }

    /// Checks a received delivery: the signature over the exact bytes (constant time), then `sent_at`
    /// within five minutes of `now`. Returns the envelope's `id` (what receivers dedupe on).
    @discardableResult
    public static func verify(body: [UInt8], signature: String, secret: String, now: Timestamp) throws(Failure) -> String? {
        guard let given = Hex.decode(signature.trimmingCharacters(in: .whitespaces), count: 32),
              HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: SymmetricKey(data: Array(secret.utf8)))
        else { throw .badSignature }
        guard let envelope = try? JSONParser.parse(body), case .string(let text)? = envelope["sent_at"],
              let sentAt = Timestamp.parseISO8601(text)
        else { throw .noSentAt }
        let age = (now.milliseconds - sentAt.milliseconds) / 1000
        guard abs(age) <= window.components.seconds else { throw .stale(seconds: age) }
        return envelope["id"]?.stringValue
    }
}
