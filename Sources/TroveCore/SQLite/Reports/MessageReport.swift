import Foundation
import GRDB

/// `GET /v1/reports/messages?campaign_id=|newsletter_id=|action_id=|transactional_message_id=&from&to`
/// (contract §11): the activity Customer.io reported (§9) for one message, per metric (events and distinct
/// people), with the rates Customer.io shows: delivered / sent, and unique opens, clicks, conversions,
/// unsubscribes and spam reports / delivered; bounces / sent. Reads only Customer.io's events (a partial
/// index), not the whole log.
public struct MessageReport: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    static let rates: [(name: String, metric: String, over: String, unique: Bool)] = [
        ("delivery_rate", "delivered", "sent", false), ("open_rate", "opened", "delivered", true),
        ("click_rate", "clicked", "delivered", true), ("conversion_rate", "converted", "delivered", true),
        ("unsubscribe_rate", "unsubscribed", "delivered", true), ("spam_rate", "spammed", "delivered", true),
        ("bounce_rate", "bounced", "sent", false),
    ]

    /// The fields that name a message.
    public static let messageFields = DeliveryExport.messageFields

    /// The message (one of `campaign_id`, `newsletter_id`, `action_id`, `transactional_message_id`, by
    /// name) and the range, as given.
    public struct Parameters: Sendable {
        public var message: [(field: String, id: String)]
        public var from: String?
        public var to: String?

        public init(message: [(field: String, id: String)], from: String? = nil, to: String? = nil) {
            self.message = message
            self.from = from
            self.to = to
        }
    }

    /// Per metric the events and distinct people, and the rates (nil where nothing divides).
    public struct Result: Sendable, Equatable {
        public struct Metric: Sendable, Equatable {
            public var metric: String
            public var events: Int64
            public var people: Int64
        }

        public struct Rate: Sendable, Equatable {
            public var name: String
            public var value: Double?
        }

        public var field: String
        public var id: Int64
        public var metrics: [Metric]
        public var rates: [Rate]
    }

    public func run(account: Int64, _ p: Parameters) async throws -> Result {
        let q = try Self.query(p)
        return try await database.heavyRead { db in
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT properties ->> '$.metric' AS metric, count(*), count(DISTINCT profile_id) FROM events
                    WHERE account_id = ? AND source = \(EventSource.customerio.rawValue) AND timestamp >= ? AND timestamp < ?
                      AND properties ->> '$."\(q.field)"' = ?
                    GROUP BY metric ORDER BY metric
                    """, arguments: [account, q.from, q.to, q.id])
            return Self.result(q, rows.compactMap { row in (row[0] as String?).map { ($0, row[1], row[2]) } })
        }
    }

    /// What a request asks, read from its parameters: the message's field and id, the range.
    public struct Query: Sendable {
        public var field: String
        public var id: Int64
        public var from: Int64
        public var to: Int64
    }

    public static func query(_ p: Parameters) throws(ReadError) -> Query {
        let given = p.message.filter { DeliveryExport.messageFields.contains($0.field) && !$0.id.isEmpty }
        guard given.count == 1, let (field, text) = given.first else {
            throw ReadError.invalid("exactly one of campaign_id, newsletter_id, action_id, transactional_message_id is required")
        }
        guard let id = Int64(text) else { throw ReadError.invalid("\(field): must be an integer") }
        let bounds = try ReportRange.bounds(from: p.from, to: p.to)
        return Query(field: field, id: id, from: bounds.from ?? .min, to: bounds.to ?? .max)
    }

    /// The report from the events and distinct people per metric the engine counted.
    public static func result(_ q: Query, _ rows: [(metric: String, events: Int64, people: Int64)]) -> Result {
        var events: [String: Int64] = [:], people: [String: Int64] = [:]
        for row in rows {
            events[row.metric] = row.events
            people[row.metric] = row.people
        }
        let rates = Self.rates.map { r in
            Result.Rate(name: r.name, value: reportRate((r.unique ? people : events)[r.metric] ?? 0, events[r.over] ?? 0))
        }
        return Result(
            field: q.field, id: q.id, metrics: events.keys.sorted().map { Result.Metric(metric: $0, events: events[$0]!, people: people[$0]!) },
            rates: rates)
    }
}
