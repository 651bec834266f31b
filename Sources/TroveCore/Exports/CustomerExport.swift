import GRDB

/// `POST /v1/exports/customers` (SPEC §7): the profiles matching a Customer.io filter, one CSV row each,
/// header `id,email,cio_id,<attributes in request order>`.
public struct CustomerExport: Sendable {
    /// The filter (nil: every enabled profile of the account).
    var filter: FilterNode?
    /// The attributes as requested (the header) and where each one's value comes from.
    var attributes: [(name: String, owner: PropertyOwner, keys: [String])]

    static let maxAttributes = 300

    /// Checks a request body; the stored form is `{"filters":…, "attributes":[…]}` as sent.
    static func parse(_ body: JSON) throws(ExportError) -> CustomerExport {
        guard case .object = body else { throw .invalid("the body must be a JSON object {filters, attributes}") }
        var export = CustomerExport(filter: nil, attributes: [])
        switch body["filters"] {
        case nil, .null?: break
        case let filters?:
            do { export.filter = try CustomerIOFilter.parse(filters) } catch { throw .invalid(error.description) }
        }
        switch body["attributes"] {
        case nil, .null?: break
        case .array(let names)?:
            guard names.count <= maxAttributes else { throw .invalid("attributes: at most \(maxAttributes) names") }
            for (i, name) in names.enumerated() {
                guard case .string(let text) = name, !text.isEmpty else { throw .invalid("attributes[\(i)]: must be a non-empty string") }
                do {
                    let (owner, keys) = try FilterValues.propertyPath(text, path: "attributes[\(i)]", owner: .profile, allowCompany: true)
                    export.attributes.append((text, owner, keys))
                } catch { throw .invalid(error.description) }
            }
        default: throw .invalid("attributes: must be an array of attribute names")
        }
        return export
    }

    /// How one column's SQL value becomes its CSV text.
    enum Rendering { case json, text, time, flag }

    /// The column for an attribute: an SQL expression over `profiles p` and how to render what it gives.
    func column(owner: PropertyOwner, keys: [String]) -> (sql: String, rendering: Rendering) {
        let source = owner == .company ? ValueSource.company(keys) : ValueSource.profile(keys)
        let (expression, rendering): (String, Rendering) =
            switch source {
            case .json(let alias, let path): ("\(alias).properties -> '\(path)'", .json)
            case .text(let column): (column, .text)
            case .time(let column): (column, .time)
            case .flag(let column): (column, .flag)
            }
        guard owner == .company else { return (expression, rendering) }
        return ("(SELECT \(expression) FROM companies c WHERE c.id = p.company_id)", rendering)
    }

    /// The query: uid, email, id, then one column per attribute, members of the filter in id order.
    func query(_ db: Database, account: Int64, now: Timestamp) throws -> (SQLFragment, [Rendering]) {
        let columns = attributes.map { column(owner: $0.owner, keys: $0.keys) }
        let list = (["p.uid", "p.email", "p.id"] + columns.map(\.sql)).joined(separator: ", ")
        let select: SQLFragment
        if let filter {
            select = try SegmentCompiler.over(db, account: account, now: now).membersQuery(filter, columns: list).select
        } else {
            select = SQLFragment("SELECT \(list) FROM profiles p WHERE p.account_id = ? AND p.disabled = 0", [account.databaseValue])
        }
        return (select + SQLFragment(" ORDER BY p.id"), columns.map(\.rendering))
    }

    /// How far an export has come: rows go out in profile-id order, so the last id written against the
    /// highest id is a progress fraction that costs nothing to know.
    public typealias Progress = @Sendable (_ lastID: Int64, _ maxID: Int64, _ rows: Int64) -> Void

    /// Writes the CSV for `account` from the snapshot `db` reads; returns the number of rows.
    func write(_ db: Database, account: Int64, now: Timestamp, to csv: inout CSVWriter, progress: Progress? = nil) throws -> Int64 {
        let (query, renderings) = try self.query(db, account: account, now: now)
        let maxID = progress == nil ? 0 : try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM profiles") ?? 0
        try csv.row(["id", "email", "cio_id"] + attributes.map(\.name))
        let statement = try db.makeStatement(sql: query.sql)
        let rows = try Row.fetchCursor(statement, arguments: query.statementArguments)
        var total: Int64 = 0
        var fields: [String] = []
        while let row = try rows.next() {
            fields.removeAll(keepingCapacity: true)
            fields.append(row[0] ?? "")
            fields.append(row[1] ?? "")
            fields.append(PublicID.encode(row[2]))
            for (i, rendering) in renderings.enumerated() {
                fields.append(Self.render(row[3 + i], rendering))
            }
            try csv.row(fields)
            total += 1
            if let progress, total % 10_000 == 0 { progress(row[2], maxID, total) }
        }
        progress?(maxID, maxID, total)
        return total
    }

    /// Values as strings (SPEC §7): strings as they are, timestamps ISO-8601 (stored that way), numbers
    /// and booleans as JSON writes them, hashes and arrays as compact JSON; absent → empty.
    static func render(_ value: DatabaseValue, _ rendering: Rendering) -> String {
        switch (value.storage, rendering) {
        case (.null, _): return ""
        case (.string(let text), .json):
            guard text.hasPrefix("\"") else { return text }
            if case .string(let s)? = try? JSONParser.parse(Array(text.utf8)) { return s }
            return text
        case (.string(let text), _): return text
        case (.int64(let ms), .time): return Timestamp(milliseconds: ms).iso8601
        case (.int64(let flag), .flag): return flag != 0 ? "true" : "false"
        case (.int64(let n), _): return String(n)
        case (.double(let d), _): return JSONWriter.string(.double(d))
        case (.blob, _): return ""
        }
    }
}
