import Testing
@testable import TroveCore

/// The writer's table per profile id agrees with a dictionary through growth, updates, merges and filters.
@Suite struct ProfileTableTests {
    @Test func agreesWithADictionary() {
        var table = ProfileTable(filler: 0)
        var expected: [Int64: Int] = [:]
        // Ids that collide in the low bits (multiples of a large power of two), negatives, and enough to grow
        // the table many times over.
        let ids: [Int64] = (1...5_000).map { Int64($0) } + (1...500).map { Int64($0) << 40 } + (1...50).map { -Int64($0) } + [Int64.max]
        for (n, id) in ids.enumerated() {
            table.update(id, initial: 100) { $0 += n }
            expected[id, default: 100] += n
            if n % 3 == 0 {
                table.update(id, initial: 100) { $0 += 1 }
                expected[id, default: 100] += 1
            }
        }
        #expect(table.count == expected.count)
        for (id, value) in expected { #expect(table[id] == value) }
        #expect(table[0] == nil && table[6_000] == nil && table[Int64(501) << 40] == nil)

        var other = ProfileTable(filler: 0)
        for id in stride(from: Int64(4_000), through: 7_000, by: 1) { other[id] = 1 }
        table.merge(other) { $0 * 2 + $1 }
        expected.merge((4_000...7_000).map { (Int64($0), 1) }) { $0 * 2 + $1 }
        #expect(table.count == expected.count)
        for (id, value) in expected { #expect(table[id] == value) }

        let even = table.filter { id, _ in id % 2 == 0 }
        #expect(even.count == expected.keys.filter { $0 % 2 == 0 }.count)
        var seen: [Int64: Int] = [:]
        even.forEach { seen[$0] = $1 }
        #expect(seen == expected.filter { $0.key % 2 == 0 })
    }

    /// `update` takes its initial value only for a new profile, returns what the change returns, and leaves
    /// the table as it was when the initial value or the change throws.
    @Test func updateTakesItsInitialValueOnlyWhenNeededAndUndoesNothingHalfDone() {
        struct Refused: Error {}
        var table = ProfileTable(filler: 0)
        var asked = 0
        func initial() -> Int {
            asked += 1
            return 10
        }
        #expect(table.update(1, initial: initial()) { value -> Int in value += 1; return value } == 11)
        #expect(table.update(1, initial: initial()) { value -> Int in value += 1; return value } == 12)
        #expect(asked == 1)

        #expect(throws: Refused.self) { try table.update(2, initial: try { throw Refused() }()) { $0 += 1 } }
        #expect(table[2] == nil && table.count == 1, "no entry for a profile whose initial value failed")
        #expect(throws: Refused.self) { try table.update(1, initial: 0) { _ in throw Refused() } }
        #expect(table[1] == 12)
    }
}
