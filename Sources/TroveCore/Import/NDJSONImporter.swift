/// `trove import`: NDJSON through the same parse, normalize and write path as the hooks, in chunks, with
/// parsing of the next chunk overlapping the write of the previous ones.
///
/// Events go four chunks at a time (`eventChunksInFlight`): no event's outcome depends on another's order
/// (a `message_id` seen twice stores once, whichever commits first; a uid two chunks create at once makes
/// one profile, the loser's transaction running again), and on PostgreSQL one chunk's client work then
/// overlaps the other's statements. Four, not two: SQLite's group commit takes two chunks per transaction
/// (20k items), so with two in flight the parser waited for both and the writer then waited for the parser
/// (20M events onto the 10× profiles, alternated: 81.9, 85.1, 102.2, 90.8 s against 105.3, 104.2, 106.8,
/// 94.0 s with two). Profiles and companies go one chunk at a time: a later line about the same uid must win.
public struct NDJSONImporter: Sendable {
    public struct Summary: Sendable {
        public var rows = 0
        public var rejected = 0
        public var skipped = 0
        public var warnings = 0
        public var seconds = 0.0
        /// The first rejections, with their 1-based line numbers.
        public var firstErrors: [(line: Int, message: String)] = []

        public var rate: Double { seconds > 0 ? Double(rows) / seconds : 0 }
    }

    public let ingestor: Ingestor
    public var chunkSize = 10_000
    public var eventChunksInFlight = 4

    public init(ingestor: Ingestor) { self.ingestor = ingestor }

    public func run(
        path: String, model: Model, account: Int64, progress: (_ bytesRead: Int, _ fileSize: Int, _ rows: Int) -> Void = { _, _, _ in }
    ) async throws -> Summary {
        let reader = try LineReader(path: path)
        let clock = ingestor.clock
        let started = ContinuousClock.now
        var summary = Summary()
        var lineNumber = 0
        var prepared = false
        var directory: (any ProfileDirectory)?
        var inFlight: [(task: Task<[ItemOutcome], any Error>, lines: [Int])] = []
        let maxInFlight = model == .event ? max(1, eventChunksInFlight) : 1

        func record(error: IngestError, line: Int) {
            summary.rejected += 1
            if summary.firstErrors.count < 10 { summary.firstErrors.append((line, error.description)) }
        }

        func finish(_ pending: (task: Task<[ItemOutcome], any Error>, lines: [Int])) async throws {
            let outcomes = try await pending.task.value
            for (outcome, line) in zip(outcomes, pending.lines) {
                switch outcome {
                case .stored, .duplicate: summary.rows += 1
                case .skipped: summary.skipped += 1
                case .failed(let e): record(error: e, line: line)
                }
            }
            progress(reader.bytesRead, reader.fileSize, summary.rows)
        }

        while true {
            var items: [Ingestor.Item] = []
            var lines: [Int] = []
            items.reserveCapacity(chunkSize)
            let normalizer = ValueNormalizer(now: clock.now())
            while items.count < chunkSize, let line = try reader.next() {
                lineNumber += 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                do {
                    guard line.count <= Ingestor.maxObjectBytes else { throw IngestError.tooLarge("line is over 1 MiB") }
                    let json = try Ingestor.parseBody(line)
                    let item = try Ingestor.parseItem(json, model: model, normalizer: normalizer, source: .import)
                    summary.warnings += item.warningCount
                    items.append(item)
                    lines.append(lineNumber)
                } catch let error as IngestError {
                    record(error: error, line: lineNumber)
                }
            }
            guard !items.isEmpty else {
                while !inFlight.isEmpty { try await finish(inFlight.removeFirst()) }
                break
            }
            if model == .event && !prepared {
                // Before the first chunk is written: about how many events the file holds, by its lines so far.
                prepared = true
                let expected = Int(Double(reader.fileSize) * Double(lineNumber) / Double(max(1, reader.bytesConsumed)))
                directory = try await ingestor.store.prepareForEvents(account: account, expected: expected)
            }
            // Off the writer, whose time bounds the import: it then skips the uid lookups.
            directory?.stamp(&items, account: account)
            if inFlight.count >= maxInFlight { try await finish(inFlight.removeFirst()) }
            let chunk = items
            inFlight.append((Task { try await ingestor.ingest(items: chunk, account: account) }, lines))
        }
        // Part of getting the data in: derived tables (last_seen_at) are current when the import returns.
        try await ingestor.store.catchUp()
        let elapsed = ContinuousClock.now - started
        summary.seconds = elapsed.seconds
        return summary
    }
}

extension Ingestor.Item {
    var warningCount: Int {
        switch self {
        case .profile(let p): return p.warnings.count
        case .company(let c): return c.warnings.count
        case .event(let e): return e.warnings.count
        }
    }
}
