import TroveCore

/// Values as every API family writes them: times in ISO 8601 (UTC, milliseconds), absent values as null.
extension JSON {
    static func time(_ t: Timestamp?) -> JSON { t.map { .string($0.iso8601) } ?? .null }
    static func int(_ n: Int?) -> JSON { n.map { .int(Int64($0)) } ?? .null }
    static func int(_ n: Int) -> JSON { .int(Int64(n)) }
    static func strings(_ list: [String]) -> JSON { .array(list.map(JSON.string)) }
    static func id(_ id: Int64) -> JSON { .string(PublicID.encode(id)) }
}
