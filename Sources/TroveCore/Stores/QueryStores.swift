import Foundation

/// The questions answered by set-based queries over the profiles and the event log, as the seam an engine
/// implements: audiences and previews (contract §5, §6), explanations, manual membership, and the batch
/// reports (contract §11). What a request means (its parameters read and checked) is decided above, in the
/// protocol extensions here, once for every engine. SQLite: `SegmentQueries`, `SegmentExplain`,
/// `ManualMembership`, `EventReport`, `FunnelReport`, `SegmentHistory`, `MessageReport`.

/// Who a filter or a segment selects, evaluated now.
public protocol AudienceStore: Sendable {
    /// How many a filter selects, a sample, and for the segment being edited how many would enter and leave.
    func preview(account: Int64, filter: FilterNode, editing: Int64?) async throws -> SegmentQueries.Preview
    func profiles(account: Int64, audience: SegmentQueries.Audience, limit: Int, before: Int64?) async throws -> Page<ProfileRecord>
    func companies(account: Int64, audience: SegmentQueries.Audience, limit: Int, before: Int64?) async throws -> Page<CompanyRecord>
    func count(account: Int64, audience: SegmentQueries.Audience, companies: Bool) async throws -> Int64
    /// A segment's filter evaluated in full as of now, nothing stored (`trove segments eval`, the
    /// benchmarks): how many it selects.
    func evaluate(account: Int64, segment id: Int64) async throws -> Int64
}

/// Why a profile is or is not in a segment, condition by condition.
public protocol ExplainStore: Sendable {
    func explain(account: Int64, segment id: Int64, profile lookup: ObjectLookup) async throws -> SegmentExplain.Explanation
}

/// Members of manual segments, added and removed by hand or replaced by an import.
public protocol ManualMembershipStore: Sendable {
    /// Adds (or removes) the customers, each with its ledger row and the outboxes told; unknown ones are
    /// ignored. Returns how many changed.
    func change(account: Int64, segment id: Int64, customers: [CustomerID], add: Bool) async throws -> Int
    /// Makes the members exactly `profiles`: adds the missing, removes the rest.
    func replace(account: Int64, segment id: Int64, profiles: Set<Int64>) async throws -> (added: Int, removed: Int)
    /// The segment, which must be manual (`SegmentError.invalid` for a dynamic one).
    func manualSegment(account: Int64, id: Int64) async throws -> Segment
    /// The profile each person names, by uid first, then email; nil for none.
    func profileIDs(account: Int64, _ people: [(uid: String?, email: String?)]) async throws -> [Int64?]
}

extension ManualMembershipStore {
    /// At most this many ids per request.
    public static var maxIDs: Int { 1000 }

    /// `add_customers` / `remove_customers`: the ids read as `idType` (contract §7).
    @discardableResult
    public func change(account: Int64, segment id: Int64, ids: [String], idType: String?, add: Bool) async throws -> Int {
        guard ids.count <= Self.maxIDs else { throw SegmentError.invalid("ids: at most \(Self.maxIDs) per request, got \(ids.count)") }
        return try await change(account: account, segment: id, customers: try ids.map { try CustomerID($0, idType: idType) }, add: add)
    }
}

/// Events per name and bucket.
public protocol EventReportStore: Sendable {
    var clock: TroveClock { get }
    func run(account: Int64, _ r: EventReport.Request) async throws -> EventReport.Result
}

/// Conversion through ordered steps.
public protocol FunnelReportStore: Sendable {
    var clock: TroveClock { get }
    /// The report, or how far the lists its steps read have been built.
    func run(account: Int64, _ r: FunnelReport.Request) async throws -> FunnelReport.Outcome
    /// The report, whatever lists it needs built here first (the CLI and benchmarks, where no server builds them).
    func runBuildingInPlace(account: Int64, _ r: FunnelReport.Request) async throws -> FunnelReport.Result
}

/// A segment's size and movement per day.
public protocol SegmentHistoryStore: Sendable {
    func run(account: Int64, segment id: Int64, from: String?, to: String?) async throws -> SegmentHistory.Result
}

/// Customer.io delivery metrics of one message.
public protocol MessageReportStore: Sendable {
    func run(account: Int64, _ p: MessageReport.Parameters) async throws -> MessageReport.Result
}

extension EventReportStore {

    /// Reads the query parameters: `from`/`to` as dates (`to` inclusive) or times (ISO 8601 or unix
    /// seconds), rounded down to the start of their bucket; default the last 30 days (48 hours by hour).
    public func request(_ query: EventReport.Parameters) throws(ReadError) -> EventReport.Request {
        let interval: EventReport.Interval
        switch query.interval {
        case nil, "": interval = .day
        case let text?:
            guard let i = EventReport.Interval(rawValue: text) else { throw .invalid("interval: must be day or hour") }
            interval = i
        }
        var zone = ReportRange.utc
        if let name = query.tz, !name.isEmpty {
            guard let z = TimeZone(identifier: name) else { throw .invalid("tz: \"\(name)\" is not an IANA time zone") }
            zone = z
        }
        let now = clock.now()
        let to: Timestamp
        if let text = query.to, !text.isEmpty {
            guard let t = EventReport.time(text, zone: zone, endOfDay: true) else { throw .invalid("to: expected a date (YYYY-MM-DD) or a time (ISO 8601 or unix seconds)") }
            to = t
        } else {
            to = EventReport.bucketStart(now, interval: interval, zone: zone).adding(milliseconds: interval == .day ? 86_400_000 : 3_600_000)
        }
        let from: Timestamp
        if let text = query.from, !text.isEmpty {
            guard let t = EventReport.time(text, zone: zone, endOfDay: false) else { throw .invalid("from: expected a date (YYYY-MM-DD) or a time (ISO 8601 or unix seconds)") }
            from = t
        } else {
            from = to.adding(milliseconds: interval == .day ? -30 * 86_400_000 : -48 * 3_600_000)
        }
        guard from.milliseconds < to.milliseconds else { throw .invalid("from: must be before to") }
        var names: [String]?
        if let text = query.names, !text.isEmpty {
            names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return EventReport.Request(from: EventReport.bucketStart(from, interval: interval, zone: zone), to: to, names: names, interval: interval, zone: zone)
    }
}

extension FunnelReportStore {

    public func request(_ query: FunnelReport.Parameters) throws(ReadError) -> FunnelReport.Request {
        guard let text = query.steps, !text.isEmpty else { throw .invalid("steps: required, e.g. steps=Started Tour,Completed Tour") }
        let steps = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if let empty = steps.firstIndex(where: { $0.isEmpty }) { throw .invalid("steps[\(empty)]: an empty name") }
        guard (2...10).contains(steps.count) else { throw .invalid("steps: between 2 and 10 event names, got \(steps.count)") }
        var groupBy: PropertyPath?
        if let prop = query.groupBy, !prop.isEmpty {
            do {
                groupBy = try FilterValues.propertyPath(prop, path: "group_by", owner: .event, allowCompany: false).1
            } catch {
                throw .invalid(error.description)
            }
        }
        var within = 30
        if let text = query.within, !text.isEmpty {
            guard let days = Int(text), (1...365).contains(days) else { throw .invalid("within: a whole number of days from 1 to 365") }
            within = days
        }
        var limit = 50
        if let text = query.limit, !text.isEmpty {
            guard let n = Int(text), (1...1000).contains(n) else { throw .invalid("limit: a number of groups from 1 to 1000") }
            limit = n
        }
        let (from, to) = try ReportRange.utc(from: query.from, to: query.to, now: clock.now())
        return FunnelReport.Request(steps: steps, groupBy: groupBy, withinDays: within, from: Timestamp(milliseconds: from), to: Timestamp(milliseconds: to), limit: limit)
    }
}

extension SegmentQueries: AudienceStore {}
extension SegmentExplain: ExplainStore {}
extension ManualMembership: ManualMembershipStore {}
extension EventReport: EventReportStore {}
extension FunnelReport: FunnelReportStore {}
extension SegmentHistory: SegmentHistoryStore {}
extension MessageReport: MessageReportStore {}
