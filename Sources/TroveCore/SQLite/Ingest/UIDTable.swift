/// uid → profile id per account, as the writer keeps them across transactions (`WriteCaches.profiles`): an
/// open-addressing table whose slots hold the hash, the key and the id together, on huge pages (`HugePages`),
/// hashed by a seeded multiply–xorshift over the uid's bytes (`AccountKey`'s byte equality).
///
/// At ten million profiles a lookup is a cache miss whatever the table, and on this VM the TLB's page walk
/// is most of it: 20M random lookups among 10M uids took 7.0–7.5 s in a `Dictionary<AccountKey, Int64>`
/// (~350 ns each), 7.2–8.2 s in this table on small pages, 6.4–6.5 s on huge ones (a standalone
/// benchmark, issue 22). With the heads table on huge pages too, importing 20M events onto 10M profiles took
/// 94–112 s against 111–117 s (three alternated pairs), 142–166 CPU-seconds against 166–173.
///
/// The seed is drawn once per process, so which uids share a slot cannot be known from outside (a client
/// cannot choose uids that pile onto one probe sequence). Entries leave only by `filter`.
struct UIDTable: Sendable {
    private struct Slot: Sendable {
        /// 0 in a free slot; a stored hash has its top bit set.
        var hash: UInt64
        var account: Int64
        var uid: String
        var id: Int64
    }

    private var slots: [Slot]
    private(set) var count = 0

    init(capacity: Int = 16) {
        var size = 16
        while size * 3 < capacity * 4 { size *= 2 }
        slots = HugePages.array(repeating: Slot(hash: 0, account: 0, uid: "", id: 0), count: size)
    }

    var isEmpty: Bool { count == 0 }

    subscript(key: AccountKey) -> Int64? {
        get {
            let (slot, found) = probe(key, hash: Self.hash(key))
            return found ? slots[slot].id : nil
        }
        set {
            guard let newValue else { preconditionFailure("a UIDTable drops entries only by filtering") }
            insert(key, hash: Self.hash(key), id: newValue, replacing: true)
        }
    }

    /// Adds `other`'s entries, replacing the id held where a uid has one.
    mutating func merge(_ other: [AccountKey: Int64]) {
        for (key, id) in other { insert(key, hash: Self.hash(key), id: id, replacing: true) }
    }

    /// Adds `other`'s entries, keeping the id held already where a uid has one.
    mutating func merge(keepingCurrent other: UIDTable) {
        other.forEach { slot in insert(AccountKey(account: slot.account, key: slot.uid), hash: slot.hash, id: slot.id, replacing: false) }
    }

    /// The entries that `keep`.
    func filter(_ keep: (AccountKey, Int64) -> Bool) -> UIDTable {
        var kept = UIDTable(capacity: count / 2)
        forEach { slot in
            let key = AccountKey(account: slot.account, key: slot.uid)
            if keep(key, slot.id) { kept.insert(key, hash: slot.hash, id: slot.id, replacing: true) }
        }
        return kept
    }

    /// About half the entries, the same half for as long as the process runs (a bit of the hash).
    func half() -> UIDTable { filter { key, _ in Self.hash(key) & (1 << 62) == 0 } }

    private func forEach(_ body: (Slot) -> Void) {
        for slot in slots where slot.hash != 0 { body(slot) }
    }

    private mutating func insert(_ key: AccountKey, hash: UInt64, id: Int64, replacing: Bool) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let (slot, found) = probe(key, hash: hash)
        if found {
            if replacing { slots[slot].id = id }
            return
        }
        slots[slot] = Slot(hash: hash, account: key.account, uid: key.key, id: id)
        count += 1
    }

    /// The slot holding `key`, or the free slot where it would go.
    private func probe(_ key: AccountKey, hash: UInt64) -> (slot: Int, found: Bool) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot].hash != 0 {
            if slots[slot].hash == hash, slots[slot].account == key.account, AccountKey.sameBytes(slots[slot].uid, key.key) { return (slot, true) }
            slot = (slot + 1) & mask
        }
        return (slot, false)
    }

    private mutating func grow() {
        var bigger = UIDTable(capacity: slots.count * 2)
        forEach { slot in bigger.insert(AccountKey(account: slot.account, key: slot.uid), hash: slot.hash, id: slot.id, replacing: true) }
        self = bigger
    }

    // MARK: Hashing

    private static let seed = UInt64.random(in: .min ... .max)

    /// The account, then the uid's UTF-8 eight bytes at a time (the last word carries the length), each word
    /// folded in by SplitMix64's finalizer, a bijection: two uids of one length differing in one word never
    /// meet before the seed has been mixed through.
    static func hash(_ key: AccountKey) -> UInt64 {
        var h = mix(seed ^ UInt64(bitPattern: key.account))
        var uid = key.key
        uid.withUTF8 { bytes in
            let count = bytes.count
            var i = 0
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                while i + 8 <= count {
                    h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    i += 8
                }
            }
            var last = UInt64(truncatingIfNeeded: count) << 56
            var shift: UInt64 = 0
            while i < count {
                last |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ last)
        }
        return h | 1 << 63
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var x = value &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return x ^ (x >> 31)
    }
}
