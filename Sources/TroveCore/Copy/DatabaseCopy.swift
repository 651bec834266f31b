/// `trove copy`: every table of one database into another (either engine to either), in batches in key
/// order, each batch its own transaction, so an interrupted copy resumes where the destination's rows end;
/// then a verification (counts per table and account, and sampled rows compared value by value).
///
/// The source should be still (no server writing to it): what is copied is what is there batch by batch.
public struct DatabaseCopy: Sendable {
    public enum Event: Sendable {
        /// Starting `table`: `total` rows in the source, `done` of them already in the destination.
        case table(String, total: Int, done: Int)
        /// `copied` more rows of the current table are in.
        case copied(Int)
        case tableDone(String)
    }

    public struct Outcome: Sendable {
        public var rows = 0
        public var batches = 0
        /// False when `maxBatches` stopped the copy before the end.
        public var complete = true
    }

    public struct Mismatch: Sendable, CustomStringConvertible {
        public let table: String
        public let account: Int64?
        public let detail: String
        public var description: String { "\(table)\(account.map { " (account \($0))" } ?? ""): \(detail)" }
    }

    public struct Verification: Sendable {
        /// Rows per table, as counted in the source (and, where they agree, the destination).
        public var counts: [(table: String, rows: Int)] = []
        public var sampled = 0
        public var mismatches: [Mismatch] = []
    }

    let from: any TroveEngine
    let source: any CopyStore
    let destination: any CopyStore
    let batchSize: Int
    let maxBatches: Int?
    let report: @Sendable (Event) -> Void

    /// `maxBatches`: stop after that many batches (a copy in several sittings; run again to go on).
    public init(from: any TroveEngine, to: any TroveEngine, batchSize: Int = 2_000, maxBatches: Int? = nil,
                report: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.from = from
        self.source = from.copyStore
        self.destination = to.copyStore
        self.batchSize = max(1, batchSize)
        self.maxBatches = maxBatches
        self.report = report
    }

    /// Both engines' tables are the ones this build knows how to copy, with no column left behind.
    public func checkSchemas() async throws {
        for (side, store) in [("source", source), ("destination", destination)] {
            let schema = try await store.schema()
            let known = Set(CopyTable.all.map(\.name)).union(CopyTable.derived)
            if let unknown = schema.keys.sorted().first(where: { !known.contains($0) }) {
                throw CopyError.schema("the \(side) has a table this version of Trove cannot copy: \(unknown)")
            }
            for table in CopyTable.all {
                guard let columns = schema[table.name] else { throw CopyError.schema("the \(side) has no table \(table.name): is it migrated?") }
                if let extra = columns.first(where: { !table.columnNames.contains($0) }) {
                    throw CopyError.schema("the \(side)'s \(table.name) has a column this version of Trove cannot copy: \(extra)")
                }
            }
        }
    }

    /// The destination's accounts are none, or the source's own (an earlier, interrupted copy): never
    /// another database's.
    public func checkDestination() async throws {
        let table = CopyTable.named("accounts")!
        let there = try await destination.rows(table, account: nil, after: nil, limit: 10_000)
        guard !there.isEmpty else { return }
        let mine = try await source.rows(table, account: nil, keys: there.map { [$0[0]] })
        let byID = Dictionary(mine.map { ($0[0], $0) }, uniquingKeysWith: { a, _ in a })
        for row in there where byID[row[0]].map({ !Self.same($0, row, table) }) ?? true {
            throw CopyError.destinationNotEmpty("its account \(row[1]) is not the source's; copy into an empty database")
        }
    }

    public func run() async throws -> Outcome {
        try await checkSchemas()
        // What is copied is whole: the source's derived tables (SQLite's rollups, PostgreSQL's count rows)
        // and membership current (the copy carries no work still waiting to be done on it).
        try await from.ingestStore.catchUp()
        try await from.membershipWork.catchUp()
        try await checkDestination()
        let accounts = try await source.accountIDs()
        var outcome = Outcome()
        for table in CopyTable.all {
            var total = 0, done = 0
            for account in scopes(table, accounts) {
                total += try await source.count(table, account: account)
                done += try await destination.count(table, account: account)
            }
            report(.table(table.name, total: total, done: min(done, total)))
            for account in scopes(table, accounts) {
                var after = try await destination.lastKey(table, account: account)
                while true {
                    if let limit = maxBatches, outcome.batches >= limit {
                        outcome.complete = false
                        return outcome
                    }
                    let rows = try await source.rows(table, account: account, after: after, limit: batchSize)
                    guard !rows.isEmpty else { break }
                    try await destination.insert(table, rows: rows)
                    outcome.rows += rows.count
                    outcome.batches += 1
                    report(.copied(rows.count))
                    after = table.keyIndexes.map { rows.last![$0] }
                    if rows.count < batchSize { break }
                }
            }
            report(.tableDone(table.name))
        }
        try await destination.finishDestination()
        return outcome
    }

    /// Counts per table and account compared, then `samplesPerTable` rows of each table (spread over its
    /// accounts: the first, the last and some between) compared value by value.
    public func verify(samplesPerTable: Int = 50) async throws -> Verification {
        let accounts = try await source.accountIDs()
        var result = Verification()
        for table in CopyTable.all {
            var rows = 0
            var keys: [(Int64?, [CopyValue])] = []
            let scopes = scopes(table, accounts)
            let perScope = max(3, samplesPerTable / max(1, scopes.count))
            for account in scopes {
                let (mine, theirs) = (try await source.count(table, account: account), try await destination.count(table, account: account))
                rows += mine
                if mine != theirs {
                    result.mismatches.append(Mismatch(table: table.name, account: account, detail: "\(mine) rows in the source, \(theirs) in the copy"))
                }
                keys += try await sampleKeys(table, account: account, rows: mine, count: perScope).map { (account, $0) }
            }
            result.counts.append((table.name, rows))
            for (account, key) in keys {
                let mine = try await source.rows(table, account: account, keys: [key]).first
                let theirs = try await destination.rows(table, account: account, keys: [key]).first
                result.sampled += 1
                switch (mine, theirs) {
                case (let a?, let b?) where Self.same(a, b, table): continue
                case (_?, nil): result.mismatches.append(Mismatch(table: table.name, account: account, detail: "row \(key) is missing from the copy"))
                case (let a?, let b?):
                    let column = table.columns.indices.first { !Self.same(a[$0], b[$0], table.columns[$0].kind) }!
                    result.mismatches.append(Mismatch(
                        table: table.name, account: account, detail: "row \(key) differs in \(table.columns[column].name): \(a[column]) ≠ \(b[column])"))
                case (nil, _): continue  // gone from the source meanwhile
                }
            }
        }
        return result
    }

    /// Keys spread over a table's rows: the first, the last, and between them rows at evenly spaced ids
    /// (an integer key) or found by walking batches (a composite key; a walk of at most `count` batches).
    private func sampleKeys(_ table: CopyTable, account: Int64?, rows: Int, count: Int) async throws -> [[CopyValue]] {
        guard rows > 0, let last = try await source.lastKey(table, account: account) else { return [] }
        var keys: [[CopyValue]] = []
        if table.key.count == 1, case .integer(let high) = last[0],
           let firstRow = try await source.rows(table, account: account, after: nil, limit: 1).first,
           case .integer(let low) = firstRow[table.keyIndexes[0]] {
            let step = max(1, (high - low) / Int64(count))
            var target = low
            while target <= high && keys.count < count {
                guard let row = try await source.rows(table, account: account, after: [.integer(target - 1)], limit: 1).first else { break }
                let key = [row[table.keyIndexes[0]]]
                if keys.last != key { keys.append(key) }
                target += step
            }
        } else {
            let step = min(10_000, max(1, rows / count))
            var after: [CopyValue]? = nil
            while keys.count < count {
                let batch = try await source.rows(table, account: account, after: after, limit: step)
                guard let first = batch.first else { break }
                keys.append(table.keyIndexes.map { first[$0] })
                after = table.keyIndexes.map { batch.last![$0] }
                if batch.count < step { break }
            }
        }
        if keys.last != last { keys.append(last) }
        return keys
    }

    private func scopes(_ table: CopyTable, _ accounts: [Int64]) -> [Int64?] {
        table.perAccount ? accounts.map { $0 } : [nil]
    }

    static func same(_ a: CopyRow, _ b: CopyRow, _ table: CopyTable) -> Bool {
        a.count == b.count && table.columns.indices.allSatisfy { same(a[$0], b[$0], table.columns[$0].kind) }
    }

    /// Equal as values: JSON by meaning (members in any order, 1 and 1.0 alike), the rest exactly.
    static func same(_ a: CopyValue, _ b: CopyValue, _ kind: CopyTable.Kind) -> Bool {
        guard kind == .json, case .text(let x) = a, case .text(let y) = b else { return a == b }
        guard let p = try? JSONParser.parse(Array(x.utf8)), let q = try? JSONParser.parse(Array(y.utf8)) else { return x == y }
        return sameJSON(p, q)
    }

    static func sameJSON(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.object(let x), .object(let y)):
            let (u, v) = (x.sorted { $0.key < $1.key }, y.sorted { $0.key < $1.key })
            return u.count == v.count && zip(u, v).allSatisfy { $0.key == $1.key && sameJSON($0.value, $1.value) }
        default: return a == b
        }
    }
}

public enum CopyError: Error, CustomStringConvertible {
    case schema(String)
    case destinationNotEmpty(String)
    case unusable(String)

    public var description: String {
        switch self {
        case .schema(let s): return "copy: \(s)"
        case .destinationNotEmpty(let s): return "copy: the destination is not empty: \(s)"
        case .unusable(let s): return "copy: \(s)"
        }
    }
}
