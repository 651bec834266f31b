import GRDB

/// Every outbox that hears of membership changes (webhooks, Customer.io), fed from the ledger rows a
/// transaction wrote after `ledgerID`: the evaluator's steps and manual segment edits call it before they
/// commit.
enum SegmentChangeOutbox {
    static func lastLedgerID(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM segment_changes") ?? 0
    }

    static func enqueue(_ db: Database, after ledgerID: Int64, now: Timestamp) throws {
        try WebhookOutbox.enqueueSegmentChanges(db, after: ledgerID, now: now)
        try CustomerIOOutbox.enqueueSegmentChanges(db, after: ledgerID, now: now)
    }
}
