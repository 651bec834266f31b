/// Segment's HTTP tracking API (contract §14), so Segment-spec SDKs (analytics-python, analytics.js,
/// RudderStack's) send to Trove by changing their host: a request is read into messages
/// (`SegmentMessage`), then written in one transaction of the shared ingest path, durable before the reply.
public struct SegmentTracking: Sendable {
    public let ingestor: Ingestor

    public init(ingestor: Ingestor) { self.ingestor = ingestor }

    /// Segment's limits: a batch request, and each message (a single call's body, or one in a batch).
    public static let maxBatchBytes = 500 * 1024
    public static let maxMessageBytes = 32 * 1024

    public enum Call: Sendable, Equatable {
        case batch
        case single(SegmentMessage.Kind)
    }

    /// A request's body, read: the write key it carries (if any) and each message, parsed or refused.
    public struct Request: Sendable {
        public var writeKey: String?
        public var isBatch: Bool
        var messages: [Result<SegmentMessage, IngestError>]

        public var count: Int { messages.count }
    }

    /// What a request stored: how many messages, and each refused one by index (a single call's is 0).
    public struct Outcome: Sendable {
        public var accepted: Int
        public var errors: [BatchOutcome.Refusal]
    }

    /// Reads a decoded (gunzipped) body. Whole-request problems throw: a body that is not JSON, limits
    /// passed (anywhere in a batch: Segment refuses the whole request), a batch without its array. A
    /// message that is wrong on its own is kept as refused, so the rest of a batch still goes in.
    public static func read(_ call: Call, body: [UInt8], receivedAt: Timestamp) throws(IngestError) -> Request {
        switch call {
        case .single(let kind):
            let json = try Ingestor.parseBody(body)
            guard case .object = json else { throw .invalid("body: expected a JSON object (a \(kind.rawValue) message), got \(json.typeName)") }
            return try one(json, kind: kind, bytes: body.count, receivedAt: receivedAt)
        case .batch:
            guard body.count <= maxBatchBytes else {
                throw .tooLarge("body is \(body.count) bytes; a batch may be at most 500 KB: send smaller batches")
            }
            let parsed: (members: [JSONMember], items: [(JSON, Int)]?)
            do {
                parsed = try JSONParser.parseBatch(body, itemsKey: "batch")
            } catch {
                throw IngestError(error)
            }
            if parsed.members.count == 1, parsed.members[0].key.isEmpty {
                throw .invalid("body: expected a JSON object with \"batch\": [...], got \(parsed.members[0].value.typeName)")
            }
            guard let items = parsed.items else {
                // One message with its `type`, as Segment's and RudderStack's webhook destinations post each event
                // to one URL: read as that call.
                if parsed.members.contains(where: { $0.key == "type" }), !parsed.members.contains(where: { $0.key == "batch" }) {
                    return try one(.object(parsed.members), kind: nil, bytes: body.count, receivedAt: receivedAt)
                }
                if let other = parsed.members.last(where: { $0.key == "batch" }) { throw .invalid("batch: must be an array, got \(other.value.typeName)") }
                throw .invalid("batch: required, an array of messages")
            }
            if let (index, (_, size)) = items.enumerated().first(where: { $0.element.1 > maxMessageBytes }) {
                throw .tooLarge("batch[\(index)]: message is \(size) bytes; a message may be at most 32 KB")
            }
            let sentAt = try SegmentMessage.sentAt(parsed.members.last(where: { $0.key == "sentAt" })?.value, receivedAt: receivedAt)
            let messages = items.enumerated().map { index, item -> Result<SegmentMessage, IngestError> in
                do throws(IngestError) {
                    return .success(try SegmentMessage.parse(item.0, kind: nil, sentAt: sentAt, receivedAt: receivedAt))
                } catch {
                    return .failure(error.at("batch[\(index)]."))
                }
            }
            return Request(writeKey: parsed.members.last(where: { $0.key == "writeKey" })?.value.stringValue, isBatch: true, messages: messages)
        }
    }

    /// A request of one message (`kind` nil: its `type` says which call).
    static func one(_ json: JSON, kind: SegmentMessage.Kind?, bytes: Int, receivedAt: Timestamp) throws(IngestError) -> Request {
        guard bytes <= maxMessageBytes else { throw .tooLarge("body is \(bytes) bytes; a message may be at most 32 KB") }
        let message = Result { () throws(IngestError) in try SegmentMessage.parse(json, kind: kind, sentAt: nil, receivedAt: receivedAt) }
        return Request(writeKey: json["writeKey"]?.stringValue, isBatch: false, messages: [message])
    }

    /// Writes a request's messages in one transaction, in order (an identify before a track of the same
    /// user in one batch is seen by it). A message refused by the identity rules fails alone.
    public func apply(_ request: Request, account: Int64) async throws -> Outcome {
        var refused: [BatchOutcome.Refusal] = []
        var valid: [(index: Int, message: SegmentMessage)] = []
        for (index, message) in request.messages.enumerated() {
            switch message {
            case .success(let m): valid.append((index, m))
            case .failure(let e): refused.append(BatchOutcome.Refusal(index: index, error: e))
            }
        }
        let messages = valid
        let isBatch = request.isBatch
        let prefix: @Sendable (Int) -> String = { isBatch ? "batch[\($0)]." : "" }
        let written = messages.isEmpty ? [] : try await ingestor.store.write(weight: messages.count) { session in
            try Self.write(messages, account: account, session: session).map { BatchOutcome.Refusal(index: $0.index, error: $0.error.at(prefix($0.index))) }
        }
        refused = (refused + written).sorted { $0.index < $1.index }
        return Outcome(accepted: request.messages.count - refused.count, errors: refused)
    }

    /// The messages' steps, runs of plain items applied together (an engine may read what they name at once).
    static func write(_ messages: [(index: Int, message: SegmentMessage)], account: Int64,
                      session: any IngestWrites) throws -> [(index: Int, error: IngestError)] {
        var failed: [(index: Int, error: IngestError)] = []
        var run: [(index: Int, item: Ingestor.Item)] = []
        func flush() throws {
            guard !run.isEmpty else { return }
            let outcomes = try session.apply(run.map(\.item), account: account, onMissing: .create)
            for (outcome, index) in zip(outcomes, run.map(\.index)) {
                if case .failed(let e) = outcome { failed.append((index, e)) }
            }
            run.removeAll(keepingCapacity: true)
        }
        for (index, message) in messages {
            for step in message.steps {
                switch step {
                case .item(let item):
                    run.append((index, item))
                case .anonymousEvent(let event, let anonymousID):
                    try flush()
                    do {
                        _ = try session.insertAnonymousEvent(event, anonymousID: anonymousID, account: account)
                    } catch let e as IngestError {
                        failed.append((index, e))
                    }
                case .merge(let profile, let anonymousID):
                    try flush()
                    do {
                        if let id = try session.upsertProfile(profile, account: account, onMissing: .create).rowID {
                            try session.mergeAnonymousEvents(anonymousID, into: id, account: account, days: TrackAPI.anonymousMergeDays)
                        }
                    } catch let e as IngestError {
                        failed.append((index, e))
                    }
                }
            }
        }
        try flush()
        return failed
    }
}
