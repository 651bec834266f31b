/// ULIDs (26 characters of Crockford base32 over a 48-bit millisecond time and 80 other bits), as
/// Customer.io expects for event ids. Built from stable inputs so every retry carries the same id.
public enum ULID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// The ULID of `milliseconds` (clamped to 48 bits) and the 80 bits `high:low` (the top 64 bits of
    /// `high` are dropped down to 16).
    public static func make(milliseconds: Int64, high: UInt16, low: UInt64) -> String {
        let time = UInt64(max(0, min(milliseconds, (1 << 48) - 1)))
        // 128 bits: time(48) | high(16) | low(64), as two words.
        let hi = (time << 16) | UInt64(high)
        let lo = low
        var out = [UInt8](repeating: 0, count: 26)
        // Bit i counted from the most significant of the 130-bit padded value (2 leading zero bits).
        func bits(_ start: Int) -> Int {
            var v = 0
            for b in start..<(start + 5) {
                let index = b - 2  // position within the 128 bits
                let bit: UInt64 = index < 0 ? 0 : index < 64 ? (hi >> UInt64(63 - index)) & 1 : (lo >> UInt64(127 - index)) & 1
                v = (v << 1) | Int(bit)
            }
            return v
        }
        for i in 0..<26 { out[i] = alphabet[bits(i * 5)] }
        return String(decoding: out, as: UTF8.self)
    }
}
