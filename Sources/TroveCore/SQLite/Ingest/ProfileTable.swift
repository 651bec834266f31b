/// A value per profile id, as the writer keeps them across an import (person-chain heads, each profile's
/// latest activity): an open-addressing table with a multiplicative hash, each value beside its key. With
/// a million profiles and more a lookup is mostly a cache miss: one here, where a `Dictionary<Int64, _>`
/// had two (its keys and values apart) after SipHash's setup and finalization.
struct ProfileTable<Value: Sendable>: Sendable {
    private struct Slot: Sendable {
        /// `empty` in a free slot (no profile has that id), whose value is `filler`.
        var key: Int64
        var value: Value
    }

    private var slots: [Slot]
    private let filler: Value
    private(set) var count = 0
    private static var empty: Int64 { .min }

    init(filler: Value, capacity: Int = 16) {
        var size = 16
        while size * 3 < capacity * 4 { size *= 2 }
        slots = HugePages.array(repeating: Slot(key: Self.empty, value: filler), count: size)
        self.filler = filler
    }

    subscript(profile: Int64) -> Value? {
        get {
            let (slot, found) = probe(profile)
            return found ? slots[slot].value : nil
        }
        set {
            guard let newValue else { preconditionFailure("a ProfileTable drops entries only by filtering") }
            slots[insertionSlot(profile).slot].value = newValue
        }
    }

    /// Changes the profile's value in place, starting from `initial` when it has none (taken only then; if
    /// it throws, the table is as it was), with one probe of the table; returns what `change` returns.
    mutating func update<R>(_ profile: Int64, initial: @autoclosure () throws -> Value, _ change: (inout Value) throws -> R) rethrows -> R {
        precondition(profile != Self.empty, "no profile has id Int64.min")
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let (slot, found) = probe(profile)
        if !found {
            slots[slot] = Slot(key: profile, value: try initial())
            count += 1
        }
        return try change(&slots[slot].value)
    }

    /// Adds `other`'s entries, `combine`d with the value held already where there is one.
    mutating func merge(_ other: ProfileTable, _ combine: (Value, Value) -> Value) {
        other.forEach { profile, value in
            let (slot, isNew) = insertionSlot(profile)
            slots[slot].value = isNew ? value : combine(slots[slot].value, value)
        }
    }

    /// Drops every entry.
    mutating func removeAll() { self = ProfileTable(filler: filler) }

    /// The entries that `keep`.
    func filter(_ keep: (Int64, Value) -> Bool) -> ProfileTable {
        var kept = ProfileTable(filler: filler, capacity: count / 2)
        forEach { profile, value in if keep(profile, value) { kept[profile] = value } }
        return kept
    }

    func forEach(_ body: (Int64, Value) throws -> Void) rethrows {
        for slot in slots where slot.key != Self.empty {
            try body(slot.key, slot.value)
        }
    }

    /// The slot holding `profile`, taken for it when it had none (the table grown first if need be).
    private mutating func insertionSlot(_ profile: Int64) -> (slot: Int, isNew: Bool) {
        precondition(profile != Self.empty, "no profile has id Int64.min")
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let (slot, found) = probe(profile)
        if found { return (slot, false) }
        slots[slot].key = profile
        count += 1
        return (slot, true)
    }

    /// The slot holding `profile`, or the free slot where it would go.
    private func probe(_ profile: Int64) -> (slot: Int, found: Bool) {
        let mask = slots.count - 1
        var slot = Self.slot(profile, mask: mask)
        while slots[slot].key != Self.empty {
            if slots[slot].key == profile { return (slot, true) }
            slot = (slot + 1) & mask
        }
        return (slot, false)
    }

    private static func slot(_ profile: Int64, mask: Int) -> Int {
        let mixed = UInt64(bitPattern: profile) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: (mixed ^ (mixed >> 29)) & UInt64(mask))
    }

    private mutating func grow() {
        var bigger = ProfileTable(filler: filler, capacity: slots.count * 2)
        forEach { profile, value in bigger[profile] = value }
        self = bigger
    }
}
