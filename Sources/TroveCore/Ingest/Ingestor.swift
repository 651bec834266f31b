import GRDB

/// The one ingest path every source shares (hooks, imports, later Track and Customer.io): parse and
/// normalize on the caller's task, then apply through the group-commit queue.
public struct Ingestor: Sendable {
    public let queue: WriteQueue

    public static let maxObjectBytes = 1 << 20
    public static let maxBatchBytes = 16 << 20

    public init(queue: WriteQueue) { self.queue = queue }

    public var clock: TroveClock { queue.clock }

    /// A parsed, normalized item ready for the writer.
    public enum Item: Sendable {
        case profile(ProfileInput)
        case company(CompanyInput)
        case event(EventInput)
    }

    public static func parseItem(_ json: JSON, model: Model, normalizer: ValueNormalizer, source: EventSource) throws(IngestError) -> Item {
        switch model {
        case .profile: return .profile(try ProfileInput.parse(json, normalizer: normalizer))
        case .company: return .company(try CompanyInput.parse(json, normalizer: normalizer))
        case .event: return .event(try EventInput.parse(json, normalizer: normalizer, source: source))
        }
    }

    public static func parseBody(_ body: [UInt8]) throws(IngestError) -> JSON {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw IngestError(error)
        }
    }

    /// One object (`POST .../profiles|companies|events`). Returns the stored (or, for a repeated
    /// `message_id`, the first) row id.
    public func ingest(_ model: Model, account: Int64, body: [UInt8], source: EventSource = .hook) async throws -> Int64 {
        guard body.count <= Self.maxObjectBytes else {
            throw IngestError.tooLarge("body is \(body.count) bytes; a single object may be at most 1 MiB (use the /batch endpoint)")
        }
        let json = try Self.parseBody(body)
        let item = try Self.parseItem(json, model: model, normalizer: ValueNormalizer(now: clock.now()), source: source)
        let outcome = try await queue.perform { session in try session.apply(item, account: account, onMissing: .create) }
        guard let id = outcome.rowID else { throw IngestError.invalid("the item was not stored") }
        return id
    }

    /// Applies already-parsed items in one transaction (imports). Outcomes are in item order.
    public func ingest(items: [Item], account: Int64, onMissing: OnModelMissing = .create) async throws -> [ItemOutcome] {
        try await queue.perform(weight: max(1, items.count)) { session in
            try session.apply(items, account: account, onMissing: onMissing)
        }
    }
}

extension WriteSession {
    public func apply(_ item: Ingestor.Item, account: Int64, onMissing: OnModelMissing) throws -> ItemOutcome {
        switch item {
        case .profile(let p): return try upsertProfile(p, account: account, onMissing: onMissing)
        case .company(let c): return try upsertCompany(c, account: account, onMissing: onMissing)
        case .event(let e): return try insertEvent(e, account: account, onMissing: onMissing)
        }
    }

    /// Applies items in order. A bad item fails alone (`.failed`); any other error propagates, so the
    /// transaction rolls back and nothing half-written commits.
    public func apply(_ items: [Ingestor.Item], account: Int64, onMissing: OnModelMissing) throws -> [ItemOutcome] {
        var outcomes: [ItemOutcome] = []
        outcomes.reserveCapacity(items.count)
        for item in items {
            do {
                outcomes.append(try apply(item, account: account, onMissing: onMissing))
            } catch let error as IngestError {
                outcomes.append(.failed(error))
            }
        }
        return outcomes
    }
}
