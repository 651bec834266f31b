import Foundation

/// The Customer.io Track API calls one outbox call makes, shaped as contract §10 says.
extension CustomerIODeliverer {
    /// `body` nil: none is sent (a customer delete).
    typealias TrackRequest = (method: String, path: String, body: JSON?)

    /// The calls for one outbox call; a stored body that does not parse is an error (the call fails with
    /// it), never sent as an empty one.
    static func requests(for call: Call) throws(StoredDataError) -> [TrackRequest] {
        let d = call.destination
        let first = call.rows[0]
        let requests: [TrackRequest]
        switch first.kind {
        case "identify":
            let attributes = Self.attributeChunks(try storedBody(first))
            requests = attributes.map { ("PUT", "/api/v1/customers/\(Self.pathSegment(first.identifier))", $0) }
        case "event":
            requests = [("POST", "/api/v1/customers/\(Self.pathSegment(first.identifier))/events", try storedBody(first))]
        case "delete":
            requests = [("DELETE", "/api/v1/customers/\(Self.pathSegment(first.identifier))", nil)]
        default:
            let action = first.kind == "segment_add" ? "add_customers" : "remove_customers"
            let idType = d.identifyBy == .email ? "?id_type=email" : ""
            requests = [("POST", "/api/v1/segments/\(Self.pathSegment(first.target ?? ""))/\(action)\(idType)",
                         ["ids": .array(call.rows.map { .string($0.identifier) })])]
        }
        return requests
    }

    static func storedBody(_ row: Queued) throws(StoredDataError) -> JSON {
        try StoredJSON.parse(row.body ?? "{}", "customerio_deliveries", "body", id: row.id)
    }

    /// A profile's attributes as identify bodies: values cut to 1000 bytes (a string to its longest prefix
    /// on a character boundary, an array or object to the leading items whose JSON fits), at most 300
    /// attributes per call.
    static func attributeChunks(_ attributes: JSON) -> [JSON] {
        guard case .object(let members) = attributes, !members.isEmpty else { return [.object([])] }
        let cut = members.map { JSONMember($0.key, Self.cut($0.value)) }
        return stride(from: 0, to: cut.count, by: maxAttributesPerCall).map { .object(Array(cut[$0..<min($0 + maxAttributesPerCall, cut.count)])) }
    }

    static func cut(_ value: JSON) -> JSON {
        switch value {
        case .string(let s): return .string(truncated(s))
        case .array(let items) where JSONWriter.bytes(value).count > maxValueBytes:
            var size = 2  // []
            var kept: [JSON] = []
            for item in items {
                let itemSize = JSONWriter.bytes(item).count + (kept.isEmpty ? 0 : 1)
                guard size + itemSize <= maxValueBytes else { break }
                size += itemSize
                kept.append(item)
            }
            return .array(kept)
        case .object(let members) where JSONWriter.bytes(value).count > maxValueBytes:
            var size = 2  // {}
            var kept: [JSONMember] = []
            for member in members {
                let memberSize = JSONWriter.bytes(.object([member])).count - 2 + (kept.isEmpty ? 0 : 1)
                guard size + memberSize <= maxValueBytes else { break }
                size += memberSize
                kept.append(member)
            }
            return .object(kept)
        default: return value
        }
    }

    /// The longest prefix of `s` of at most 1000 UTF-8 bytes that ends on a character boundary.
    static func truncated(_ s: String) -> String {
        let utf8 = s.utf8
        guard utf8.count > maxValueBytes else { return s }
        var end = utf8.index(utf8.startIndex, offsetBy: maxValueBytes)
        while end > utf8.startIndex && utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }  // not mid-character
        return String(Substring(utf8[..<end]))
    }

    /// An identifier as one path segment (`/`, `?`, `#`, `%` and spaces escaped).
    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
