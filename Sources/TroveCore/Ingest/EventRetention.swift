/// `serve --retain-events-days N` (contract §11): events older than N days are deleted by the hourly upkeep,
/// in batches through the writer (so ingest interleaves), each through `WriteSession.deleteEvents` — the
/// event counters and watermarks stay exact — and with the batch's profiles marked for a membership
/// re-check, since a condition over all time can change when old events go. Anonymous events go too.
public enum EventRetention {
    public static let batch = 20_000

    /// Deletes every event with a time before `cutoff`; returns how many.
    @discardableResult
    public static func prune(_ store: any IngestStore, before cutoff: Timestamp) async throws -> Int {
        var total = 0
        while true {
            let removed = try await store.write(weight: batch) { session in try session.deleteEvents(before: cutoff, limit: batch) }
            total += removed
            if removed < batch { return total }
        }
    }
}

