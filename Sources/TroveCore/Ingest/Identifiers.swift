/// Reading identity fields from payloads (contract §2 "Identity rules"): uids are strings or integers kept as
/// their decimal string, emails compare trimmed and lower-cased, and none may exceed 255 bytes.
public enum Identifiers {
    public static let maxBytes = 255

    /// A uid, message id or similar key: string or integer; nil when absent or null.
    public static func key(_ value: JSON?, field: String) throws(IngestError) -> String? {
        guard let value else { return nil }
        let text: String
        switch value {
        case .null: return nil
        case .string(let s): text = s
        case .int(let i): text = String(i)
        case .double(let d) where d == d.rounded() && abs(d) < 9.2e18: text = String(Int64(d))
        default: throw .invalid("\(field): must be a string or an integer, got \(value.typeName)")
        }
        guard !text.isEmpty else { throw .invalid("\(field): must not be empty") }
        guard text.utf8.count <= maxBytes else {
            throw .invalid("\(field): longer than \(maxBytes) bytes (\(text.utf8.count)); identifiers are never truncated")
        }
        return text
    }

    /// An email address, trimmed and lower-cased; nil when absent, null or blank.
    public static func email(_ value: JSON?, field: String = "email") throws(IngestError) -> String? {
        guard let value else { return nil }
        switch value {
        case .null: return nil
        case .string(let s):
            let e = normalizeEmail(s)
            if e.isEmpty { return nil }
            guard e.utf8.count <= maxBytes else { throw .invalid("\(field): longer than \(maxBytes) bytes (\(e.utf8.count))") }
            return e
        default: throw .invalid("\(field): must be a string, got \(value.typeName)")
        }
    }

    public static func normalizeEmail(_ s: String) -> String {
        var start = s.startIndex, end = s.endIndex
        while start < end, s[start].isWhitespace { start = s.index(after: start) }
        while end > start, s[s.index(before: end)].isWhitespace { end = s.index(before: end) }
        return s[start..<end].lowercased()
    }

    /// A Trove object id (24-hex or integer); nil when absent or null.
    public static func objectID(_ value: JSON?, field: String) throws(IngestError) -> Int64? {
        guard let value, value != .null else { return nil }
        guard let id = PublicID.decode(value) else {
            throw .invalid("\(field): not a valid id (24 hex characters or an integer)")
        }
        return id
    }

    public static func flag(_ value: JSON?, field: String) throws(IngestError) -> Bool? {
        guard let value else { return nil }
        switch value {
        case .null: return nil
        case .bool(let b): return b
        case .string(let s) where s.lowercased() == "true": return true
        case .string(let s) where s.lowercased() == "false": return false
        case .int(let i) where i == 0 || i == 1: return i == 1
        default: throw .invalid("\(field): must be true or false, got \(value.typeName)")
        }
    }
}
