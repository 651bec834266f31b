import Foundation
import GRDB
@testable import TroveCore

/// An independent evaluation of filter trees, in Swift over rows loaded into memory, written from contract §6
/// (not from the SQL compiler): what materialized membership and ad-hoc counts must agree with.
struct ReferenceEvaluator {
    struct Profile {
        var id: Int64
        var uid: String?
        var email: String?
        var companyID: Int64?
        var disabled: Bool
        var properties: JSON
    }

    struct Event {
        var profileID: Int64
        var name: String
        var timestamp: Int64
        var properties: JSON
    }

    var profiles: [Profile] = []
    var companies: [Int64: JSON] = [:]
    var events: [Event] = []
    var manualMembers: [Int64: Set<Int64>] = [:]
    var segments: [Int64: FilterNode] = [:]
    let now: Timestamp

    init(_ db: Database, account: Int64, now: Timestamp) throws {
        self.now = now
        func parse(_ text: String?) -> JSON { text.flatMap { try? JSONParser.parse(Array($0.utf8)) } ?? .object([]) }
        profiles = try Row.fetchAll(db, sql: "SELECT id, uid, email, company_id, disabled, properties FROM profiles WHERE account_id = ?", arguments: [account]).map {
            Profile(id: $0[0], uid: $0[1], email: $0[2], companyID: $0[3], disabled: $0[4], properties: parse($0[5]))
        }
        for row in try Row.fetchAll(db, sql: "SELECT id, properties FROM companies WHERE account_id = ?", arguments: [account]) {
            companies[row[0]] = parse(row[1])
        }
        events = try Row.fetchAll(
            db, sql: "SELECT e.profile_id, n.uid, e.timestamp, e.properties FROM events e JOIN event_names n ON n.id = e.name_id WHERE e.account_id = ?",
            arguments: [account]
        ).map { Event(profileID: $0[0], name: $0[1], timestamp: $0[2], properties: parse($0[3])) }
        for segment in try Segment.fetchAll(db, account: account) {
            if segment.kind == .manual {
                manualMembers[segment.id] = Set(try Int64.fetchAll(db, sql: "SELECT profile_id FROM segment_members WHERE segment_id = ?", arguments: [segment.id]))
            } else if let filter = try segment.filter() {
                segments[segment.id] = filter
            }
        }
    }

    /// The members of a filter, disabled profiles excluded.
    func members(_ filter: FilterNode) -> Set<Int64> {
        Set(profiles.filter { !$0.disabled && matches(filter, $0) }.map(\.id))
    }

    func matches(_ node: FilterNode, _ p: Profile) -> Bool {
        switch node {
        case .all(let nodes): return nodes.allSatisfy { matches($0, p) }
        case .any(let nodes): return nodes.contains { matches($0, p) }
        case .not(let inner): return !matches(inner, p)
        case .condition(let c):
            switch c.kind {
            case .property(let test):
                var target: JSON? = test.owner == .company ? p.companyID.flatMap { companies[$0] } : p.properties
                if test.owner == .profile, case .object(let members)? = target {
                    target = .object(members + [JSONMember("uid", .string(p.uid)), JSONMember("email", .string(p.email))])
                }
                return test.op.negated.map { !holds(test, positive: $0, target) } ?? holds(test, positive: test.op, target)
            case .segment(let id, let member):
                let isIn = manualMembers[id].map { $0.contains(p.id) } ?? segments[id].map { matches($0, p) } ?? false
                return isIn == member
            case .event(let test):
                var count: Int64 = 0
                for e in events where e.profileID == p.id && e.name == test.name {
                    switch test.window {
                    case .ever: break
                    case .newerThan(let d): if e.timestamp <= now.milliseconds - Int64(d * 86_400_000) { continue }
                    case .olderThan(let d): if e.timestamp >= now.milliseconds - Int64(d * 86_400_000) { continue }
                    }
                    if test.filters.allSatisfy({ f in f.op.negated.map { !holds(f, positive: $0, e.properties) } ?? holds(f, positive: f.op, e.properties) }) {
                        count += 1
                    }
                }
                switch test.countOp {
                case .eq: return count == test.count
                case .ne: return count != test.count
                case .gt: return count > test.count
                case .lt: return count < test.count
                case .gte: return count >= test.count
                default: return count <= test.count
                }
            }
        }
    }

    enum Value: Equatable { case number(Double), bool(Bool), time(String), text(String) }

    func classify(_ json: JSON) -> Value? {
        switch json {
        case .int(let i): return .number(Double(i))
        case .double(let d): return .number(d)
        case .bool(let b): return .bool(b)
        case .string(let s): return ValueNormalizer.isTimestampText(s) ? .time(s) : .text(s)
        default: return nil
        }
    }

    func filterValue(_ json: JSON, key: String) -> Value? {
        var w: [IngestWarning] = []
        return classify(ValueNormalizer(now: now).coerce(json, key: key, path: key, hashLevel: 0, warnings: &w) ?? json)
    }

    static func bytes(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        if x == y { return 0 }
        return x.lexicographicallyPrecedes(y) ? -1 : 1
    }

    func equal(_ stored: Value, _ wanted: Value) -> Bool {
        switch (stored, wanted) {
        case (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.time(let a), .time(let b)), (.text(let a), .text(let b)): return a == b
        default: return false
        }
    }

    func holds(_ test: PropertyTest, positive op: FilterOperator, _ target: JSON?) -> Bool {
        var value = target
        for key in test.keys { value = value?[key] }
        guard let stored = value, stored != .null else { return false }
        let key = test.keys.last ?? ""
        switch op {
        case .ex: return true
        case .eq where test.asStrings:
            let want: String = { if case .string(let s) = test.value { return s }; return JSONWriter.string(test.value) }()
            switch stored {
            case .string(let s): return s == want
            case .int, .double, .bool: return JSONWriter.string(stored) == want
            default: return false
            }
        case .eq:
            guard let s = classify(stored), let w = filterValue(test.value, key: key) else { return false }
            return equal(s, w)
        case .gt, .gte, .lt, .lte:
            guard let s = classify(stored), let w = filterValue(test.value, key: key) else { return false }
            let order: Int
            switch (s, w) {
            case (.number(let a), .number(let b)): order = a == b ? 0 : (a < b ? -1 : 1)
            case (.time(let a), .time(let b)), (.text(let a), .text(let b)): order = Self.bytes(a, b)
            default: return false
            }
            switch op {
            case .gt: return order > 0
            case .gte: return order >= 0
            case .lt: return order < 0
            default: return order <= 0
            }
        case .newerThanDays, .olderThanDays:
            guard case .time(let s)? = classify(stored), let t = Timestamp.parseISO8601(s), let d = test.value.numberValue else { return false }
            let bound = now.milliseconds - Int64(d * 86_400_000)
            return op == .newerThanDays ? t.milliseconds > bound : t.milliseconds < bound
        case .contains:
            guard case .string(let s) = stored else { return false }
            return s.contains(test.value.stringValue ?? "")
        case .containsCI:
            guard case .string(let s) = stored else { return false }
            return s.lowercased().contains((test.value.stringValue ?? "").lowercased())
        case .inList:
            guard let s = classify(stored) else { return false }
            let list: [JSON] = test.value.arrayValue
                ?? (test.value.stringValue ?? "").split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }
            return list.contains { filterValue($0, key: key).map { equal(s, $0) } ?? false }
        case .arrayContains:
            guard case .array(let elements) = stored, let w = filterValue(test.value, key: key) else { return false }
            return elements.contains { classify($0).map { equal($0, w) } ?? false }
        default:
            return false
        }
    }
}
