/// A stored value that does not parse — the database was edited by hand, or a bug wrote it. It is never read
/// as "nothing": the write that met it stops (merging new properties into "none" would wipe the stored
/// ones), and a read reports it, naming the row.
public struct StoredDataError: Error, CustomStringConvertible, Sendable, Equatable {
    public var table: String
    public var column: String
    public var id: Int64?
    public var reason: String

    public var description: String {
        "the stored \(table).\(column)\(id.map { " of row \($0)" } ?? "") does not parse (\(reason)); "
            + "the database was changed outside Trove: restore it from a backup or repair the row"
    }
}

/// Parsing of JSON Trove itself stored.
public enum StoredJSON {
    public static func parse(_ text: String, _ table: String, _ column: String, id: Int64?) throws(StoredDataError) -> JSON {
        do {
            return try JSONParser.parse(Array(text.utf8))
        } catch {
            throw StoredDataError(table: table, column: column, id: id, reason: "\(error)")
        }
    }

    /// A column holding a JSON array of strings (topics, event names).
    public static func strings(_ text: String, _ table: String, _ column: String, id: Int64?) throws(StoredDataError) -> [String] {
        guard case .array(let values) = try parse(text, table, column, id: id) else {
            throw StoredDataError(table: table, column: column, id: id, reason: "not a JSON array")
        }
        var strings: [String] = []
        for value in values {
            guard case .string(let s) = value else { throw StoredDataError(table: table, column: column, id: id, reason: "not an array of strings") }
            strings.append(s)
        }
        return strings
    }

    /// A properties column: an object (`{}` when empty).
    static func properties(_ text: String?, _ table: String, id: Int64?) throws(StoredDataError) -> [JSONMember] {
        guard let text, text != "{}" else { return [] }
        guard case .object(let members) = try parse(text, table, "properties", id: id) else {
            throw StoredDataError(table: table, column: "properties", id: id, reason: "not a JSON object")
        }
        return members
    }
}

