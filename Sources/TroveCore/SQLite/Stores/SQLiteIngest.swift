import GRDB

/// `IngestStore` on SQLite: the group-commit `WriteQueue`, its transactions' `WriteSession`s.
extension WriteQueue: IngestStore {
    public func write<T: Sendable>(weight: Int, _ work: @escaping @Sendable (any IngestWrites) throws -> T) async throws -> T {
        try await perform(weight: weight) { session in try work(session) }
    }
}

extension WriteSession: IngestWrites {
    public func profileID(_ customer: CustomerID, account: Int64) throws -> Int64? {
        try customer.profileID(db, account: account)
    }
}

extension WriteQueue {
    /// At the start of an import of events (`trove import`): the activity rollup waits for longer tails
    /// until its end (`RollupState.importing`), and the importer gets the writer's uid cache to stamp each
    /// event with its profile's id while parsing (`UIDSnapshot`), so the writer, whose time bounds the import,
    /// does no lookup: at ten million profiles each was a cache miss. With the heads probed once an event
    /// (`linkEvent`), importing 20M events onto 10M profiles took the writer 70–73 CPU-seconds against 80–87
    /// and the parser 62 against 53–57; 84.6–87.1 s against 89.8–96.1 s (three alternated pairs).
    ///
    /// When the import will name a good part of the profiles stored earlier and the cache holds few of them
    /// (a process of its own), every uid's profile id is read first, off the writer: each uid's first event
    /// would otherwise look its profile up in `profiles_by_uid` on the writer, a B-tree descent that at ten
    /// million profiles mostly misses the page cache; one pass is far cheaper: importing 20M events onto 10M
    /// profiles (10× the reference set), 5 s to read them, then 125–143 CPU-seconds for the import against
    /// 169–181 without (five runs each). Not read when the profiles would not fit in the cache or the import
    /// is small beside them.
    @discardableResult
    public func prepareForEvents(account: Int64, expected: Int) async throws -> (any ProfileDirectory)? {
        rollups.withLock { $0.importing = true }
        let (cached, epoch) = try await perform { session in (session.caches.profileCount, session.caches.epoch) }
        let read: UIDTable? = try await database.pool.read { [caches] db in
            // The top id bounds the count (ids are shared by all accounts) and costs nothing.
            guard let top = try Int.fetchOne(db, sql: "SELECT max(id) FROM profiles"), cached < top / 2 else { return nil }
            let profiles = try Int.fetchOne(db, sql: "SELECT count(*) FROM profiles WHERE account_id = ?", arguments: [account]) ?? 0
            guard profiles > 0, expected >= profiles / Self.warmingRatio, cached < profiles / 2, cached + profiles <= caches.limit else {
                return nil
            }
            var read = UIDTable(capacity: profiles)
            let rows = try Row.fetchCursor(
                db, sql: "SELECT uid, id FROM profiles WHERE account_id = ? AND uid IS NOT NULL", arguments: [account])
            while let row = try rows.next() { read[WriteCaches.Key(account: account, key: row[0])] = row[1] }
            return read
        }
        return try await perform { session in session.caches.directory(adopting: read, readAt: epoch) }
    }

    /// An import of at least 1/4 as many events as the account has profiles reads every uid first: the
    /// events then name at least a fifth of the profiles, each a lookup that costs some ten times its share
    /// of the one pass (measured at 10×: ~0.5 µs a profile to read them all, ~5 µs a first event's lookup).
    static let warmingRatio = 4
}
