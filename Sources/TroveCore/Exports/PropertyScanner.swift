import Foundation

/// Finds chosen members in the JSON text of a `properties` column in one pass, without building any
/// value: the export reads a million rows, and parsing each object (or asking SQLite for each column,
/// which re-finds its parse by comparing the whole text every time) cost more than everything else
/// together. The text is valid JSON (the schema checks it); the scanner still never reads past its end.
struct PropertyScanner: Sendable {
    /// One wanted member: its key path, and the index its value's range goes to.
    struct Wanted: Sendable {
        var keys: [[UInt8]]
        var slot: Int
    }

    let wanted: [Wanted]
    /// Every wanted path's first key, back to back in one buffer, so matching a member allocates nothing.
    let firstKeys: [UInt8]
    let firstKeySpans: [(start: Int, count: Int)]

    init(paths: [[String]]) {
        wanted = paths.enumerated().map { Wanted(keys: $1.map { Array($0.utf8) }, slot: $0) }
        var bytes: [UInt8] = []
        var spans: [(Int, Int)] = []
        for w in wanted {
            spans.append((bytes.count, w.keys[0].count))
            bytes += w.keys[0]
        }
        firstKeys = bytes
        firstKeySpans = spans
    }

    /// Fills `ranges[slot]` with the range of each wanted value's text in `b` (nil when absent).
    func scan(_ b: UnsafeBufferPointer<UInt8>, into ranges: inout [Range<Int>?]) {
        for i in ranges.indices { ranges[i] = nil }
        guard !wanted.isEmpty else { return }
        firstKeys.withUnsafeBufferPointer { keys in
            var i = 0
            Self.members(b, &i) { key, value in
                for (w, span) in firstKeySpans.enumerated() where span.count == key.count {
                    guard memcmp(keys.baseAddress! + span.start, b.baseAddress! + key.lowerBound, span.count) == 0 else { continue }
                    let path = wanted[w].keys
                    ranges[wanted[w].slot] = path.count == 1 ? value : Self.find(b, in: value, path: path.dropFirst())
                }
            }
        }
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
    static func skipString(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) {
        i += 1
        while i < b.count {
            switch b[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): i += 1; return
            default: i += 1
            }
        }
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
