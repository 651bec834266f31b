import Foundation
import GRDB

extension WriteSession {
    static let idempotencyWindowMs: Int64 = 24 * 3_600_000

    public func idempotentReply(account: Int64, key: String) throws -> BatchReply? {
        let s = try db.cachedStatement(
            sql: "SELECT status, response FROM idempotency_keys WHERE account_id = ? AND key = ? AND created_at > ?")
        guard let row = try Row.fetchOne(s, arguments: [account, key, now.milliseconds - Self.idempotencyWindowMs]) else { return nil }
        let data: Data = row[1]
        return BatchReply(status: row[0], body: Array(data))
    }

    public func saveIdempotentReply(account: Int64, key: String, route: String, reply: BatchReply) throws {
        let s = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO idempotency_keys (account_id, key, route, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        try s.execute(arguments: [account, key, route, reply.status, Data(reply.body), now.milliseconds])
    }
}
