import Foundation

/// Finds chosen members in the JSON text of a `properties` column in one pass, without building any
/// value: the export reads a million rows, and parsing each object (or asking SQLite for each column,
/// which re-finds its parse by comparing the whole text every time) cost more than everything else
/// together. The text is valid JSON (the schema checks it); the scanner still never reads past its end.
struct PropertyScanner: Sendable {
    /// A wanted first key (the paths `["a"]` and `["a", "b"]` share member `a`). Plain values only: the
    /// scan reads one per member of every row, and a copy that held an array would retain and release it.
    struct Key: Sendable {
        /// The key's first 8 bytes (fewer when shorter), as `head` reads them.
        var head: UInt64
        var count: Int
        /// Where the key's bytes start in `keyBytes`.
        var start: Int
        /// Its targets: `targets[targetsStart..<targetsEnd]`.
        var targetsStart: Int
        var targetsEnd: Int
    }

    /// Where a member's value goes: `slot`, itself (`nested` -1) or a value inside it (`nested[nested]`'s path).
    struct Target: Sendable {
        var slot: Int
        var nested: Int
    }

    let keys: [Key]
    let keyBytes: [UInt8]
    let targets: [Target]
    /// The keys below the first, for paths that go deeper.
    let nested: [ArraySlice<[UInt8]>]

    init(paths: [[String]]) {
        var firsts: [[UInt8]] = [], byFirst: [[Target]] = [], nested: [ArraySlice<[UInt8]>] = []
        for (slot, path) in paths.enumerated() {
            let path = path.map { Array($0.utf8) }
            guard let first = path.first else { continue }
            var target = Target(slot: slot, nested: -1)
            if path.count > 1 {
                target.nested = nested.count
                nested.append(path.dropFirst())
            }
            if let k = firsts.firstIndex(of: first) {
                byFirst[k].append(target)
            } else {
                firsts.append(first)
                byFirst.append([target])
            }
        }
        var keys: [Key] = [], bytes: [UInt8] = [], targets: [Target] = []
        for (first, list) in zip(firsts, byFirst) {
            let head = first.withUnsafeBufferPointer { Self.head($0.baseAddress!, $0.count) }
            keys.append(Key(head: head, count: first.count, start: bytes.count, targetsStart: targets.count, targetsEnd: targets.count + list.count))
            bytes += first
            targets += list
        }
        self.keys = keys
        keyBytes = bytes
        self.targets = targets
        self.nested = nested
    }

    /// Fills `ranges[slot]` with the range of each wanted value's text in `b` (nil when absent).
    ///
    /// One pass over the object's members; a member's key is matched by its length and first 8 bytes
    /// (the rest compared only when those agree), trying first the wanted key after the last one found:
    /// profiles are written with their keys in the same order, so that guess is nearly always right.
    func scan(_ b: UnsafeBufferPointer<UInt8>, into ranges: inout [Range<Int>?]) {
        for i in ranges.indices { ranges[i] = nil }
        guard !keys.isEmpty, let base = b.baseAddress else { return }
        let n = keys.count
        var guess = 0
        var i = 0
        Self.skipSpace(b, &i)
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return }
        i += 1
        while true {
            Self.skipSpace(b, &i)
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return }
            let keyStart = i + 1
            Self.skipString(b, &i)
            let keyCount = max(0, i - 1 - keyStart)
            Self.skipSpace(b, &i)
            guard i < b.count, b[i] == UInt8(ascii: ":") else { return }
            i += 1
            Self.skipSpace(b, &i)
            let valueStart = i
            Self.skipValue(b, &i)
            let head = Self.head(base + keyStart, keyCount)
            var k = guess
            for _ in 0..<n {
                let key = keys[k]
                if key.head == head, key.count == keyCount, keyCount <= 8 || sameTail(key, base + keyStart) {
                    for t in key.targetsStart..<key.targetsEnd {
                        let target = targets[t]
                        ranges[target.slot] = target.nested < 0 ? valueStart..<i : Self.find(b, in: valueStart..<i, path: nested[target.nested])
                    }
                    guess = k + 1 == n ? 0 : k + 1
                    break
                }
                k = k + 1 == n ? 0 : k + 1
            }
            Self.skipSpace(b, &i)
            guard i < b.count, b[i] == UInt8(ascii: ",") else { return }
            i += 1
        }
    }

    /// Whether a key longer than 8 bytes, at `p`, ends as `key` does (its first 8 bytes already agree).
    private func sameTail(_ key: Key, _ p: UnsafePointer<UInt8>) -> Bool {
        keyBytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + key.start + 8, p + 8, key.count - 8) == 0 }
    }

    /// Up to the first 8 of `count` bytes at `p`, packed little-endian (zeros past a shorter key).
    @inline(__always)
    static func head(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        if count >= 8 { return UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)) }
        var value: UInt64 = 0
        for k in 0..<count { value |= UInt64(p[k]) << (8 * UInt64(k)) }
        return value
    }

    /// The value at `path` inside the object spanning `range`.
    static func find(_ b: UnsafeBufferPointer<UInt8>, in range: Range<Int>, path: ArraySlice<[UInt8]>) -> Range<Int>? {
        guard let first = path.first, range.lowerBound < b.count, b[range.lowerBound] == UInt8(ascii: "{") else { return nil }
        var i = range.lowerBound
        var found: Range<Int>?
        members(b, &i) { key, value in
            if found == nil, b[key].elementsEqual(first) { found = path.count == 1 ? value : find(b, in: value, path: path.dropFirst()) }
        }
        return found
    }

    /// Calls `body` with the key's range (without quotes) and the value's range for each member of the
    /// object starting at `i`; leaves `i` past the object.
    static func members(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ body: (Range<Int>, Range<Int>) -> Void) {
        skipSpace(b, &i)
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return }
        i += 1
        while true {
            skipSpace(b, &i)
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return }
            let keyStart = i + 1
            skipString(b, &i)
            let key = keyStart..<max(keyStart, i - 1)
            skipSpace(b, &i)
            guard i < b.count, b[i] == UInt8(ascii: ":") else { return }
            i += 1
            skipSpace(b, &i)
            let valueStart = i
            skipValue(b, &i)
            body(key, valueStart..<i)
            skipSpace(b, &i)
            guard i < b.count, b[i] == UInt8(ascii: ",") else { i += 1; return }
            i += 1
        }
    }

    static func skipSpace(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    /// From an opening quote to just past the closing one.
    /// Eight bytes at a time while they hold no quote or backslash (most of a row's bytes are in strings).
    static func skipString(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) {
        i += 1
        if let base = b.baseAddress {
            while i + 8 <= b.count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
                let special = hasZeroByte(word ^ 0x2222_2222_2222_2222) | hasZeroByte(word ^ 0x5C5C_5C5C_5C5C_5C5C)
                guard special == 0 else {
                    i += special.trailingZeroBitCount / 8  // the first quote or backslash: handled below
                    break
                }
                i += 8
            }
        }
        while i < b.count {
            switch b[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): i += 1; return
            default: i += 1
            }
        }
    }

    /// The high bit of each zero byte of `x` set (and of no byte before the first zero one).
    @inline(__always)
    static func hasZeroByte(_ x: UInt64) -> UInt64 {
        (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
    }

    static func skipValue(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) {
        guard i < b.count else { return }
        switch b[i] {
        case UInt8(ascii: "\""): skipString(b, &i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < b.count {
                switch b[i] {
                case UInt8(ascii: "\""): skipString(b, &i); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { i += 1; return }
                default: break
                }
                i += 1
            }
        default:
            while i < b.count, b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: "}"), b[i] != UInt8(ascii: "]"), b[i] > 0x20 { i += 1 }
        }
    }
}
