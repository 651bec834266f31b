import Foundation

/// Normalizes property keys and event names (contract §4 "Names"): NFC, camel-case splitting, one `_` per run
/// of non-alphanumerics, trimmed, lower-cased. `planName` → `plan_name`, `Completed Tour (Chameleon)` →
/// `completed_tour_chameleon`. An empty result means the name is invalid.
public enum NameNormalizer {
    public static func normalize(_ name: String) -> String {
        var name = name
        let ascii = name.withUTF8 { buf in buf.allSatisfy { $0 < 0x80 } }
        if ascii {
            if name.withUTF8(isNormalASCII) { return name }
            return name.withUTF8 { normalizeASCII($0) }
        }
        return normalizeUnicode(name.precomposedStringWithCanonicalMapping)
    }

    /// Most keys arrive already normalized (`plan`, `tour_id`): lower-case letters, digits and single
    /// inner underscores. Those are returned as they are, without allocating.
    private static func isNormalASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = b.first, let last = b.last, first != 0x5F, last != 0x5F else { return false }
        var previousUnderscore = false
        for c in b {
            if c == 0x5F {
                if previousUnderscore { return false }
                previousUnderscore = true
            } else {
                guard (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) else { return false }
                previousUnderscore = false
            }
        }
        return true
    }

    private enum Class { case upper, lower, digit, caseless, separator }

    private static func classify(ascii b: UInt8) -> Class {
        switch b {
        case 0x41...0x5A: return .upper
        case 0x61...0x7A: return .lower
        case 0x30...0x39: return .digit
        default: return .separator
        }
    }

    private static func classify(_ s: Unicode.Scalar) -> Class {
        let p = s.properties
        switch p.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: return .upper
        case .lowercaseLetter: return .lower
        case .decimalNumber, .letterNumber, .otherNumber: return .digit
        case .modifierLetter, .otherLetter, .nonspacingMark, .spacingMark, .enclosingMark: return .caseless
        default: return .separator
        }
    }

    /// Whether a word break belongs between positions i and i+1 (rule 1).
    private static func splits<C: RandomAccessCollection<Class>>(_ c: C, _ i: Int) -> Bool where C.Index == Int {
        guard i + 1 < c.count else { return false }
        let a = c[i], b = c[i + 1]
        let after: Class? = i + 2 < c.count ? c[i + 2] : nil
        if (a == .lower || a == .digit) && b == .upper {
            return after == .lower || after == .upper
        }
        if a == .upper && b == .upper { return after == .lower }
        return false
    }

    /// Event names (`Viewed Page`) land here on every event: classes go on the stack and the output straight
    /// into the string's storage (at most one separator before each byte kept).
    private static func normalizeASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        withUnsafeTemporaryAllocation(of: Class.self, capacity: bytes.count) { classes in
            for i in 0..<bytes.count { classes.initializeElement(at: i, to: classify(ascii: bytes[i])) }
            return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                var n = 0
                var pendingSeparator = false
                for i in 0..<bytes.count {
                    if classes[i] == .separator {
                        pendingSeparator = true
                        continue
                    }
                    if pendingSeparator, n > 0 {
                        out[n] = UInt8(ascii: "_")
                        n += 1
                    }
                    pendingSeparator = false
                    out[n] = classes[i] == .upper ? bytes[i] + 32 : bytes[i]
                    n += 1
                    if splits(classes, i) { pendingSeparator = true }
                }
                return n
            }
        }
    }

    private static func normalizeUnicode(_ name: String) -> String {
        let scalars = Array(name.unicodeScalars)
        let classes = scalars.map(classify)
        var out = String.UnicodeScalarView()
        var pendingSeparator = false
        for i in 0..<scalars.count {
            if classes[i] == .separator {
                pendingSeparator = true
                continue
            }
            if pendingSeparator, !out.isEmpty { out.append("_") }
            pendingSeparator = false
            out.append(scalars[i])
            if splits(classes, i) { pendingSeparator = true }
        }
        return String(out).lowercased()
    }
}
