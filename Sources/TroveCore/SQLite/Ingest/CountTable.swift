/// Events per (name, hour) as the writer sums them, one `add` per stored event: an open-addressing table
/// with a multiplicative hash. A `Dictionary` keyed by `EventCounts.Key` spends most of each insert in
/// SipHash's setup and finalization; on `trove bench http-batch` that was ~2% of the writer's time.
struct CountTable: Sendable {
    private var names: [Int64]
    private var hours: [Int64]
    /// 0 marks an empty slot (a stored count is at least 1).
    private var counts: [Int64]
    /// Distinct keys held.
    private(set) var count = 0

    init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        names = Array(repeating: 0, count: size)
        hours = Array(repeating: 0, count: size)
        counts = Array(repeating: 0, count: size)
    }

    var isEmpty: Bool { count == 0 }

    mutating func add(name: Int64, hour: Int64, _ n: Int64 = 1) {
        let mask = counts.count - 1
        var slot = Self.slot(name: name, hour: hour, mask: mask)
        while counts[slot] != 0 {
            if names[slot] == name && hours[slot] == hour {
                counts[slot] += n
                return
            }
            slot = (slot + 1) & mask
        }
        names[slot] = name
        hours[slot] = hour
        counts[slot] = n
        count += 1
        if count * 2 > counts.count { grow() }
    }

    mutating func merge(_ other: CountTable) {
        other.forEach { key, n in add(name: key.name, hour: key.hour, n) }
    }

    func forEach(_ body: (EventCounts.Key, Int64) throws -> Void) rethrows {
        for slot in counts.indices where counts[slot] != 0 {
            try body(EventCounts.Key(name: names[slot], hour: hours[slot]), counts[slot])
        }
    }

    /// The counts in key order, as `EventCounts.add` writes them.
    func sorted() -> [(EventCounts.Key, Int64)] {
        var rows: [(EventCounts.Key, Int64)] = []
        rows.reserveCapacity(count)
        forEach { rows.append(($0, $1)) }
        return rows.sorted { $0.0 < $1.0 }
    }

    private static func slot(name: Int64, hour: Int64, mask: Int) -> Int {
        let mixed = (UInt64(bitPattern: name) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(bitPattern: hour) &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: (mixed ^ (mixed >> 29)) & UInt64(mask))
    }

    private mutating func grow() {
        var bigger = CountTable(capacity: counts.count)
        forEach { key, n in bigger.add(name: key.name, hour: key.hour, n) }
        self = bigger
    }
}
