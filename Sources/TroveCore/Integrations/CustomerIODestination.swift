import Foundation

/// The Customer.io destination's settings for one account (contract §10) and the rules they imply: which
/// events go out, under which identifier, to which host.
public struct CustomerIODestination: Sendable, Equatable {
    public enum Region: String, Sendable { case us, eu }

    /// Who a person is in Customer.io: the profile's uid, its email, or one of its properties.
    public enum IdentifyBy: Sendable, Equatable, CustomStringConvertible {
        case id, email
        case property(PropertyPath)

        /// As the settings document writes it: `id`, `email` or the property's name.
        public var description: String {
            switch self {
            case .id: "id"
            case .email: "email"
            case .property(let name): name.description
            }
        }
    }

    public struct TriggerPath: Sendable, Equatable {
        public var pattern: String
        public var fire: Bool
    }

    public struct SegmentSync: Sendable, Equatable {
        public var segmentID: Int64
        public var customerIOSegmentID: String
    }

    public var siteID: String
    public var apiKey: String
    public var region: Region = .us
    public var trackURL: String?
    public var identifyBy: IdentifyBy = .id
    /// Per event name (normalized): on or off. Names not listed follow `defaultEvents`, then `forwardAllEvents`.
    public var events: [String: Bool] = [:]
    public var forwardAllEvents = false
    public var triggerPaths: [TriggerPath] = []
    public var syncProfiles = true
    public var syncSegments: [SegmentSync] = []

    /// Chameleon's own integration: tours started, completed and exited go out; steps seen flood, so not
    /// unless asked; previews only for admins.
    public static let defaultEvents: [String: Bool] = [
        "started_tour_chameleon": true, "completed_tour_chameleon": true, "exited_tour_chameleon": true,
        "step_seen_chameleon": false, "previewed_tour_chameleon": true,
    ]
    static let adminOnlyEvents: Set<String> = ["previewed_tour_chameleon"]

    /// Every name with a toggle: the defaults, overridden by `events`.
    public var toggles: [String: Bool] { Self.defaultEvents.merging(events) { _, set in set } }

    /// The only names that can fire, or nil when `forward_all_events` lets any name through.
    public var namesThatCanFire: [String]? {
        forwardAllEvents ? nil : toggles.filter(\.value).keys.sorted()
    }

    /// The base of the Track API calls.
    public var trackBase: String {
        if let trackURL { return trackURL.hasSuffix("/") ? String(trackURL.dropLast()) : trackURL }
        return region == .eu ? "https://track-eu.customer.io" : "https://track.customer.io"
    }

    /// Whether an event goes to Customer.io: its name's toggle (or the default, or `forward_all_events`),
    /// previews only for admins, then the first trigger-path rule whose pattern matches the event's
    /// `url`, `page_url` or `path` property (no rule matching: it fires).
    public func fires(nameUID: String, properties: [JSONMember], admin: Bool) -> Bool {
        guard toggles[nameUID] ?? forwardAllEvents else { return false }
        if Self.adminOnlyEvents.contains(nameUID) && !admin { return false }
        guard !triggerPaths.isEmpty else { return true }
        let paths = properties.compactMap { m -> String? in
            guard ["url", "page_url", "path"].contains(m.key), case .string(let s) = m.value else { return nil }
            return s
        }
        guard !paths.isEmpty else { return true }
        for rule in triggerPaths where paths.contains(where: { Self.glob(rule.pattern, matches: $0) }) {
            return rule.fire
        }
        return true
    }

    /// Glob matching: `*` any run of characters (slashes included), `?` one character, everything else
    /// literally. A pattern starting with `/` is matched against the path of a full URL too, so
    /// `/app/*` matches `https://example.com/app/settings`.
    public static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        if matchGlob(p, Array(text.unicodeScalars)) { return true }
        if pattern.hasPrefix("/"), let url = URLComponents(string: text), url.host != nil {
            let path = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
            let withQuery = url.percentEncodedQuery.map { path + "?" + $0 } ?? path
            return matchGlob(p, Array(path.unicodeScalars)) || matchGlob(p, Array(withQuery.unicodeScalars))
        }
        return false
    }

    static func matchGlob(_ p: [Unicode.Scalar], _ t: [Unicode.Scalar]) -> Bool {
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// The SQL expression of the person's identifier over `profiles p`.
    var identifierSQL: String { identifierSQL(SQLiteDialect()) }

    /// For an outbox row of profile `p`: its identifier, its state (failed at once without an identifier)
    /// and the error that says why, in `dialect`'s SQL.
    public func identified(_ dialect: any SQLDialect) -> (identifier: String, state: String, error: String) {
        let id = identifierSQL(dialect)
        return (id, "CASE WHEN \(id) IS NULL THEN 'failed' ELSE 'pending' END",
                "CASE WHEN \(id) IS NULL THEN 'the profile has no \(identifierDescription) to name it in Customer.io' END")
    }

    /// The identifier of profile `p` in Customer.io, in `dialect`'s SQL (NULL: the profile has none).
    public func identifierSQL(_ dialect: any SQLDialect) -> String {
        switch identifyBy {
        case .id: return "p.uid"
        case .email: return "p.email"
        case .property(let name): return dialect.json(alias: "p", path: name).scalarText()
        }
    }

    /// What `identifierSQL` reads, for the reason a row without one fails.
    public var identifierDescription: String {
        switch identifyBy {
        case .id: return "uid"
        case .email: return "email"
        case .property(let name): return "property \(name) (a string or number)"
        }
    }

    // MARK: JSON

    /// Reads a `PUT /v3/edit/integrations/customerio` body; every field but the credentials has a default.
    /// `current` supplies an unchanged `api_key` when the body leaves it out.
    public static func parse(_ body: JSON, current: CustomerIODestination?) throws(DestinationError) -> CustomerIODestination {
        guard case .object = body else { throw .invalid("body: expected a JSON object {site_id, api_key, region, …}") }
        func string(_ key: String, max: Int = 256) throws(DestinationError) -> String? {
            switch body[key] {
            case nil, .null?: return nil
            case .string(let s)? where !s.isEmpty && s.utf8.count <= max: return s
            default: throw .invalid("\(key): must be a non-empty string of at most \(max) bytes")
            }
        }
        func bool(_ key: String) throws(DestinationError) -> Bool? {
            switch body[key] {
            case nil, .null?: return nil
            case .bool(let b)?: return b
            default: throw .invalid("\(key): must be true or false")
            }
        }
        guard let site = try string("site_id") else { throw .invalid("site_id: required, your Customer.io site id") }
        guard let key = try string("api_key") ?? current?.apiKey else { throw .invalid("api_key: required, your Track API key") }
        var d = CustomerIODestination(siteID: site, apiKey: key)
        if let region = try string("region") {
            guard let r = Region(rawValue: region) else { throw .invalid("region: must be \"us\" or \"eu\"") }
            d.region = r
        }
        if let url = try string("track_url", max: 2048) {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil,
                  parsed.query == nil, parsed.fragment == nil
            else { throw .invalid("track_url: must be an http(s) URL without query, e.g. https://track.customer.io") }
            d.trackURL = url
        }
        if let by = try string("identify_by") {
            switch by {
            case "id": d.identifyBy = .id
            case "email": d.identifyBy = .email
            default:
                guard let name = PropertyPath(normalizing: [by]) else {
                    throw .invalid("identify_by: must be \"id\", \"email\" or a profile property name")
                }
                d.identifyBy = .property(name)
            }
        }
        switch body["events"] {
        case nil, .null?: break
        case .object(let members)?:
            for m in members {
                guard case .bool(let on) = m.value else { throw .invalid("events.\(m.key): must be true or false") }
                let name = NameNormalizer.normalize(m.key)
                guard !name.isEmpty else { throw .invalid("events: \"\(m.key)\" is not an event name") }
                d.events[name] = on
            }
        default: throw .invalid("events: must be an object {\"<event name>\": true|false}")
        }
        d.forwardAllEvents = try bool("forward_all_events") ?? false
        d.syncProfiles = try bool("sync_profiles") ?? true
        switch body["trigger_paths"] {
        case nil, .null?: break
        case .array(let rules)?:
            for (i, rule) in rules.enumerated() {
                guard case .string(let pattern)? = rule["pattern"], !pattern.isEmpty, pattern.utf8.count <= 2048 else {
                    throw .invalid("trigger_paths[\(i)].pattern: required, a glob such as \"/app/*\"")
                }
                guard case .bool(let fire)? = rule["fire"] else { throw .invalid("trigger_paths[\(i)].fire: required, true or false") }
                d.triggerPaths.append(TriggerPath(pattern: pattern, fire: fire))
            }
        default: throw .invalid("trigger_paths: must be an array of {pattern, fire}")
        }
        switch body["sync_segments"] {
        case nil, .null?: break
        case .array(let pairs)?:
            for (i, pair) in pairs.enumerated() {
                guard let sid = pair["segment_id"], let segment = PublicID.decode(sid) else {
                    throw .invalid("sync_segments[\(i)].segment_id: required, a Trove segment id")
                }
                let cio: String
                switch pair["customerio_segment_id"] {
                case .int(let n)?: cio = String(n)
                case .string(let s)? where !s.isEmpty && s.utf8.count <= 64: cio = s
                default: throw .invalid("sync_segments[\(i)].customerio_segment_id: required, the id of a manual segment in Customer.io")
                }
                d.syncSegments.append(SegmentSync(segmentID: segment, customerIOSegmentID: cio))
            }
        default: throw .invalid("sync_segments: must be an array of {segment_id, customerio_segment_id}")
        }
        return d
    }

    /// As stored (`integrations.config`), credentials included.
    public var stored: JSON {
        var members = document
        members.insert(JSONMember("api_key", .string(apiKey)), at: 1)
        return .object(members)
    }

    /// The last four characters of the key: all that is ever shown of it.
    public var apiKeyHint: String { "…" + String(apiKey.suffix(4)) }

    /// The settings in their document form (contract §10), without the key: the grammar `parse` reads, shared by
    /// storage and the API (like a segment's filter tree).
    public var document: [JSONMember] {
        let allEvents = toggles
        return [
            JSONMember("site_id", .string(siteID)),
            JSONMember("region", .string(region.rawValue)),
            JSONMember("track_url", .string(trackURL)),
            JSONMember("identify_by", .string(identifyBy.description)),
            JSONMember("events", .object(allEvents.keys.sorted().map { JSONMember($0, .bool(allEvents[$0]!)) })),
            JSONMember("forward_all_events", .bool(forwardAllEvents)),
            JSONMember("trigger_paths", .array(triggerPaths.map { .object([JSONMember("pattern", .string($0.pattern)), JSONMember("fire", .bool($0.fire))]) })),
            JSONMember("sync_profiles", .bool(syncProfiles)),
            JSONMember("sync_segments", .array(syncSegments.map {
                .object([JSONMember("segment_id", .string(PublicID.encode($0.segmentID))), JSONMember("customerio_segment_id", .string($0.customerIOSegmentID))])
            })),
        ]
    }

    /// Reads the stored form back (written by `stored`, so valid unless changed outside Trove).
    public static func fromStored(_ text: String, account: Int64) throws(StoredDataError) -> CustomerIODestination {
        let json = try StoredJSON.parse(text, "integrations", "config", id: account)
        var body = json
        if case .object(var members) = json {
            // Stored events are exact names already; `parse` normalizes them again, which keeps them.
            members.removeAll { $0.key == "api_key_hint" }
            body = .object(members)
        }
        do {
            return try parse(body, current: nil)
        } catch {
            throw StoredDataError(table: "integrations", column: "config", id: account, reason: "\(error)")
        }
    }
}
