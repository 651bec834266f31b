/// Identifiers the writer has already resolved (uid → profile id, event name → interned id), kept across
/// transactions. Only the writer touches them, inside its serialized transactions; entries learned in a
/// transaction are merged only after it commits, so a rollback never leaves a dangling id behind.
final class WriteCaches: @unchecked Sendable {
    struct Key: Hashable {
        var account: Int64
        var key: String
    }

    static let maxProfiles = 2_000_000

    var profiles: [Key: Int64] = [:]
    var eventNames: [Key: EventNameRow] = [:]
    /// Customer.io destination settings parsed, by their stored text.
    var destinations: [String: CustomerIODestination] = [:]
    /// Each profile's newest linked event (`PersonChain`), for every profile with one past the activity
    /// watermark as it stood when they were read, up to event id `headsThrough` (nil: to be read again), and
    /// the heads the transaction in progress moved: a failed one resets the caches.
    var heads: [Int64: PersonChain.Head] = [:]
    var headsThrough: Int64?
    /// The heads were read from the log's start (the activity watermark was 0): a profile absent from them
    /// has no linked event, with no need to look (a fresh import meets a million profiles that way).
    var headsComplete = false

    func merge(profiles newProfiles: [Key: Int64], eventNames newNames: [Key: EventNameRow]) {
        if profiles.count + newProfiles.count > Self.maxProfiles { profiles.removeAll(keepingCapacity: true) }
        profiles.merge(newProfiles) { _, new in new }
        eventNames.merge(newNames) { _, new in new }
    }

    /// After a commit that linked events: the heads (moved in place) reflect the log up to `through`. Past
    /// `maxProfiles` they are dropped, to be read again from the rolled-up table and the log's tail.
    func committedHeads(through: Int64?) {
        guard let through, headsThrough != nil else { return }
        if heads.count > Self.maxProfiles {
            heads.removeAll()
            headsThrough = nil
            headsComplete = false
            return
        }
        headsThrough = through
    }

    /// Forget everything (after a transaction failed, or when rows are deleted).
    func reset() {
        profiles.removeAll()
        eventNames.removeAll()
        heads.removeAll()
        headsThrough = nil
        headsComplete = false
    }
}
