/// When a failed delivery is tried again (contract §10).
public enum RetrySchedule {
    /// Outgoing webhooks: 9 retries after 5, 10, 20 … 1280 minutes (≈ 43 h in all), then `failed`.
    public static let webhookDelays: [Duration] = (0..<9).map { .seconds(300 << $0) }

    /// The time of the next attempt after `attempts` failed ones (the first try included), or nil when
    /// the delivery has used its retries and is `failed`.
    public static func nextWebhookAttempt(after attempts: Int, at now: Timestamp) -> Timestamp? {
        guard attempts >= 1, attempts <= webhookDelays.count else { return nil }
        return now.adding(milliseconds: webhookDelays[attempts - 1].components.seconds * 1000)
    }

    /// Customer.io: capped exponential backoff from 10 s to 5 min, honouring a `Retry-After` (seconds)
    /// up to the cap; nil once 24 h have passed since the first attempt.
    public static let customerIOFirst: Duration = .seconds(10)
    public static let customerIOCap: Duration = .seconds(300)
    public static let customerIOGiveUp: Duration = .seconds(86_400)

    public static func nextCustomerIOAttempt(after attempts: Int, firstAttempt: Timestamp, retryAfter: Int64? = nil, at now: Timestamp) -> Timestamp? {
        guard now.milliseconds - firstAttempt.milliseconds < customerIOGiveUp.components.seconds * 1000 else { return nil }
        let cap = customerIOCap.components.seconds
        let backoff = min(cap, customerIOFirst.components.seconds << min(max(attempts - 1, 0), 10))
        let wait = retryAfter.map { min(cap, max($0, 0)) } ?? backoff
        let next = now.adding(milliseconds: wait * 1000)
        return next.milliseconds - firstAttempt.milliseconds <= customerIOGiveUp.components.seconds * 1000 ? next : nil
    }
}
