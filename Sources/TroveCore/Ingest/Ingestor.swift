/// The one ingest path every source shares (hooks, imports, later Track and Customer.io): parse and
/// normalize on the caller's task, then apply through the group-commit queue.
public struct Ingestor: Sendable {
    public let store: any IngestStore

    public static let maxObjectBytes = 1 << 20
    public static let maxBatchBytes = 16 << 20

    public init(store: any IngestStore) { self.store = store }

    public var clock: TroveClock { store.clock }

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

    public static func parseBody(_ body: some Collection<UInt8>) throws(IngestError) -> JSON {
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
        let outcome = try await store.write { session in try session.apply(item, account: account, onMissing: .create) }
        guard let id = outcome.rowID else { throw IngestError.invalid("the item was not stored") }
        return id
    }

    /// Applies already-parsed items in one transaction (imports). Outcomes are in item order.
    public func ingest(items: [Item], account: Int64, onMissing: OnModelMissing = .create) async throws -> [ItemOutcome] {
        try await store.write(weight: max(1, items.count)) { session in
            try session.apply(items, account: account, onMissing: onMissing)
        }
    }
}
