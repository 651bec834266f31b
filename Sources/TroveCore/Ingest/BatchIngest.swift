import Foundation

/// What a batch did (contract §3 "Batch"): how many items were stored or skipped, and each refused item by index.
public struct BatchOutcome: Sendable {
    public struct Refusal: Sendable {
        public var index: Int
        public var error: IngestError
    }

    public var id: String
    public var accepted: Int
    public var skipped: Int
    /// In index order.
    public var errors: [Refusal]
}

/// The reply to a batch as the server encodes it, kept verbatim for `Idempotency-Key` replays (so a replay
/// is the first reply byte for byte).
public struct BatchReply: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

extension Ingestor {
    static func itemsKey(_ model: Model) -> String {
        switch model {
        case .profile: return "profiles"
        case .company: return "companies"
        case .event: return "events"
        }
    }

    /// `POST .../{profiles|companies|events}/batch`: valid items stored in one transaction, invalid ones
    /// reported by index and stored nowhere. `reply` encodes the outcome inside the write transaction; with an
    /// `idempotencyKey`, a retry within 24 h gets the first reply.
    public func ingestBatch(
        _ model: Model, account: Int64, body: [UInt8], idempotencyKey: String? = nil, source: EventSource = .hook,
        reply encode: @escaping @Sendable (BatchOutcome) -> BatchReply
    ) async throws -> BatchReply {
        guard body.count <= Self.maxBatchBytes else {
            throw IngestError.tooLarge("body is \(body.count) bytes, more than 16 MiB: split the batch")
        }
        if let key = idempotencyKey {
            guard !key.isEmpty, key.utf8.count <= 255 else { throw IngestError.invalid("Idempotency-Key: must be 1 to 255 bytes") }
        }
        let key = Self.itemsKey(model)
        let parsed: (members: [JSONMember], items: [(JSON, Int)]?)
        do {
            parsed = try JSONParser.parseBatch(body, itemsKey: key)
        } catch {
            throw IngestError(error)
        }
        if parsed.members.count == 1, parsed.members[0].key.isEmpty {
            throw IngestError.invalid("body: expected a JSON object with \"\(key)\": [...], got \(parsed.members[0].value.typeName)")
        }
        guard let rawItems = parsed.items else {
            if let other = parsed.members.last(where: { $0.key == key }) {
                throw IngestError.invalid("\(key): must be an array, got \(other.value.typeName)")
            }
            throw IngestError.invalid("\(key): required, an array of objects")
        }
        var onMissing = OnModelMissing.create
        if let value = parsed.members.last(where: { $0.key == "on_model_missing" })?.value, value != .null {
            guard case .string(let s) = value, let v = OnModelMissing(rawValue: s) else {
                throw IngestError.invalid("on_model_missing: must be \"create\" or \"ignore\"")
            }
            onMissing = v
        }

        let normalizer = ValueNormalizer(now: clock.now())
        var errors: [(index: Int, error: IngestError)] = []
        var valid: [(index: Int, item: Item)] = []
        valid.reserveCapacity(rawItems.count)
        for (index, (json, size)) in rawItems.enumerated() {
            if size > Self.maxObjectBytes {
                errors.append((index, .tooLarge("item is \(size) bytes; an item may be at most 1 MiB")))
                continue
            }
            do {
                valid.append((index, try Self.parseItem(json, model: model, normalizer: normalizer, source: source)))
            } catch {
                errors.append((index, error))
            }
        }
        let parseErrors = errors
        let validItems = valid
        let missing = onMissing
        let batchID = Credentials.randomToken(bytes: 12)
        return try await store.write(weight: max(1, validItems.count)) { session -> BatchReply in
            if let idempotencyKey, let replay = try session.idempotentReply(account: account, key: idempotencyKey) {
                return replay
            }
            var errors = parseErrors
            var accepted = 0
            var skipped = 0
            let outcomes = try session.apply(validItems.map(\.item), account: account, onMissing: missing)
            for (outcome, index) in zip(outcomes, validItems.map(\.index)) {
                switch outcome {
                case .stored, .duplicate: accepted += 1
                case .skipped: skipped += 1
                case .failed(let e): errors.append((index, e))
                }
            }
            errors.sort { $0.index < $1.index }
            let result = encode(BatchOutcome(
                id: batchID, accepted: accepted, skipped: skipped, errors: errors.map { BatchOutcome.Refusal(index: $0.index, error: $0.error) }))
            if let idempotencyKey { try session.saveIdempotentReply(account: account, key: idempotencyKey, route: key, reply: result) }
            return result
        }
    }
}

