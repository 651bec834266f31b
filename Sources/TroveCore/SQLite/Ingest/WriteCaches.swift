import Foundation

/// Identifiers the writer has already resolved (uid → profile id, event name → interned id), kept across
/// transactions. Only the writer touches them, inside its serialized transactions; entries learned in a
/// transaction are merged only after it commits, so a rollback never leaves a dangling id behind.
///
/// `profiles` and `heads` hold up to `limit` entries each. Past it, half of what can be found again is
/// dropped (uids from `profiles_by_uid`, heads the activity rollup has reached from `profile_activity`), so
/// a set larger than the limit costs lookups in proportion to what does not fit, never a cliff: emptying a
/// cache at a limit made every later event look its profile up again, and re-reading the heads from the
/// log's tail on every commit stalled a 10M-profile import outright (issue 22).
final class WriteCaches: @unchecked Sendable {
    typealias Key = AccountKey

    /// 1/32 of the machine's memory at about 64 bytes an entry (24 GiB: 12.5M entries, ~0.8 GiB each), at
    /// least a million.
    static let defaultLimit = max(1_000_000, Int(ProcessInfo.processInfo.physicalMemory / 32 / 64))

    let limit: Int
    var profiles = UIDTable()
    var eventNames: [Key: EventNameRow] = [:]
    /// Customer.io destination settings parsed, by their stored text.
    var destinations: [String: CustomerIODestination] = [:]
    /// Each profile's newest linked event (`PersonChain`), for every profile with one past the activity
    /// watermark as it stood when they were read, up to event id `headsThrough` (nil: to be read again), and
    /// the heads the transaction in progress moved: a failed one resets the caches. Heads at or below the
    /// watermark may be missing (trimmed): `profile_activity` has them.
    var heads = ProfileTable(filler: PersonChain.Head.none)
    var headsThrough: Int64?
    /// The heads were read from the log's start (the activity watermark was 0): a profile absent from them
    /// has no linked event, with no need to look (a fresh import meets a million profiles that way).
    var headsComplete = false
    /// The watermark and size of the last trim: the next one waits until the rollup has moved on or more
    /// heads came, so heads past the watermark that cannot go are not scanned again on every commit.
    private var lastTrim: (watermark: Int64, count: Int) = (-1, 0)

    init(limit: Int = WriteCaches.defaultLimit) {
        self.limit = limit
    }

    /// The committing transaction should read the activity watermark for `committedHeads`.
    var headsOverLimit: Bool { heads.count > limit }

    func merge(profiles newProfiles: [Key: Int64], eventNames newNames: [Key: EventNameRow]) {
        profiles.merge(newProfiles)
        eventNames.merge(newNames) { _, new in new }
        if profiles.count > limit { profiles = profiles.half() }
    }

    /// Profile ids read from a committed snapshot (`WriteQueue.prepareForEvents`), as many as fit.
    func learn(profiles known: UIDTable) {
        guard profiles.count + known.count <= limit else { return }
        if profiles.isEmpty {
            profiles = known
        } else {
            profiles.merge(keepingCurrent: known)
        }
    }

    /// After a commit that linked events: the heads (moved in place) reflect the log up to `through`. Over
    /// the limit, half the heads the rollup has reached (`rolledUpThrough`, the activity watermark) go.
    func committedHeads(through: Int64?, rolledUpThrough watermark: Int64?) {
        guard let through, headsThrough != nil else { return }
        headsThrough = through
        guard heads.count > limit, let watermark, watermark > lastTrim.watermark || heads.count > lastTrim.count + limit / 2 else { return }
        heads = heads.filter { profile, head in head.id > watermark || head.late > watermark || Self.keeps(profile) }
        headsComplete = false
        lastTrim = (watermark, heads.count)
    }

    /// Forget everything (after a transaction failed, or when rows are deleted).
    func reset() {
        profiles = UIDTable()
        eventNames.removeAll()
        heads.removeAll()
        headsThrough = nil
        headsComplete = false
        lastTrim = (-1, 0)
    }

    /// Keeps about half the profile ids, the same half every time (Fibonacci hashing's top bit).
    private static func keeps(_ profile: Int64) -> Bool { UInt64(bitPattern: profile) &* 0x9E37_79B9_7F4A_7C15 >> 63 == 0 }
}
