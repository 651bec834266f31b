/// Coerces property values (contract §4 "Values") and enforces the shape limits: two levels of hashes,
/// scalars-only arrays, 768-byte strings. One code path for every source.
public struct ValueNormalizer: Sendable {
    public static let maxStringBytes = 768
    public static let maxHashLevels = 2

    public var now: Timestamp

    public init(now: Timestamp) { self.now = now }

    /// Coerces the value of a property. Returns nil when the value is dropped.
    /// `hashLevel` is the number of hashes enclosing the value (0 for a top-level property).
    public func coerce(_ value: JSON, key: String, path: String, hashLevel: Int, warnings: inout [IngestWarning]) -> JSON? {
        switch value {
        case .null:
            return hashLevel == 0 ? .null : nil
        case .bool:
            return value
        case .int(let i):
            if Self.isTimeKey(key), let t = Self.timestamp(fromEpochInteger: i) { return .string(t.iso8601) }
            return value
        case .double(let d):
            if Self.isTimeKey(key), d == d.rounded(), abs(d) < 1e15, let t = Self.timestamp(fromEpochInteger: Int64(d)) {
                return .string(t.iso8601)
            }
            return value
        case .string(let s):
            return coerceString(s, key: key, path: path, warnings: &warnings)
        case .array(let elements):
            var out: [JSON] = []
            out.reserveCapacity(elements.count)
            for element in elements {
                switch element {
                case .null: continue
                case .array, .object:
                    warnings.append(IngestWarning(.hashInArray, path, "\(element.typeName == "object" ? "an object" : "an array") inside an array was dropped"))
                default:
                    if let v = coerce(element, key: key, path: path, hashLevel: hashLevel + 1, warnings: &warnings) { out.append(v) }
                }
            }
            return .array(out)
        case .object(let members):
            guard hashLevel < Self.maxHashLevels else {
                warnings.append(IngestWarning(.tooDeep, path, "hashes may nest \(Self.maxHashLevels) levels; a third-level hash was dropped"))
                return nil
            }
            let normalized = normalizeMembers(members, pathPrefix: path + ".", hashLevel: hashLevel + 1, warnings: &warnings)
            return .object(normalized)
        }
    }

    /// Normalizes the keys of a nested hash and coerces its values; later keys win on collisions.
    func normalizeMembers(_ members: [JSONMember], pathPrefix: String, hashLevel: Int, warnings: inout [IngestWarning]) -> [JSONMember] {
        var out: [JSONMember] = []
        out.reserveCapacity(members.count)
        for member in members {
            let key = NameNormalizer.normalize(member.key)
            guard !key.isEmpty else {
                warnings.append(IngestWarning(.invalidName, pathPrefix + member.key, "the name has no letters or digits"))
                continue
            }
            let path = pathPrefix + key
            if let existing = out.firstIndex(where: { $0.key == key }) {
                warnings.append(IngestWarning(.nameCollision, path, "\"\(member.key)\" replaced an earlier key with the same normalized name"))
                out.remove(at: existing)
            }
            guard let value = coerce(member.value, key: key, path: path, hashLevel: hashLevel, warnings: &warnings) else { continue }
            out.append(JSONMember(key, value))
        }
        return out
    }

    func coerceString(_ s: String, key: String, path: String, warnings: inout [IngestWarning]) -> JSON {
        var text = s
        let coerced: JSON? = text.withUTF8 { bytes -> JSON? in
            guard bytes.count > 0, bytes.count <= 64 else { return nil }
            let first = bytes[0]
            if first == UInt8(ascii: "$") {
                return bytes.count == 4 && bytes[1] == UInt8(ascii: "n") && bytes[2] == UInt8(ascii: "o") && bytes[3] == UInt8(ascii: "w")
                    ? .string(now.iso8601) : nil
            }
            if (first == UInt8(ascii: "+") || first == UInt8(ascii: "-")), let t = relativeTime(bytes) {
                return .string(t.iso8601)
            }
            if bytes.count >= 10, first >= 0x30, first <= 0x39, let t = Timestamp.parseISO8601(bytes: bytes) {
                return .string(t.iso8601)
            }
            if bytes.count == 4 || bytes.count == 5, let b = Self.boolean(bytes) { return .bool(b) }
            if let n = Self.number(bytes) {
                if case .int(let i) = n, Self.isTimeKey(key), let t = Self.timestamp(fromEpochInteger: i) {
                    return .string(t.iso8601)
                }
                return n
            }
            return nil
        }
        if let coerced { return coerced }
        return .string(truncate(s, path: path, warnings: &warnings))
    }

    /// Cuts a string to the longest prefix of at most 768 bytes that ends on a character boundary.
    func truncate(_ s: String, path: String, warnings: inout [IngestWarning]) -> String {
        let utf8 = s.utf8
        guard utf8.count > Self.maxStringBytes else { return s }
        warnings.append(IngestWarning(.truncated, path, "cut from \(utf8.count) to at most \(Self.maxStringBytes) bytes"))
        return Self.prefix(s, maxBytes: Self.maxStringBytes)
    }

    /// The longest prefix of `s` that fits in `maxBytes` UTF-8 bytes without splitting a character's bytes.
    public static func prefix(_ s: String, maxBytes: Int) -> String {
        let bytes = Array(s.utf8)
        guard bytes.count > maxBytes else { return s }
        var end = maxBytes
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    /// `+30d`, `-2h`, `+15m`: relative to now.
    func relativeTime(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard b.count >= 3, b.count <= 12 else { return nil }
        let unitMs: Int64
        switch b[b.count - 1] {
        case UInt8(ascii: "m"): unitMs = 60_000
        case UInt8(ascii: "h"): unitMs = 3_600_000
        case UInt8(ascii: "d"): unitMs = 86_400_000
        default: return nil
        }
        var n: Int64 = 0
        for i in 1..<(b.count - 1) {
            guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
            n = n * 10 + Int64(b[i] - 0x30)
        }
        let delta = n * unitMs
        let t = now.adding(milliseconds: b[0] == UInt8(ascii: "+") ? delta : -delta)
        return t.isRepresentable ? t : nil
    }

    static func boolean(_ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        func matches(_ word: StaticString) -> Bool {
            guard b.count == word.utf8CodeUnitCount else { return false }
            for i in 0..<b.count where b[i] | 0x20 != word.utf8Start[i] { return false }
            return true
        }
        if matches("true") { return true }
        if matches("false") { return false }
        return nil
    }

    static let maxExactInteger: Double = 9_007_199_254_740_992  // 2^53

    /// A string in JSON number syntax (so no leading zeros), within ±2^53, as a number.
    static func number(_ b: UnsafeBufferPointer<UInt8>) -> JSON? {
        var i = 0
        let n = b.count
        @inline(__always) func digit(_ k: Int) -> Bool { k < n && b[k] >= 0x30 && b[k] <= 0x39 }
        if i < n, b[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return nil }
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if digit(i) { return nil }
        } else {
            while digit(i) { i += 1 }
        }
        var integral = true
        if i < n, b[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        guard i == n else { return nil }
        let text = String(decoding: b, as: UTF8.self)
        if integral {
            guard let v = Int64(text), v.magnitude <= 9_007_199_254_740_992 else { return nil }
            return .int(v)
        }
        guard let d = Double(text), d.isFinite, abs(d) <= maxExactInteger else { return nil }
        return .double(d)
    }

    /// `created`, `*_at`, `*_time`: integer values there are epoch times when plausible.
    public static func isTimeKey(_ key: String) -> Bool {
        key == "created" || key.hasSuffix("_at") || key.hasSuffix("_time")
    }

    static let minEpochSeconds: Int64 = 94_694_400  // 1973-01-01T00:00:00Z
    static let maxEpochSeconds: Int64 = 2_019_686_399  // 2033-12-31T23:59:59Z

    /// An integer read as unix seconds or milliseconds between 1973 and 2033, else nil.
    public static func timestamp(fromEpochInteger i: Int64) -> Timestamp? {
        if i >= minEpochSeconds && i <= maxEpochSeconds { return Timestamp(seconds: i) }
        if i >= minEpochSeconds * 1000 && i <= maxEpochSeconds * 1000 + 999 { return Timestamp(milliseconds: i) }
        return nil
    }

    private static let digitPositions = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]

    /// Whether a stored string is a timestamp: normalization writes every timestamp in this exact form.
    public static func isTimestampText(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { b in
            guard b.count == 24, b[4] == 0x2D, b[7] == 0x2D, b[10] == UInt8(ascii: "T"), b[13] == 0x3A,
                b[16] == 0x3A, b[19] == 0x2E, b[23] == UInt8(ascii: "Z")
            else { return false }
            for i in digitPositions where b[i] < 0x30 || b[i] > 0x39 { return false }
            return true
        }
    }
}
