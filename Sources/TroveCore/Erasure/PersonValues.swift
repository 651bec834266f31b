#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The erased person's values: their identifiers and every string among their properties and their events'
/// properties. Catalog examples, warnings and stored replies that quote one of them are wiped.
public struct PersonValues: Sendable, Equatable {
    public static let maxValues = 100_000
    /// Values shorter than this (in characters) count only when a text is one of them whole: shorter ones are
    /// too common inside other texts to tell the person by.
    public static let minQuoted = 4

    public private(set) var strings: Set<String> = []
    /// The UTF-8 bytes of the values of `minQuoted` characters or more, searched for inside texts.
    private var quotable: [[UInt8]] = []

    public init() {}

    public var count: Int { strings.count }

    public static func == (a: PersonValues, b: PersonValues) -> Bool { a.strings == b.strings }

    public mutating func add(_ value: String?) {
        guard let value, !value.isEmpty, strings.count < Self.maxValues, strings.insert(value).inserted else { return }
        if value.count >= Self.minQuoted { quotable.append(Array(value.utf8)) }
    }

    /// Every string inside a JSON value (object keys are property names, not the person's values).
    public mutating func add(_ json: JSON) {
        switch json {
        case .string(let s): add(s)
        case .array(let items): for item in items { add(item) }
        case .object(let members): for m in members { add(m.value) }
        default: break
        }
    }

    public mutating func formUnion(_ other: PersonValues) {
        for s in other.strings { add(s) }
    }

    /// Whether `text` is one of the values, or quotes one of at least `minQuoted` characters (a warning's
    /// detail, a stored reply). Quoting is byte for byte in UTF-8: a scrub scans every catalog
    /// example, warning and stored reply of the account for every value of the people erased together.
    public func quoted(in text: String) -> Bool {
        if strings.contains(text) { return true }
        guard !quotable.isEmpty else { return false }
        var text = text
        return text.withUTF8 { haystack in quotable.contains { Self.find($0, in: haystack) } }
    }

    /// Whether `needle` occurs in `haystack`: candidates by their first byte (`memchr`), then compared whole.
    private static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = haystack.baseAddress, needle.count <= haystack.count else { return false }
        let last = base + (haystack.count - needle.count)
        var at = base
        while at <= last, let hit = memchr(at, Int32(needle[0]), last - at + 1) {
            let candidate = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self))
            if memcmp(candidate, needle, needle.count) == 0 { return true }
            at = candidate + 1
        }
        return false
    }

    /// A stored list of catalog examples without the ones that are the person's values; nil when none was.
    public func kept(examples items: [JSON]) -> [JSON]? {
        let kept = items.filter { item in
            if case .string(let s) = item { return !quoted(in: s) }
            return true
        }
        return kept.count == items.count ? nil : kept
    }
}
