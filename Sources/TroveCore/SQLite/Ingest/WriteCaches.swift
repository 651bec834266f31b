import Foundation
import Synchronization

/// Identifiers the writer has already resolved (uid → profile id, event name → interned id), kept across
/// transactions. Only the writer touches them, inside its serialized transactions; entries learned in a
/// transaction are merged only after it commits, so a rollback never leaves a dangling id behind.
///
/// The uid caches (`profiles` and `known` together) and `heads` hold up to `limit` entries each. Past it,
/// half of what can be found again is dropped (uids from `profiles_by_uid`, heads the activity rollup has
/// reached from `profile_activity`), so a set larger than the limit costs lookups in proportion to what does
/// not fit, never a cliff: emptying a cache at a limit made every later event look its profile up again,
/// and re-reading the heads from the log's tail on every commit stalled a 10M-profile import outright
/// (issue 22).
final class WriteCaches: @unchecked Sendable {
    typealias Key = AccountKey

    /// 1/32 of the machine's memory at about 64 bytes an entry (24 GiB: 12.5M entries, ~0.8 GiB each), at
    /// least a million.
    static let defaultLimit = max(1_000_000, Int(ProcessInfo.processInfo.physicalMemory / 32 / 64))

    let limit: Int
    /// Uids' profile ids this writer learned since it last handed its cache out (`directory`).
    var profiles = UIDTable()
    /// The ones it handed out (`UIDSnapshot`), never changed in place: the importer's copy and this one share
    /// their storage, where a change here would copy it whole (~670 MB at ten million profiles).
    private(set) var known = UIDTable()
    /// Drawn anew whenever something the caches said may no longer hold (`reset`); hints carry the epoch
    /// they were found in (`ProfileHint`). From one process-wide counter, so no two writers share one.
    private(set) var epoch = WriteCaches.nextEpoch()
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

    func profileID(_ key: Key) -> Int64? { profiles[key] ?? known[key] }

    /// How many uids the caches hold.
    var profileCount: Int { profiles.count + known.count }

    func merge(profiles newProfiles: [Key: Int64], eventNames newNames: [Key: EventNameRow]) {
        profiles.merge(newProfiles)
        eventNames.merge(newNames) { _, new in new }
        guard profileCount > limit else { return }
        if known.isEmpty { profiles = profiles.half() } else { known = UIDTable() }
    }

    /// Everything the caches know of uids, handed to an importer (`WriteQueue.prepareForEvents`), with
    /// `read` (every uid's profile id read from a committed snapshot when the epoch was `readAt`) adopted
    /// first if it fits and is still current.
    func directory(adopting read: UIDTable?, readAt: UInt64) -> UIDSnapshot {
        if let read, readAt == epoch, profileCount + read.count <= limit {
            known = read
        }
        if known.isEmpty {
            known = profiles
        } else if !profiles.isEmpty {
            known.merge(keepingCurrent: profiles)
        }
        profiles = UIDTable()
        return UIDSnapshot(table: known, epoch: epoch)
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
        epoch = Self.nextEpoch()
        profiles = UIDTable()
        known = UIDTable()
        eventNames.removeAll()
        heads.removeAll()
        headsThrough = nil
        headsComplete = false
        lastTrim = (-1, 0)
    }

    private static let epochs = Atomic<UInt64>(0)

    private static func nextEpoch() -> UInt64 { epochs.add(1, ordering: .relaxed).newValue }

    /// Keeps about half the profile ids, the same half every time (Fibonacci hashing's top bit).
    private static func keeps(_ profile: Int64) -> Bool { UInt64(bitPattern: profile) &* 0x9E37_79B9_7F4A_7C15 >> 63 == 0 }
}
