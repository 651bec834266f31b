import Foundation
import GRDB

/// `GET /v1/reports/messages?campaign_id=|newsletter_id=|action_id=|transactional_message_id=&from&to`
/// (SPEC §11): the activity Customer.io reported (§9) for one message, per metric (events and distinct
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

    public func run(account: Int64, query: [String: String]) async throws -> JSON {
        let given = DeliveryExport.messageFields.filter { query[$0].map { !$0.isEmpty } ?? false }
        guard given.count == 1, let field = given.first else {
            throw ReadError.invalid("exactly one of campaign_id, newsletter_id, action_id, transactional_message_id is required")
        }
        guard let id = Int64(query[field]!) else { throw ReadError.invalid("\(field): must be an integer") }
        let bounds = try ReportRange.bounds(from: query["from"], to: query["to"])
        let (from, to) = (bounds.from ?? .min, bounds.to ?? .max)
        return try await database.heavyRead { db in
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT properties ->> '$.metric' AS metric, count(*), count(DISTINCT profile_id) FROM events
                    WHERE account_id = ? AND source = \(EventSource.customerio.rawValue) AND timestamp >= ? AND timestamp < ?
                      AND properties ->> '$."\(field)"' = ?
                    GROUP BY metric ORDER BY metric
                    """, arguments: [account, from, to, id])
            var events: [String: Int64] = [:], people: [String: Int64] = [:]
            for row in rows {
                guard let metric = row[0] as String? else { continue }
                events[metric] = row[1]
                people[metric] = row[2]
            }
            let rates: [JSONMember] = Self.rates.map { r in
                let n = (r.unique ? people : events)[r.metric] ?? 0
                let d = events[r.over] ?? 0
                return JSONMember(r.name, JSON.rate(n, d))
            }
            return .object([
                JSONMember("message", .object([JSONMember(field, .int(id))])),
                JSONMember("metrics", .array(events.keys.sorted().map { m in
                    .object([JSONMember("metric", .string(m)), JSONMember("events", .int(events[m]!)), JSONMember("people", .int(people[m]!))])
                })),
                JSONMember("rates", .object(rates)),
            ])
        }
    }
}
