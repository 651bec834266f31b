/// A byte-level JSON parser (RFC 8259) that validates UTF-8 and bounds nesting.
///
/// Foundation's decoder manages about 85k events/s per core on this machine; ingest needs several times
/// that, so the hot path parses bytes directly. Errors name the byte offset so a client can find the fault.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case syntax, invalidUTF8, tooDeep }
    public var kind: Kind
    public var message: String
    public var offset: Int

    public var description: String { "\(message) at byte \(offset)" }
}

public struct JSONParser {
    public static let maxDepth = 64

    /// Parses one complete JSON document.
    /// Bytes in contiguous storage (an array, a slice of one) are parsed in place.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSON {
        let parsed = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) -> JSON in
                var parser = JSONParser(buffer)
                return try parser.parseDocument()
            }
        }
        guard let parsed else { return try parse(Array(bytes)) }
        return try parsed.get()
    }

    /// Parses a batch body `{"<key>": [items...], ...}`, returning the other top-level members and each
    /// item with its size in bytes (items over a limit are refused one by one, not the whole batch).
    /// A body that is not an object comes back as one member with an empty key.
    public static func parseBatch(_ bytes: [UInt8], itemsKey: String) throws(JSONParseError) -> (members: [JSONMember], items: [(JSON, Int)]?) {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var p = JSONParser(buffer)
            var items: [(JSON, Int)]?
            let value = try p.parseDocument { p, key throws(JSONParseError) in
                guard key == itemsKey, p.pos < p.bytes.count, p.bytes[p.pos] == UInt8(ascii: "[") else { return false }
                var collected: [(JSON, Int)] = []
                try p.parseArrayElements { value, size in collected.append((value, size)) }
                items = collected
                return true
            }
            guard case .object(let members) = value else { return ([JSONMember("", value)], nil) }
            return (members, items)
        }
    }

    /// Lets a caller take over the value of a top-level member: return true once it has been consumed.
    typealias MemberInterceptor = (inout JSONParser, String) throws(JSONParseError) -> Bool

    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0
    var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parseDocument(intercepting interceptor: MemberInterceptor? = nil) throws(JSONParseError) -> JSON {
        // A UTF-8 byte order mark is tolerated, as most JSON readers do.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }
        skipWhitespace()
        guard pos < bytes.count else { throw error("empty body: expected a JSON value") }
        let value = bytes[pos] == UInt8(ascii: "{") ? try parseObject(intercepting: interceptor) : try parseValue()
        skipWhitespace()
        if pos < bytes.count { throw error("unexpected data after the JSON value") }
        return value
    }

    func error(_ message: String, kind: JSONParseError.Kind = .syntax) -> JSONParseError {
        JSONParseError(kind: kind, message: message, offset: pos)
    }

    mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONParseError) -> JSON {
        guard pos < bytes.count else { throw error("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            if bytes[pos] >= 0x80, !Self.isValidUTF8Sequence(bytes, at: pos) {
                throw error("invalid UTF-8", kind: .invalidUTF8)
            }
            throw error("unexpected character, expected a JSON value")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard pos + count <= bytes.count else { throw error("unexpected end of input") }
        let base = literal.utf8Start
        for i in 0..<count where bytes[pos + i] != base[i] {
            throw error("invalid literal, expected \(literal)")
        }
        pos += count
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maxDepth {
            throw error("nesting deeper than \(Self.maxDepth) levels", kind: .tooDeep)
        }
    }

    mutating func parseObject(intercepting interceptor: MemberInterceptor? = nil) throws(JSONParseError) -> JSON {
        try enter()
        pos += 1
        var members: [JSONMember] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of input in an object") }
            guard bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a string key in an object") }
            let key = try parseString()
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
            pos += 1
            skipWhitespace()
            if let interceptor, try interceptor(&self, key) {
                // consumed by the caller
            } else {
                members.append(JSONMember(key, try parseValue()))
            }
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of input in an object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; break }
            throw error("expected ',' or '}' in an object")
        }
        depth -= 1
        return .object(members)
    }

    mutating func parseArray() throws(JSONParseError) -> JSON {
        try enter()
        pos += 1
        var elements: [JSON] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw error("expected ',' or ']' in an array")
        }
        depth -= 1
        return .array(elements)
    }

    /// Parses an array element by element, reporting each element's byte span (for per-item size limits).
    mutating func parseArrayElements(_ body: (JSON, Int) throws(JSONParseError) -> Void) throws(JSONParseError) {
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "[") else { throw error("expected an array") }
        try enter()
        pos += 1
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            let start = pos
            let value = try parseValue()
            try body(value, pos - start)
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw error("expected ',' or ']' in an array")
        }
        depth -= 1
    }

    mutating func parseString() throws(JSONParseError) -> String {
        pos += 1  // opening quote
        let start = pos
        var asciiOnly = true
        // Fast path: no escapes. Scan to the closing quote.
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<pos])
                pos += 1
                if asciiOnly { return String(decoding: slice, as: UTF8.self) }
                guard let s = String(validating: slice, as: UTF8.self) else {
                    pos = start + Self.firstInvalidUTF8Offset(slice)
                    throw error("invalid UTF-8 in a string", kind: .invalidUTF8)
                }
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("unescaped control character in a string") }
            if b >= 0x80 { asciiOnly = false }
            pos += 1
        }
        guard pos < bytes.count else { throw error("unterminated string") }
        // Slow path: escapes present.
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<pos]))
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw error("invalid UTF-8 in a string", kind: .invalidUTF8)
                }
                return s
            }
            if b < 0x20 { throw error("unescaped control character in a string") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                pos += 1
                continue
            }
            pos += 1
            guard pos < bytes.count else { throw error("unterminated string") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in a \\u escape")
                    }
                    pos += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate in a \\u escape")
                }
                // PostgreSQL's text and jsonb cannot hold NUL: refused on both engines, so that they store alike.
                guard scalar != 0 else { throw error("\\u0000 (NUL) in a string: Trove does not store NUL characters") }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                out.append(contentsOf: UTF8.encode(u)!)
            default:
                pos -= 1
                throw error("invalid escape in a string")
            }
        }
        throw error("unterminated string")
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in a \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") { negative = true; pos += 1 }
        guard pos < bytes.count, Self.isDigit(bytes[pos]) else { throw error("invalid number") }
        var integer: UInt64 = 0
        var overflow = false
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < bytes.count, Self.isDigit(bytes[pos]) { throw error("invalid number: leading zero") }
        } else {
            while pos < bytes.count, Self.isDigit(bytes[pos]) {
                let (m, o1) = integer.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(bytes[pos] - UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                integer = a
                pos += 1
            }
        }
        var isInteger = true
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < bytes.count, Self.isDigit(bytes[pos]) else { throw error("invalid number: digit expected after '.'") }
            while pos < bytes.count, Self.isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, Self.isDigit(bytes[pos]) else { throw error("invalid number: digit expected in exponent") }
            while pos < bytes.count, Self.isDigit(bytes[pos]) { pos += 1 }
        }
        if isInteger, !overflow {
            if !negative, integer <= UInt64(Int64.max) { return .int(Int64(integer)) }
            if negative, integer <= UInt64(Int64.max) + 1 { return .int(integer == UInt64(Int64.max) + 1 ? Int64.min : -Int64(integer)) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else {
            pos = start
            throw error("number out of range")
        }
        return .double(d)
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func firstInvalidUTF8Offset(_ slice: UnsafeBufferPointer<UInt8>) -> Int {
        var i = 0
        while i < slice.count {
            if slice[i] < 0x80 { i += 1; continue }
            guard let n = utf8SequenceLength(slice, at: i) else { return i }
            i += n
        }
        return slice.count
    }

    static func isValidUTF8Sequence(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        utf8SequenceLength(bytes, at: i) != nil
    }

    /// The length of the well-formed UTF-8 sequence starting at `i`, or nil.
    static func utf8SequenceLength(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let lead = b[i]
        let n: Int
        let minValue: UInt32
        var v: UInt32
        switch lead {
        case 0xC2...0xDF: n = 2; v = UInt32(lead & 0x1F); minValue = 0x80
        case 0xE0...0xEF: n = 3; v = UInt32(lead & 0x0F); minValue = 0x800
        case 0xF0...0xF4: n = 4; v = UInt32(lead & 0x07); minValue = 0x10000
        default: return nil
        }
        guard i + n <= b.count else { return nil }
        for k in 1..<n {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return nil }
            v = v << 6 | UInt32(c & 0x3F)
        }
        guard v >= minValue, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { return nil }
        return n
    }
}
