/// Why an ingest item or request was refused. The server maps each case to one HTTP status in every API family.
public enum IngestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The body is not JSON, not UTF-8, or nests too deep.
    case malformed(String)
    /// It parses but is wrong; the message names the problem and the path.
    case invalid(String)
    /// Too large.
    case tooLarge(String)
    /// Names an object that does not exist.
    case notFound(String)
    /// The write queue is full or storage is unavailable; retry later.
    case unavailable(String)

    public var description: String {
        switch self {
        case .malformed(let m), .invalid(let m), .tooLarge(let m), .notFound(let m), .unavailable(let m): return m
        }
    }

    /// The same error with its message prefixed by where it happened (`profiles[3].`).
    public func at(_ prefix: String) -> IngestError {
        guard !prefix.isEmpty else { return self }
        switch self {
        case .malformed(let m): return .malformed(prefix + m)
        case .invalid(let m): return .invalid(prefix + m)
        case .tooLarge(let m): return .tooLarge(prefix + m)
        case .notFound(let m): return .notFound(prefix + m)
        case .unavailable: return self
        }
    }

    init(_ parseError: JSONParseError) {
        switch parseError.kind {
        case .invalidUTF8: self = .malformed("invalid UTF-8 at byte \(parseError.offset)")
        case .tooDeep: self = .malformed("JSON \(parseError.message) at byte \(parseError.offset)")
        case .syntax: self = .malformed("invalid JSON: \(parseError.message) at byte \(parseError.offset)")
        }
    }
}
