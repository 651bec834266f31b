import Testing

@testable import TroveCore

/// The writer's uid table agrees with a dictionary through growth, replacement, merges and filters, across
/// accounts and uids of every length; the huge-page arrays under it hold what they were filled with.
@Suite struct UIDTableTests {
    typealias Key = WriteCaches.Key

    /// Uids of 0 to 40 bytes (around each 8-byte word), non-ASCII ones, and some that differ only in a
    /// trailing NUL or in their length, in three accounts — the same uid in each with its own id.
    static let keys: [Key] = {
        var uids = (0..<3_000).map { "u\($0)" } + (0...40).map { String(repeating: "x", count: $0) }
        uids += ["é", "e\u{301}", "ünïcødé-🙂", "abc", "abc\u{0}", "abcdefgh", "abcdefgh\u{0}", "user_00000001", "user_00000002"]
        return [1, 2, Int64.max].flatMap { account in uids.map { Key(account: account, key: $0) } }
    }()

    @Test func agreesWithADictionary() {
        var table = UIDTable()
        var expected: [Key: Int64] = [:]
        for (n, key) in Self.keys.enumerated() {
            table[key] = Int64(n)
            expected[key] = Int64(n)
            if n % 5 == 0 {  // replaced
                table[key] = -Int64(n)
                expected[key] = -Int64(n)
            }
        }
        #expect(table.count == expected.count)
        #expect(expected.allSatisfy { table[$0.key] == $0.value })
        #expect(table[Key(account: 3, key: "u1")] == nil && table[Key(account: 1, key: "u3000")] == nil)
        #expect(table[Key(account: 1, key: "abc\u{0}")] != table[Key(account: 1, key: "abc")])

        // A merge replaces by default; from another table it keeps what is held.
        let batch = Dictionary(uniqueKeysWithValues: (2_990..<3_010).map { (Key(account: 1, key: "u\($0)"), Int64(1_000_000 + $0)) })
        table.merge(batch)
        expected.merge(batch) { _, new in new }
        var other = UIDTable()
        for n in 2_995..<3_020 { other[Key(account: 2, key: "u\(n)")] = 7 }
        table.merge(keepingCurrent: other)
        for n in 2_995..<3_020 where expected[Key(account: 2, key: "u\(n)")] == nil { expected[Key(account: 2, key: "u\(n)")] = 7 }
        #expect(table.count == expected.count)
        #expect(expected.allSatisfy { table[$0.key] == $0.value })

        let first = table.filter { key, _ in key.account == 1 }
        #expect(first.count == expected.keys.filter { $0.account == 1 }.count)
        #expect(expected.allSatisfy { first[$0.key] == ($0.key.account == 1 ? $0.value : nil) })
    }

    @Test func halfKeepsAboutHalfAndTheSameHalf() {
        var table = UIDTable()
        for (n, key) in Self.keys.enumerated() { table[key] = Int64(n) }
        let half = table.half()
        #expect(half.count > table.count * 2 / 5 && half.count < table.count * 3 / 5, "\(half.count) of \(table.count)")
        let kept = Self.keys.filter { half[$0] != nil }
        #expect(kept.count == half.count)
        #expect(kept.allSatisfy { half[$0] == table[$0] })
        #expect(half.half().count == half.count, "a second halving keeps the same half")
    }

    @Test func hugePageArraysHoldWhatTheyWereFilledWith() {
        let count = HugePages.threshold / MemoryLayout<Int64>.stride * 3 + 5  // advised, not a multiple of 2 MiB
        let big = HugePages.array(repeating: Int64(7), count: count)
        #expect(big.count == count && big.allSatisfy { $0 == 7 })
        let small = HugePages.array(repeating: "s", count: 3)
        #expect(small == ["s", "s", "s"])
    }
}
