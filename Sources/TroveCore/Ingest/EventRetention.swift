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

    /// How long an anonymous event waits for an identify that claims it (contract §8): the Track API's merge
    /// window, after which it could never be merged.
    public static var anonymousDays: Int64 { TrackAPI.anonymousMergeDays }

    /// The hourly upkeep's round for anonymous events: those older than the merge window go; returns how many.
    @discardableResult
    public static func pruneAnonymous(_ store: any IngestStore, now: Timestamp) async throws -> Int {
        let cutoff = now.adding(milliseconds: -anonymousDays * 86_400_000)
        var total = 0
        while true {
            let removed = try await store.write(weight: batch) { session in try session.deleteAnonymousEvents(before: cutoff, limit: batch) }
            total += removed
            if removed < batch { return total }
        }
    }
}
