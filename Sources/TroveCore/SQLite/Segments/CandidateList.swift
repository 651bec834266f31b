import GRDB
import GRDBSQLite

extension SegmentCompiler.MembersQuery {
    /// This query with its candidates found in `db` (`staged`): `select` becomes the members among them,
    /// which SQLite reads in id order from one JSON array (`json_each`). Unchanged when it is not staged.
    ///
    /// The candidates' sort and their company test are done here rather than by SQLite, which spends a
    /// record comparison or a B-tree probe on each. Measured on the 10× reference set in the sqlite3 shell
    /// (warm, 2026-12-06): of the one-statement form's ~410 ms, the composite index's 280,655 entries took
    /// ~20 ms, testing each one's company against the 84,645 ids of the company condition ~90–130 ms, sorting
    /// the 236,279 that passed ~65 ms (a materialized CTE), and their seeks into the name's index ~180 ms;
    /// handed over as a JSON array, reading it back cost 6 ms.
    func resolved(_ db: Database) throws -> Self {
        guard let staged else { return self }
        var query = self
        query.staged = nil
        guard let (ids, narrowed) = try CandidateList.ids(staged, db) else { return query }  // past the limit: `select`
        let members = narrowed ? staged.trustingMembers ?? staged.members : staged.members
        query.select = SQLFragment("WITH candidates(id) AS (SELECT value FROM json_each(?)) ", [.text(JSONWriter.string(integers: ids))]) + members
        return query
    }
}

/// The candidates of a staged members query (`SegmentCompiler.Staged`).
enum CandidateList {
    /// At most this many candidates are handed over: `json_each` parses the whole array first, ~20 bytes a
    /// node on top of the text (2M ids: ~18 MB of text, ~40 MB of nodes). Past it a pass over the names'
    /// indexes costs about as much as the seeks anyway (the limit is a pass over ≥ 16M events).
    static let maxIDs = 2_000_000

    /// The candidates' ids in ascending order: the rows of `staged.candidates` whose company passes every
    /// company condition (a profile without a company passes none) and who are among the profiles of every
    /// `staged.required` query; `narrowed`: by every one of them (none was left unread, below). Nil past
    /// `staged.limit` or `maxIDs`: reading stops there.
    static func ids(_ staged: SegmentCompiler.Staged, _ db: Database) throws -> (ids: [Int64], narrowed: Bool)? {
        var companies: IDSet?
        for query in staged.companies {
            var passing: [Int64] = []
            try rows(query, db) { handle in
                let id = sqlite3_column_int64(handle, 0)
                if companies?.contains(id) ?? true { passing.append(id) }
                return true
            }
            companies = IDSet(passing)
        }
        var ids: [Int64] = []
        let limit = min(Int(clamping: staged.limit), maxIDs)
        try rows(staged.candidates, db) { handle in
            // `company_id` NULL reads as 0, which no company has.
            if companies?.contains(sqlite3_column_int64(handle, 1)) ?? true { ids.append(sqlite3_column_int64(handle, 0)) }
            return ids.count <= limit
        }
        guard ids.count <= limit else { return nil }
        // Only those among the profiles each event condition can pass for (`CandidatesFirst.required`), while
        // these are not many more than the candidates: past `requiredPerCandidate` a profile each, reading
        // them costs more than the seeks they would save, and the candidates stay as they are.
        var passing = IDSet(ids)
        var count = ids.count
        var narrowed = true
        for query in staged.required {
            var kept: [Int64] = []
            var read = 0
            let most = count * requiredPerCandidate
            try rows(query, db) { handle in
                let id = sqlite3_column_int64(handle, 0)
                if passing.contains(id) { kept.append(id) }
                read += 1
                return read <= most
            }
            guard read <= most else {
                narrowed = false
                continue
            }
            passing = IDSet(kept)
            count = kept.count
        }
        return (passing.sorted, narrowed)
    }

    /// How many profiles of a `required` query are read per candidate at most. Measured at 10× the reference
    /// set (sqlite3 shell, warm): a seek into a name's index ~0.75 µs, an entry of `event_recency`'s range
    /// ~0.065 µs, so reading 4 per candidate costs about a third of the seeks.
    static let requiredPerCandidate = 4

    /// Steps through `query`'s rows, handing `body` the statement to read each one's columns from, while it
    /// returns true.
    static func rows(_ query: SQLFragment, _ db: Database, _ body: (OpaquePointer) throws -> Bool) throws {
        let statement = try RawStatement(db, sql: query.sql)
        try statement.statement.setArguments(query.statementArguments)
        let handle = statement.handle
        defer { statement.reset() }
        while try RawStatement.step(handle), try body(handle) {}
    }
}

/// A set of row ids: bits over the range they span where they are dense enough (profile and company ids are
/// rowids, handed out in order), a hash set otherwise. At 10× the reference set, sorting the 236k candidate
/// ids with `sort()` took ~20 ms; through the bits (set, then read in order), ~3 ms.
struct IDSet {
    private var low: Int64 = 0
    private var bits: [UInt64] = []
    private var hashed: Set<Int64>?

    init(_ ids: [Int64]) {
        guard let low = ids.min(), let high = ids.max() else { return }
        let (span, overflow) = high.subtractingReportingOverflow(low)
        // Bits while they take at most 32 words per id (256 bytes): a hash set takes ~16–32 bytes per id.
        guard !overflow, span / 64 < Int64(ids.count) * 32 else {
            hashed = Set(ids)
            return
        }
        self.low = low
        bits = [UInt64](repeating: 0, count: Int(span / 64) + 1)
        for id in ids {
            let offset = id - low
            bits[Int(offset / 64)] |= 1 << UInt64(offset % 64)
        }
    }

    func contains(_ id: Int64) -> Bool {
        if let hashed { return hashed.contains(id) }
        guard id >= low else { return false }
        let (offset, overflow) = id.subtractingReportingOverflow(low)
        guard !overflow, offset / 64 < Int64(bits.count) else { return false }
        return bits[Int(offset / 64)] & (1 << UInt64(offset % 64)) != 0
    }

    /// The ids in ascending order, each once.
    var sorted: [Int64] {
        if let hashed { return hashed.sorted() }
        var ids: [Int64] = []
        for (i, word) in bits.enumerated() {
            var rest = word
            while rest != 0 {
                ids.append(low + Int64(i * 64 + rest.trailingZeroBitCount))
                rest &= rest - 1
            }
        }
        return ids
    }
}
