import PostgresNIO

/// The hourly event counts (`event_counts`, contract §11) as ingest leaves them on PostgreSQL: each
/// transaction that adds or deletes events writes what it changed as one row per account
/// (`event_count_deltas`: names, hours and signed counts as arrays), a row no other writer touches; the
/// ingest store folds those rows into `event_counts` now and then, one fold per account at a time. A count is
/// then `event_counts` plus the rows not folded yet, and readers add both (`read`).
///
/// (Each transaction upserted its `event_counts` rows itself before: events spread over months touched ~600
/// rows a transaction, every writer held them locked to its commit, and writers queued on each other in
/// `trove bench http-batch`.)
enum PostgresCountDeltas {
    /// The advisory lock class a fold holds per account ("tc").
    static let foldLockClass: Int32 = 0x7463

    /// One row of deltas for `account` (each key once, zero counts left out by the caller).
    static func insert(account: Int64, names: [Int64], hours: [Int64], counts: [Int64]) -> PostgresQuery {
        "INSERT INTO event_count_deltas (account_id, name_ids, hours, counts) VALUES (\(account), \(names), \(hours), \(counts))"
    }

    /// The deltas of the events a statement's `gone` (a CTE of deleted rows with `account_id`, `name_id`,
    /// `timestamp`) took away, as a CTE part: `counted AS (…)`.
    static func uncount(hourOf timestamp: String) -> String {
        """
        counted AS (
            INSERT INTO event_count_deltas (account_id, name_ids, hours, counts)
            SELECT account_id, array_agg(name_id ORDER BY name_id, hour), array_agg(hour ORDER BY name_id, hour),
                   array_agg(-n ORDER BY name_id, hour)
            FROM (SELECT account_id, name_id, \(timestamp) AS hour, count(*) AS n FROM gone GROUP BY 1, 2, 3) h
            GROUP BY account_id)
        """
    }

    /// The accounts with rows to fold (`accounts` is the one table without `account_id`; each probe names it).
    static let accountsWithRows: PostgresQuery =
        "SELECT a.id FROM accounts a WHERE EXISTS (SELECT 1 FROM event_count_deltas d WHERE d.account_id = a.id) ORDER BY a.id"

    /// Waits for another fold of the account to commit (two at once could lock each other's rows in
    /// opposite orders); held to this transaction's end.
    static func lock(account: Int64) -> PostgresQuery {
        "SELECT pg_advisory_xact_lock(\(foldLockClass), \(Int32(truncatingIfNeeded: account)))"
    }

    /// The account's rows summed into `event_counts` and deleted, in one statement: a count is in one table or
    /// the other, never both. Sums above zero are upserted (keys in order); a sum below zero takes back what a
    /// fold before counted, so its row is there to update (an upsert would check its proposed row against
    /// `count >= 0` first). Each key has one sum, so the two parts touch different rows.
    static func fold(account: Int64) -> PostgresQuery {
        """
        WITH taken AS (DELETE FROM event_count_deltas WHERE account_id = \(account) RETURNING name_ids, hours, counts),
        sums AS (
            SELECT u.name_id, u.hour, sum(u.n)::bigint AS n FROM taken t, unnest(t.name_ids, t.hours, t.counts) AS u(name_id, hour, n)
            GROUP BY u.name_id, u.hour HAVING sum(u.n) <> 0),
        taken_back AS (
            UPDATE event_counts c SET count = c.count + s.n FROM sums s
            WHERE s.n < 0 AND c.account_id = \(account) AND c.name_id = s.name_id AND c.hour = s.hour)
        INSERT INTO event_counts (account_id, name_id, hour, count)
        SELECT \(account), name_id, hour, n FROM sums WHERE n > 0 ORDER BY name_id, hour
        ON CONFLICT (account_id, name_id, hour) DO UPDATE SET count = event_counts.count + excluded.count
        """
    }

    /// Per name of `names`, the hours of [`from`, `to`) with events and their counts (an hour may come more
    /// than once: folded and not yet folded; the caller adds them up).
    static func read(account: Int64, names: [Int64], from: Int64, to: Int64) -> PostgresQuery {
        """
        SELECT name_id, array_agg(hour), array_agg(count) FROM (
            SELECT name_id, hour, count FROM event_counts
            WHERE account_id = \(account) AND name_id = ANY(\(names)) AND hour >= \(from) AND hour < \(to)
            UNION ALL
            SELECT u.name_id, u.hour, u.n FROM event_count_deltas d, unnest(d.name_ids, d.hours, d.counts) AS u(name_id, hour, n)
            WHERE d.account_id = \(account) AND u.name_id = ANY(\(names)) AND u.hour >= \(from) AND u.hour < \(to)
        ) c
        GROUP BY name_id
        """
    }

    /// Folds every account's rows, each in a transaction of its own, on a writer's connection (the ingest
    /// store's folds, its catch-up and its graceful stop).
    static func foldAll(on connection: BlockingConnection) throws {
        for row in try connection.query(accountsWithRows) {
            let account = try row.decode(Int64.self)
            try connection.query("BEGIN")
            do {
                try connection.query(lock(account: account))
                try connection.query(fold(account: account))
                try connection.query("COMMIT")
            } catch {
                if !connection.broken { _ = try? connection.query("ROLLBACK") }
                throw error
            }
        }
    }
}
