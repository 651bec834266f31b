/// Public ids in `/v3` (contract §2): 24 lower-case hex characters encoding the row id. An object may also be
/// named by its integer id; exactly 24 hex characters is the hex form.
public enum PublicID {
    public static func encode(_ rowID: Int64) -> String {
        let hex = String(UInt64(bitPattern: rowID), radix: 16)
        return String(repeating: "0", count: max(0, 24 - hex.count)) + hex
    }

    /// Exactly 24 hex characters: the hex form, whether or not it names a row.
    public static func isHexForm(_ text: String) -> Bool {
        text.utf8.count == 24
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }
    }

    /// The row id named by `text` (24-hex or decimal), or nil.
    public static func decode(_ text: String) -> Int64? {
        if text.utf8.count == 24 {
            guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }) else {
                return nil
            }
            let trimmed = text.drop(while: { $0 == "0" })
            guard trimmed.count <= 16, let v = UInt64(trimmed.isEmpty ? "0" : String(trimmed), radix: 16), v <= UInt64(Int64.max) else { return nil }
            return Int64(v)
        }
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }

    /// An id given in JSON: a string (24-hex or decimal) or an integer.
    public static func decode(_ value: JSON) -> Int64? {
        switch value {
        case .string(let s): return decode(s)
        case .int(let i): return i > 0 ? i : nil
        default: return nil
        }
    }
}
