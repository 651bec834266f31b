/// Guards a sender against its own stale reads: a dispatch reads due rows (a snapshot) while sends
/// finish and record their outcome; a row finished after that read began still looks pending in it and
/// must not go out again. Each read takes a number; each finished row remembers the number current when
/// it finished; a read trusts a row only if the row finished before the read began.
struct SettledRows {
    private var epoch = 0
    private var settled: [Int64: Int] = [:]

    /// Call just before reading the due rows; pass the result to `isStale` and `trust`.
    mutating func beginRead() -> Int {
        defer { epoch += 1 }
        return epoch
    }

    /// Call once the row's outcome is committed.
    mutating func settle(_ id: Int64) { settled[id] = epoch }

    func isStale(_ id: Int64, read: Int) -> Bool { (settled[id] ?? .min) > read }

    /// Forgets rows every later read sees as they are.
    mutating func trust(read: Int) {
        settled = settled.filter { $0.value > read }
    }
}
