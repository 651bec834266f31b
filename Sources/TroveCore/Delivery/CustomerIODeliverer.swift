import Foundation
import Logging

/// Sends the Customer.io outbox (contract §10) to each account's Track API: identifies as
/// `PUT /api/v1/customers/{id}` (values cut to 1000 bytes, at most 300 attributes per call), events as
/// `POST /api/v1/customers/{id}/events`, segment changes as `add_customers` / `remove_customers` with up
/// to 1000 ids per call. A profile's rows go out one at a time in the order they were written; timeouts,
/// 5xx and 429 are retried (10 s doubling to 5 min, `Retry-After` honoured, given up after 24 h), other
/// 4xx fail at once with the reply recorded. A crash leaves the rows in flight pending: they go again.
public actor CustomerIODeliverer {
    public let store: any IntegrationStore
    public let clock: TroveClock
    let transport: any OutgoingTransport
    let policy: WebhookAddressPolicy
    let logger: Logger
    public static let timeout: Duration = .seconds(10)
    /// Calls in flight per account.
    public static let perAccount = 8
    public static let maxValueBytes = 1000
    public static let maxAttributesPerCall = 300
    public static let maxIDsPerCall = 1000
    public static let userAgent = "Trove/1.0"

    private var inFlightRows: Set<Int64> = []
    private var inFlightProfiles: Set<ProfileKey> = []
    private var callsInFlight: [Int64: Int] = [:]
    /// After a 429, the account's calls wait until then.
    private var pausedUntil: [Int64: Int64] = [:]
    private var settled = SettledRows()
    private var dispatching = false
    private var dispatchAgain = false
    /// Calls ended so far: `drain` waits on it instead of reading the store again meanwhile.
    private var ended = 0

    struct ProfileKey: Hashable { var account: Int64, profile: Int64 }

    public init(store: any IntegrationStore, clock: TroveClock = .system, transport: any OutgoingTransport, policy: WebhookAddressPolicy,
                logger: Logger = Logger(label: "trove.customerio")) {
        self.store = store
        self.clock = clock
        self.transport = transport
        self.policy = policy
        self.logger = logger
    }

    typealias Queued = CustomerIOQueued

    /// One call: one identify or event row, or the segment rows it batches.
    struct Call: Sendable {
        var account: Int64
        var rows: [Queued]
        var destination: CustomerIODestination
    }

    /// Starts the calls that are due (without waiting for them); returns how many it started.
    @discardableResult
    public func dispatch() async throws -> Int {
        if dispatching {
            dispatchAgain = true
            return 0
        }
        dispatching = true
        defer { dispatching = false }
        var started = 0
        repeat {
            dispatchAgain = false
            started += try await dispatchOnce()
        } while dispatchAgain
        return started
    }

    func dispatchOnce() async throws -> Int {
        let now = clock.now().milliseconds
        let read = settled.beginRead()
        let busy = callsInFlight
        let (due, destinations) = try await store.dueCustomerIO(now: Timestamp(milliseconds: now), limit: Self.maxIDsPerCall * 2) { account in
            (busy[account] ?? 0) < Self.perAccount
        }
        settled.trust(read: read)
        var calls: [Call] = []
        var batches: [String: Int] = [:]  // account/kind/target → index in calls, while it has room
        for row in due where !inFlightRows.contains(row.id) && !settled.isStale(row.id, read: read) {
            let key = ProfileKey(account: row.account, profile: row.profile)
            guard !inFlightProfiles.contains(key), let destination = destinations[row.account] else { continue }
            if let until = pausedUntil[row.account], until > now { continue }
            if row.kind == "segment_add" || row.kind == "segment_remove" {
                let batchKey = "\(row.account)/\(row.kind)/\(row.target ?? "")"
                if let i = batches[batchKey] {
                    calls[i].rows.append(row)
                    if calls[i].rows.count == Self.maxIDsPerCall { batches[batchKey] = nil }
                } else {
                    guard (callsInFlight[row.account] ?? 0) + calls.filter({ $0.account == row.account }).count < Self.perAccount else { continue }
                    batches[batchKey] = calls.count
                    calls.append(Call(account: row.account, rows: [row], destination: destination))
                }
            } else {
                guard (callsInFlight[row.account] ?? 0) + calls.filter({ $0.account == row.account }).count < Self.perAccount else { continue }
                calls.append(Call(account: row.account, rows: [row], destination: destination))
            }
            inFlightProfiles.insert(key)
            inFlightRows.insert(row.id)
        }
        for call in calls {
            callsInFlight[call.account, default: 0] += 1
            Task { await self.send(call) }
        }
        return calls.count
    }

    /// Sends due calls until none is due or in flight (tests, the CLI).
    /// Waits until no call is in flight (a graceful stop); returns at once if the caller is cancelled.
    public func finishInFlight() async {
        while !inFlightRows.isEmpty, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
    }

    public func drain() async throws {
        while true {
            // Idle before the read began: no send could finish during it, so it saw everything.
            let idleBefore = inFlightRows.isEmpty && !dispatching
            let seen = ended
            let started = try await dispatch()
            if idleBefore && started == 0 && inFlightRows.isEmpty && !dispatching { return }
            // Until a call ends nothing new is due (the store is read again only then: a slow receiver
            // once had this loop read it 200 times a second).
            repeat { try await Task.sleep(for: .milliseconds(5)) } while ended == seen && !inFlightRows.isEmpty
        }
    }

    enum Outcome {
        case delivered(status: Int)
        case retry(status: Int?, error: String, retryAfter: Int64?)
        case failed(status: Int?, error: String)
    }

    func send(_ call: Call) async {
        let outcome = await perform(call)
        await record(call, outcome)
        callsInFlight[call.account, default: 1] -= 1
        ended += 1
        for row in call.rows {
            settled.settle(row.id)
            inFlightRows.remove(row.id)
            inFlightProfiles.remove(ProfileKey(account: row.account, profile: row.profile))
        }
        // The next row of these profiles may be due now: look again rather than wait for the next tick.
        if case .retry = outcome {} else { _ = try? await dispatch() }
    }

    func perform(_ call: Call) async -> Outcome {
        let d = call.destination
        let base = d.trackBase
        let requests: [TrackRequest]
        do { requests = try Self.requests(for: call) } catch { return .failed(status: nil, error: error.description) }
        let auth = "Basic " + Data("\(d.siteID):\(d.apiKey)".utf8).base64EncodedString()
        var lastStatus = 200
        for request in requests {
            do {
                let url = try await policy.checkResolved(url: base + request.path)
                let reply = try await transport.send(OutgoingRequest(
                    method: request.method, to: url,
                    headers: (request.body == nil ? [] : [("Content-Type", "application/json")])
                        + [("Authorization", auth), ("Accept", "application/json"), ("User-Agent", Self.userAgent)],
                    body: request.body.map(JSONWriter.bytes) ?? [], timeout: Self.timeout))
                lastStatus = reply.status
                switch reply.status {
                case 200..<300: continue
                case 404 where request.method == "DELETE": continue  // not there: nothing to erase
                case 429, 500...:
                    let retryAfter = reply.header("Retry-After").flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
                    return .retry(status: reply.status, error: "HTTP \(reply.status): " + reply.bodyExcerpt, retryAfter: retryAfter)
                default:
                    return .failed(status: reply.status, error: "HTTP \(reply.status): " + reply.bodyExcerpt)
                }
            } catch let refusal as WebhookAddressPolicy.Refusal {
                return .failed(status: nil, error: "refused: \(refusal.description)")
            } catch {
                return .retry(status: nil, error: "\(error)", retryAfter: nil)
            }
        }
        return .delivered(status: lastStatus)
    }

    func record(_ call: Call, _ outcome: Outcome) async {
        let now = clock.now()
        if case .retry(let status, _, let retryAfter?) = outcome, status == 429 {
            pausedUntil[call.account] = now.milliseconds + min(retryAfter, RetrySchedule.customerIOCap.components.seconds) * 1000
        }
        let results = call.rows.map { row -> CustomerIOAttempt in
            let attempts = row.attempts + 1
            switch outcome {
            case .delivered(let status):
                return CustomerIOAttempt(id: row.id, account: row.account, attempts: attempts, status: status, error: nil, retryAt: nil)
            case .failed(let status, let error):
                return CustomerIOAttempt(id: row.id, account: row.account, attempts: attempts, status: status, error: error, retryAt: nil)
            case .retry(let status, let error, let retryAfter):
                let next = RetrySchedule.nextCustomerIOAttempt(
                    after: attempts, firstAttempt: Timestamp(milliseconds: row.createdAt), retryAfter: retryAfter, at: now)
                return CustomerIOAttempt(id: row.id, account: row.account, attempts: attempts, status: status,
                                         error: next == nil ? "gave up after 24 hours; last: \(error)" : error, retryAt: next)
            }
        }
        do {
            try await store.recordCustomerIO(results, now: now)
            for result in results { TroveMetrics.delivery("customerio", outcome: result.outcome) }
        } catch {
            logger.error("could not record Customer.io delivery \(call.rows.map(\.id)): \(error)")
        }
    }
}
