import Testing
@testable import TroveCore

@Suite struct ValueNormalizerTests {
    let normalizer = ValueNormalizer(now: fixedNow)

    func coerce(_ value: JSON, key: String = "value") -> (JSON?, [IngestWarning]) {
        var warnings: [IngestWarning] = []
        let v = normalizer.coerce(value, key: key, path: key, hashLevel: 0, warnings: &warnings)
        return (v, warnings)
    }

    @Test(arguments: [
        (JSON.string("2029-08-21T02:46:46Z"), "value", JSON.string("2029-08-21T02:46:46.000Z")),
        ("2029-08-21 02:46:46", "value", "2029-08-21T02:46:46.000Z"),
        ("2029-08-21", "value", "2029-08-21T00:00:00.000Z"),
        ("$now", "value", "2026-03-01T12:00:00.000Z"),
        ("+30d", "value", "2026-03-31T12:00:00.000Z"),
        ("-2h", "value", "2026-03-01T10:00:00.000Z"),
        ("+15m", "value", "2026-03-01T12:15:00.000Z"),
        (.int(1_880_000_000), "renewal_at", "2029-07-29T06:13:20.000Z"),
        (.int(1_880_000_000_000), "trial_time", "2029-07-29T06:13:20.000Z"),
        ("1880000000", "created", "2029-07-29T06:13:20.000Z"),
        (.int(1_880_000_000), "score", .int(1_880_000_000)),
        (.int(50), "seen_at", .int(50)),
        (.int(2_100_000_000), "renewal_at", .int(2_100_000_000)),
        ("12", "value", .int(12)),
        ("12.12", "value", .double(12.12)),
        ("11.9932e5", "value", .double(1_199_320)),
        ("007", "value", "007"),
        ("-0.5", "value", .double(-0.5)),
        ("9007199254740993", "value", "9007199254740993"),
        ("true", "value", .bool(true)),
        ("FALSE", "value", .bool(false)),
        ("True ", "value", "True "),
        ("12abc", "value", "12abc"),
        ("+30x", "value", "+30x"),
        (.double(3.5), "value", .double(3.5)),
    ])
    func coercesValues(_ input: JSON, _ key: String, _ expected: JSON) {
        #expect(coerce(input, key: key).0 == expected)
    }

    @Test func cutsLongStringsOnACharacterBoundary() {
        // 767 ASCII bytes and then a 3-byte character: byte 768 falls inside it, so it goes entirely.
        let s = String(repeating: "a", count: 767) + "€" + "tail"
        let (v, warnings) = coerce(.string(s))
        #expect(v == .string(String(repeating: "a", count: 767)))
        #expect(warnings == [IngestWarning(.truncated, "value", "cut from \(s.utf8.count) to at most 768 bytes")])
        let exact = String(repeating: "é", count: 384)  // exactly 768 bytes: kept
        #expect(coerce(.string(exact)).0 == .string(exact))
    }

    @Test func keepsTwoLevelsOfHashes() {
        // `h` holds a hash (level 1) whose value holds a hash (level 2); a hash inside that is level 3.
        let value: JSON = ["Level One": ["levelTwo": ["x": 1], "kept": 2, "list": [1, 2]], "flat": 1]
        var warnings: [IngestWarning] = []
        let v = normalizer.coerce(value, key: "h", path: "h", hashLevel: 0, warnings: &warnings)
        #expect(v == ["level_one": ["kept": 2, "list": [1, 2]], "flat": 1])
        #expect(warnings.map(\.kind) == [.tooDeep])
        #expect(warnings.first?.prop == "h.level_one.level_two")
    }

    @Test func dropsHashesInsideArraysAndNulls() {
        let (v, warnings) = coerce(["1", nil, ["a": 1], [2], "x"], key: "tags")
        #expect(v == [.int(1), "x"])
        #expect(warnings.map(\.kind) == [.hashInArray, .hashInArray])
    }
}
