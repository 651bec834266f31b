/// An index segment evaluation reads (contract §6: "properties that segments filter on must not cost a full
/// JSON scan"), created when a segment is built and dropped when no dynamic segment needs it any more.
/// The compiler emits the identical expressions, so the engine can use it; each dialect writes its
/// `CREATE INDEX` (`SQLDialect.createSQL`).
///
/// - `profileProperties`: `(account_id, disabled, <the property>, …[, company_id])`,
///   one per top-level AND of profile properties (equalities first, then ranges, then the rest), so a
///   segment's property conditions are answered from the index alone: no profile row is read, which is
///   what keeps a cold evaluation fast. Also the single-property form for properties elsewhere in a filter.
/// - `companyProperty`: `(account_id, <the property>)` on companies.
/// - `eventName`: `([account_id,] profile_id, timestamp) WHERE name_id = N`, a partial index holding only the
///   events of one name a segment counts. Per profile it answers "how many times in the window" with one
///   seek, and in profile order it groups without a sort. Only names segments use pay for it at ingest.
public struct SegmentIndex: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case profileProperties(paths: [PropertyPath], company: Bool)
        case companyProperty(path: PropertyPath)
        case eventName(Int64)
    }

    public var kind: Kind

    static func profileProperties(_ paths: [PropertyPath], company: Bool = false) -> SegmentIndex {
        SegmentIndex(kind: .profileProperties(paths: paths, company: company))
    }

    static func companyProperty(_ path: PropertyPath) -> SegmentIndex { SegmentIndex(kind: .companyProperty(path: path)) }
    static func eventName(_ id: Int64) -> SegmentIndex { SegmentIndex(kind: .eventName(id)) }

    /// Name prefixes of the indexes this type manages (and may drop); `profiles_prop_` and
    /// `companies_prop_` are the single-property indexes of earlier versions.
    public static let managedPrefixes = ["profiles_by_props_", "companies_by_props_", "events_of_name_", "profiles_prop_", "companies_prop_"]

    /// Properties are named by a 64-bit FNV-1a hash of their column list (paths can be long, and two
    /// lists must never share a name); event-name indexes by the name's id.
    public var name: String {
        switch kind {
        case .profileProperties(let paths, let company):
            return "profiles_by_props_" + Self.hash(paths.map(\.jsonPath).joined(separator: "\u{1}") + (company ? "\u{1}company_id" : ""))
        case .companyProperty(let path):
            return "companies_by_props_" + Self.hash(path.jsonPath)
        case .eventName(let id):
            return "events_of_name_\(id)"
        }
    }

    static func hash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
