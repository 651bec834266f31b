import Foundation
import GRDB
import GRDBSQLite

/// `GET /v1/reports/funnel?steps=A,B[,C]&group_by=<event property>&within=<days>&from&to&limit` (contract §11):
/// per group, the profiles that reached each step in order, with conversion.
///
/// The rules, per profile:
/// - It enters with a first-step event whose time is in [from, to); its group is that event's value of
///   `group_by` (no value: the `null` group). A profile with first-step events of several values is in
///   each of those groups.
/// - From an entry at t0, each next step is the earliest event of that step's name at or after the previous
///   step's time (strictly after when both steps have the same name) and no later than t0 + `within` days
///   (which may run past `to`). With `group_by`, a later step's event must carry the group's value or no
///   value at all: a tour's "Completed" must be the same tour, while a property only the first step carries
///   (a campaign on "Signed Up") still groups.
/// - Its depth in a group is the furthest step reached from any of its entries in that group; the `total`
///   counts each profile once, at its furthest step over all groups.
///
/// Each step reads its name's list (`ReportSteps`, built in the background on first use: until then the
/// report is `building`) and the tail of the log past it, both in profile and time order; the scans are
/// merged per profile in Swift, so the work is proportional to the steps' events, not to the whole log.
public struct FunnelReport: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    public struct Request: Sendable {
        public var steps: [String]
        public var groupBy: PropertyPath?
        public var withinDays: Int
        public var from: Timestamp
        /// Exclusive.
        public var to: Timestamp
        public var limit: Int
    }

    static let day = ReportRange.day

    /// Reads the query parameters: 2–10 comma-separated step names; `within` whole days (default 30, at most
    /// 365); `from`/`to` dates (`to` inclusive) or times, default the last 30 days; `limit` groups (default 50).
    /// The query's parameters as given; `request` reads them.
    public struct Parameters: Sendable {
        public var steps: String?
        public var groupBy: String?
        public var within: String?
        public var from: String?
        public var to: String?
        public var limit: String?

        public init(steps: String?, groupBy: String? = nil, within: String? = nil, from: String? = nil, to: String? = nil, limit: String? = nil) {
            self.steps = steps
            self.groupBy = groupBy
            self.within = within
            self.from = from
            self.to = to
            self.limit = limit
        }
    }

    /// Profiles reaching each step, over all groups (`total`) and per value of `group_by` (largest first,
    /// at most `limit` of them; nil without `group_by`).
    public struct Result: Sendable, Equatable {
        public struct Step: Sendable, Equatable {
            public var name: String
            public var uid: String

            public init(name: String, uid: String) {
                self.name = name
                self.uid = uid
            }
        }

        /// One group: its value (`.null` for events without one) and how many profiles reached each step.
        public struct Group: Sendable, Equatable {
            public var value: JSON
            public var reached: [Int]
            public var entered: Int { reached[0] }
            public var converted: Int { reached[reached.count - 1] }
            public var conversion: Double? { reportRate(converted, entered) }
            /// Of those who entered.
            public func conversion(step s: Int) -> Double? { reportRate(reached[s], reached[0]) }
            /// Of those who reached the step before.
            public func fromPrevious(step s: Int) -> Double? { reportRate(reached[s], reached[s == 0 ? 0 : s - 1]) }
        }

        public var steps: [Step]
        public var groupBy: PropertyPath?
        public var withinDays: Int
        public var from: Timestamp
        public var to: Timestamp
        public var total: Group
        public var groups: [Group]?
        public var groupsNotShown: Int
    }

    /// The report, or how far the lists its steps read have been built.
    public enum Outcome: Sendable {
        case ready(Result)
        case building(progress: Double)
    }

    public func run(account: Int64, _ r: Request) async throws -> Outcome {
        let uids = r.steps.map(NameNormalizer.normalize)
        let path = r.groupBy?.jsonPath
        let names: [(id: Int64?, name: String)] = try await database.read { db in
            try zip(r.steps, uids).map { step, uid in
                let row = try Row.fetchOne(db, sql: "SELECT id, name FROM event_names WHERE account_id = ? AND uid = ?", arguments: [account, uid])
                return (row?[0], row?[1] ?? step)
            }
        }
        let known = names.compactMap { $0.id.map { ReportStep(nameID: $0, path: path ?? "") } }
        var lists: [Int64?] = names.map { _ in nil }
        if !known.isEmpty {
            switch try await ReportSteps.prepare(known, database, now: clock.now()) {
            case .building(let progress): return .building(progress: progress)
            case .ready(let ids):
                var next = ids.makeIterator()
                lists = names.map { $0.id == nil ? nil : next.next() }
            }
        }
        let steps = zip(names, lists).map { Step(nameID: $0.id, list: $1) }
        let counts = try await database.heavyRead { db in
            try Self.count(db, steps: steps, path: path, request: r)
        }
        return .ready(Self.result(counts, steps: zip(names, uids).map { Result.Step(name: $0.name, uid: $1) }, request: r))
    }

    /// The report, its steps' lists built here first when they are not yet (the CLI and benchmarks, where
    /// no server builds them), and lists built before brought up to the log first: with no server adding
    /// new events to them every second, the count would otherwise read every event since as the tail
    /// (16M events past the lists at 10× the reference set: a long sorted read on each run).
    public func runBuildingInPlace(account: Int64, _ r: Request) async throws -> Result {
        try await ReportSteps.catchUp(database, now: clock.now())
        while true {
            if case .ready(let result) = try await run(account: account, r) { return result }
            try await ReportSteps.catchUp(database, now: clock.now())
        }
    }

    /// A step's event name and the list holding its events (nil: a name never seen, so no events).
    struct Step: Sendable {
        var nameID: Int64?
        var list: Int64?
    }

    /// The grouping values met (`GroupInterner`) and the profiles counted per group and step.
    struct Counts {
        var groups = GroupInterner()
        var counter: FunnelCounter
        var values: [JSON?] { groups.values }
    }

    /// A step's list: a row per profile in profile order (its primary key's: no sort), the events packed
    /// in time order (`StepEvents`).
    static let listSQL = "SELECT profile_id, events FROM report_step_profiles WHERE step_id = ? ORDER BY profile_id"

    /// A list's grouping values by number.
    static let valuesSQL = "SELECT id, value FROM report_step_values WHERE step_id = ?"

    /// The log past a list's watermark: a rowid range, sorted (it is short; `NOT INDEXED`: not the whole
    /// of a segment's index of the name).
    static func tailSQL(grouped: Bool) -> String {
        """
        SELECT profile_id, timestamp, \(grouped ? "json_extract(properties, ?3)" : "NULL") FROM events NOT INDEXED
        WHERE id > ?4 AND name_id = ?5 AND timestamp >= ?1 AND timestamp < ?2 ORDER BY profile_id, timestamp
        """
    }

    /// Rows of one statement in profile order whose first column is the profile, read one ahead. It holds the
    /// statement's bare handle (its `RawStatement` is kept by `count`): copied and stepped per row, a
    /// reference would be retained and released each time.
    struct Cursor {
        let handle: OpaquePointer
        var profile: Int64 = .max

        init(_ statement: RawStatement) { handle = statement.handle }

        mutating func next() throws {
            profile = try RawStatement.step(handle) ? sqlite3_column_int64(handle, 0) : .max
        }

        mutating func skip(below target: Int64) throws {
            while profile < target { try next() }
        }
    }

    /// One step's sources: its list (a row per profile) and the log's tail past it (a row per event).
    struct Scan {
        var list: Cursor
        var tail: Cursor
        /// The times a list's events must fall in: [from, until).
        var from: Int64
        var until: Int64
    }

    static func count(_ db: Database, steps: [Step], path: String?, request r: Request) throws -> Counts {
        let k = steps.count
        let window = Int64(r.withinDays) * day
        var counts = Counts(counter: FunnelCounter(request: r, nameIDs: steps.map(\.nameID)))

        var statements: [RawStatement] = []
        defer { for statement in statements { statement.reset() } }
        // Per step, the group of each of its list's value numbers.
        var groupOfValue = Array(repeating: [Int32](), count: k)
        var scans: [Scan?] = try steps.enumerated().map { s, step in
            guard let nameID = step.nameID, let list = step.list else { return nil }
            let until = s == 0 ? r.to.milliseconds : r.to.milliseconds + window
            let through = try Int64.fetchOne(db, sql: "SELECT through_event_id FROM report_steps WHERE id = ?", arguments: [list]) ?? 0
            var values: [Int32] = [0]
            if path != nil {
                let read = try RawStatement(db, sql: valuesSQL, cached: false)
                try read.bind(1, list)
                while try read.step(db) {
                    let n = Int(read.int64(0))
                    guard n > 0 else { continue }
                    if n >= values.count { values += Array(repeating: 0, count: n + 1 - values.count) }
                    values[n] = counts.groups.id(read.scalar(1))
                    counts.counter.meet(group: values[n])
                }
            }
            let listed = try RawStatement(db, sql: listSQL, cached: false)
            let tail = try RawStatement(db, sql: tailSQL(grouped: path != nil), cached: false)
            statements += [listed, tail]
            try listed.bind(1, list)
            try tail.bind(1, r.from.milliseconds)
            try tail.bind(2, until)
            if let path { try tail.bind(3, path) }
            try tail.bind(4, through)
            try tail.bind(5, nameID)
            groupOfValue[s] = values
            var scan = Scan(list: Cursor(listed), tail: Cursor(tail), from: r.from.milliseconds, until: until)
            try scan.list.next()
            try scan.tail.next()
            return scan
        }

        // One profile's events, step after step, reused across profiles.
        var profile = FunnelCounter.Profile(steps: k)
        // Profiles in order, as the first step's list and tail name them; per step its list's row (read
        // past), then the tail's rows put in place.
        while let first = scans[0] {
            let id = min(first.list.profile, first.tail.profile)
            guard id != .max else { break }
            profile.reset()
            for s in 0..<k {
                profile.begin(step: s)
                guard var scan = scans[s] else { continue }
                try scan.list.skip(below: id)
                if scan.list.profile == id {
                    let groupOf = groupOfValue[s]
                    var events = StepEvents.Reader(RawStatement.blob(scan.list.handle, 1))
                    while let e = events.next(), e.timestamp < scan.until {
                        guard e.timestamp >= scan.from else { continue }
                        profile.append(time: e.timestamp, group: e.value > 0 && e.value < groupOf.count ? groupOf[Int(e.value)] : 0)
                    }
                    try scan.list.next()
                }
                try scan.tail.skip(below: id)
                while scan.tail.profile == id {
                    var group: Int32 = 0
                    if path != nil {
                        // Read before the tail steps on: the value's bytes live until then.
                        group = counts.groups.id(RawStatement.scalar(scan.tail.handle, 2))
                        counts.counter.meet(group: group)
                    }
                    profile.insert(time: sqlite3_column_int64(scan.tail.handle, 1), group: group)
                    try scan.tail.next()
                }
                scans[s] = scan
            }
            if !profile.isEmpty { counts.counter.add(profile) }
        }
        return counts
    }

    /// The first index of `range` whose value is at least `target` (the values there in order).
    static func lowerBound(_ values: UnsafeBufferPointer<Int64>, _ range: Range<Int>, _ target: Int64) -> Int {
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Numbers the grouping values as the scans meet them (0: no value), comparing the column's bytes in
    /// place so a value already seen costs no allocation; text "5" and number 5 are different values. A small
    /// open-addressing table on the value's hash (collisions probe on, compared by value).
    struct GroupInterner {
        private(set) var values: [JSON?] = [nil]
        /// Per group id: its hash, kind (1 integer, 2 real, 3 text), and bit pattern or span of `texts`.
        private var keys: [Key] = [Key(hash: 0, kind: 0, bits: 0, span: 0..<0)]
        private var texts: [UInt8] = []
        /// Slot → group id + 1 (0: empty); a power of two in size, at most half full.
        private var table = [Int32](repeating: 0, count: 64)

        struct Key {
            var hash: UInt64
            var kind: UInt8
            var bits: UInt64
            var span: Range<Int>
        }

        mutating func id(_ value: RawStatement.Scalar) -> Int32 {
            let key: Key
            switch value {
            case .null: return 0
            case .int(let n): key = Key(hash: Self.mix(UInt64(bitPattern: n), tag: 1), kind: 1, bits: UInt64(bitPattern: n), span: 0..<0)
            case .double(let d): key = Key(hash: Self.mix(d.bitPattern, tag: 2), kind: 2, bits: d.bitPattern, span: 0..<0)
            case .text(let bytes):
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for b in bytes { h = (h ^ UInt64(b)) &* 0x0100_0000_01b3 }
                key = Key(hash: Self.mix(h, tag: 3), kind: 3, bits: 0, span: 0..<0)
            }
            let mask = table.count - 1
            var slot = Int(truncatingIfNeeded: key.hash >> 7) & mask
            while table[slot] != 0 {
                let id = Int(table[slot] - 1)
                if keys[id].hash == key.hash, same(keys[id], value) { return Int32(id) }
                slot = (slot + 1) & mask
            }
            return add(key, value, slot: slot)
        }

        private func same(_ key: Key, _ value: RawStatement.Scalar) -> Bool {
            switch value {
            case .null: return false
            case .int(let n): return key.kind == 1 && key.bits == UInt64(bitPattern: n)
            case .double(let d): return key.kind == 2 && key.bits == d.bitPattern
            case .text(let bytes):
                return key.kind == 3 && key.span.count == bytes.count
                    && texts.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[key.span]).elementsEqual(bytes) }
            }
        }

        private mutating func add(_ key: Key, _ value: RawStatement.Scalar, slot: Int) -> Int32 {
            var key = key
            if case .text(let bytes) = value {
                key.span = texts.count..<(texts.count + bytes.count)
                texts.append(contentsOf: bytes)
            }
            let id = Int32(keys.count)
            keys.append(key)
            values.append(Self.json(value))
            table[slot] = id + 1
            if keys.count * 2 > table.count { grow() }
            return id
        }

        private mutating func grow() {
            table = [Int32](repeating: 0, count: table.count * 2)
            let mask = table.count - 1
            for id in 1..<keys.count {
                var slot = Int(truncatingIfNeeded: keys[id].hash >> 7) & mask
                while table[slot] != 0 { slot = (slot + 1) & mask }
                table[slot] = Int32(id + 1)
            }
        }

        static func mix(_ x: UInt64, tag: UInt64) -> UInt64 { (x ^ (tag << 60)) &* 0x9E37_79B9_7F4A_7C15 }

        static func json(_ value: RawStatement.Scalar) -> JSON {
            switch value {
            case .null: return .null
            case .int(let n): return .int(n)
            case .double(let d): return .double(d)
            case .text(let bytes): return .string(String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    static func result(_ counts: Counts, steps: [Result.Step], request r: Request) -> Result {
        result(counts.counter, values: counts.values, steps: steps, request: r)
    }

    /// The report from the counts, the grouping values by group id (0: none), and the steps as named.
    public static func result(_ counter: FunnelCounter, values: [JSON?], steps: [Result.Step], request r: Request) -> Result {
        let reached = counter.reached
        let order = reached.indices
            .filter { reached[$0][0] > 0 }
            .sorted { a, b in
                let (x, y) = (reached[a][0], reached[b][0])
                return x != y ? x > y : JSONWriter.string(values[a] ?? .null) < JSONWriter.string(values[b] ?? .null)
            }
        let shown = order.prefix(r.limit)
        return Result(
            steps: steps, groupBy: r.groupBy, withinDays: r.withinDays, from: r.from, to: r.to,
            total: Result.Group(value: .null, reached: counter.total),
            groups: r.groupBy == nil ? nil : shown.map { Result.Group(value: values[$0] ?? .null, reached: reached[$0]) },
            groupsNotShown: r.groupBy == nil ? 0 : order.count - shown.count)
    }
}

/// The funnel's rules (see `FunnelReport`) applied to one profile at a time, whatever engine read its
/// events: per step, the profile's event times in order and each one's group (0: no value).
public struct FunnelCounter: Sendable {
    let k: Int
    let window: Int64
    let grouped: Bool
    /// Whether a step repeats the name of the one before (its event must then be strictly later).
    let sameAsPrevious: [Bool]
    /// `reached[g][s]`: how many profiles reached step s in group g; `total`, over all groups.
    public var reached: [[Int]] { stride(from: 0, to: counts.count, by: k).map { Array(counts[$0..<($0 + k)]) } }
    public private(set) var total: [Int]
    /// `reached` in one array, group after group (one array per group costs two uniqueness checks a count).
    private var counts: [Int]
    private var depthByGroup: [(group: Int32, depth: Int)] = []  // a profile has few groups: a list beats hashing
    /// The profile being counted: each step's events (a range of its arrays).
    private var ranges: [Range<Int>]

    public init(request r: FunnelReport.Request, nameIDs: [Int64?]) {
        k = nameIDs.count
        window = Int64(r.withinDays) * ReportRange.day
        grouped = r.groupBy != nil
        sameAsPrevious = (0..<nameIDs.count).map { $0 > 0 && nameIDs[$0] == nameIDs[$0 - 1] }
        counts = Array(repeating: 0, count: nameIDs.count)
        total = Array(repeating: 0, count: nameIDs.count)
        ranges = Array(repeating: 0..<0, count: nameIDs.count)
    }

    /// One profile's events, step after step and in time order within a step, in two flat arrays (reused
    /// from profile to profile: arrays of arrays cost a reference count and a uniqueness check per event).
    public struct Profile: Sendable {
        private(set) var times: [Int64] = []
        private(set) var groups: [Int32] = []
        /// Where each step's events end; steps past `step` end where the events do.
        private var ends: [Int]
        private var step = 0

        public init(steps: Int) { ends = Array(repeating: 0, count: steps) }

        public mutating func reset() {
            times.removeAll(keepingCapacity: true)
            groups.removeAll(keepingCapacity: true)
            step = 0  // `range` reads `ends` only below `step`: what is left there goes unread
        }

        /// Step `s`'s events follow (steps come in order).
        public mutating func begin(step s: Int) {
            while step < s {
                ends[step] = times.count
                step += 1
            }
        }

        /// An event of the current step, at or after its others.
        public mutating func append(time: Int64, group: Int32) {
            times.append(time)
            groups.append(group)
        }

        /// An event of the current step, put in its place among the others (it is usually the latest).
        mutating func insert(time: Int64, group: Int32) {
            let first = step == 0 ? 0 : ends[step - 1]
            var at = times.count
            while at > first, times[at - 1] > time { at -= 1 }
            times.insert(time, at: at)
            groups.insert(group, at: at)
        }

        /// The events of step `s`: a range of the arrays.
        func range(_ s: Int) -> Range<Int> {
            let end = s < step ? ends[s] : times.count
            let start = s == 0 ? 0 : (s - 1 < step ? ends[s - 1] : times.count)
            return start..<end
        }

        var isEmpty: Bool { range(0).isEmpty }
    }

    /// A group id met for the first time is the next one.
    public mutating func meet(group id: Int32) {
        if Int(id) == counts.count / k { counts += repeatElement(0, count: k) }
    }

    /// Counts one profile: its furthest step per group over every entry, and over all groups.
    public mutating func add(_ profile: Profile) {
        for s in 0..<k { ranges[s] = profile.range(s) }
        profile.times.withUnsafeBufferPointer { times in
            profile.groups.withUnsafeBufferPointer { groups in add(times, groups) }
        }
    }

    private mutating func add(_ times: UnsafeBufferPointer<Int64>, _ groups: UnsafeBufferPointer<Int32>) {
        depthByGroup.removeAll(keepingCapacity: true)
        for entry in ranges[0] {
            let (t0, g) = (times[entry], groups[entry])
            var slot = 0
            while slot < depthByGroup.count, depthByGroup[slot].group != g { slot += 1 }
            if slot == depthByGroup.count { depthByGroup.append((g, 0)) }
            if depthByGroup[slot].depth == k { continue }
            let deadline = t0 + window
            var depth = 1
            var t = t0
            for s in 1..<k {
                // First event at or after t (after t for a repeated name), then the first in the group.
                let end = ranges[s].upperBound
                var i = FunnelReport.lowerBound(times, ranges[s], sameAsPrevious[s] ? t + 1 : t)
                while i < end, times[i] <= deadline, grouped, groups[i] != g, groups[i] != 0 { i += 1 }
                guard i < end, times[i] <= deadline else { break }
                depth += 1
                t = times[i]
            }
            depthByGroup[slot].depth = max(depthByGroup[slot].depth, depth)
        }
        var best = 0
        for (g, depth) in depthByGroup {
            for s in 0..<depth { counts[Int(g) * k + s] += 1 }
            best = max(best, depth)
        }
        for s in 0..<best { total[s] += 1 }
    }
}
