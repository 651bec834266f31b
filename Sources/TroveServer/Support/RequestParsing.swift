import Hummingbird
import TroveCore

/// Shared parsing of bodies and query parameters for the read and segment routes; every failure is a
/// `SegmentError` that names the parameter.
extension Request {
    /// The body as JSON: 400 when it does not parse, 413 past 1 MiB.
    func jsonBody() async throws -> JSON {
        let bytes = try await bodyBytes(limit: Ingestor.maxObjectBytes, tooLarge: "body over 1 MiB")
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .object([]) }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw SegmentError.malformed("body: \(error)")
        }
    }

    /// A query parameter holding JSON (`filters`).
    func jsonQuery(_ name: String) throws -> JSON? {
        guard let text = query(name), !text.isEmpty else { return nil }
        do {
            return try JSONParser.parse(Array(text.utf8))
        } catch {
            throw SegmentError.malformed("\(name): not valid JSON (\(error))")
        }
    }

    /// `limit`, `1...max`, `fallback` when absent.
    func limit(default fallback: Int, max: Int) throws -> Int {
        guard let text = query("limit"), !text.isEmpty else { return fallback }
        guard let n = Int(text), n >= 1, n <= max else { throw SegmentError.invalid("limit: must be a whole number from 1 to \(max)") }
        return n
    }

    /// A cursor naming a row id (`before`, 24-hex or integer).
    func rowCursor(_ name: String) throws -> Int64? {
        guard let text = query(name), !text.isEmpty else { return nil }
        guard let id = PublicID.decode(text) else { throw SegmentError.invalid("\(name): not a cursor this API returned") }
        return id
    }

    /// A time parameter: ISO-8601 or unix seconds (contract §2).
    func time(_ name: String) throws -> Timestamp? {
        guard let text = query(name), !text.isEmpty else { return nil }
        guard let t = Timestamp.parse(unixSecondsOrISO8601: text) else {
            throw SegmentError.invalid("\(name): not an ISO-8601 time or unix seconds in the years 0000–9999")
        }
        return t
    }
}

extension Parameters {
    /// A segment id from the path: 24-hex or integer.
    func segmentID(_ name: String = "id") throws -> Int64 {
        guard let text = get(name), let id = PublicID.decode(text) else { throw SegmentError.notFound("no segment with id \(get(name) ?? "")") }
        return id
    }

    /// Any public id from the path (24-hex or integer); `kind` names it in the 404 (default: the parameter).
    func publicID(_ name: String, kind: String? = nil) throws -> Int64 {
        guard let text = get(name), let id = PublicID.decode(text) else { throw ReadError.notFound("no \(kind ?? name) with id \(get(name) ?? "")") }
        return id
    }
}

extension RequestContext {
    /// A path parameter, percent-decoded: clients URL-encode identifiers (`ann%40example.com`).
    func pathParameter(_ name: String) -> String {
        let raw = parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }
}

extension JSON {
    /// `{"ids": [...]}` of customer ids (strings, or integers as Customer.io's clients send them).
    func customerIDs() throws -> [String] {
        guard case .array(let values)? = self["ids"] else { throw SegmentError.invalid("ids: required, an array of customer ids") }
        return try values.enumerated().map { i, value in
            switch value {
            case .string(let s): return s
            case .int(let n): return String(n)
            default: throw SegmentError.invalid("ids[\(i)]: must be a string or an integer")
            }
        }
    }
}
