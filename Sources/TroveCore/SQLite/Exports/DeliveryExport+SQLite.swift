import GRDB

extension DeliveryExport {
    func write(_ db: Database, account: Int64, to csv: inout CSVWriter) throws -> Int64 {
        let columns = customer.attributes.map { customer.column(owner: $0.owner, path: $0.path) }
        var select = "SELECT e.timestamp, p.uid, p.email, p.id"
        for name in Self.activityColumns { select += ", e.properties -> '$.\"\(name)\"'" }
        for column in columns { select += ", \(column.sql)" }
        var query = SQLFragment(
            // `source` as a literal, so SQLite can use the partial index over Customer.io's events.
            select + " FROM events e JOIN profiles p ON p.id = e.profile_id WHERE e.account_id = ? AND e.source = \(EventSource.customerio.rawValue) AND e.properties ->> '$.\"\(message.field)\"' = ?",
            [account.sqlValue, message.id.sqlValue])
        if let start { query = query + SQLFragment(" AND e.timestamp >= ?", [start.milliseconds.sqlValue]) }
        if let end { query = query + SQLFragment(" AND e.timestamp < ?", [end.milliseconds.sqlValue]) }
        if let metric { query = query + SQLFragment(" AND e.properties ->> '$.metric' = ?", [metric.sqlValue]) }
        if !drafts { query = query + SQLFragment(" AND e.properties ->> '$.metric' IS NOT 'drafted'") }
        query = query + SQLFragment(" ORDER BY e.timestamp, e.id")

        try csv.row(header.map(CSVCell.text))
        let rows = try Row.fetchCursor(db, sql: query.sql, arguments: query.statementArguments)
        var total: Int64 = 0
        while let row = try rows.next() {
            let values = (0..<(4 + Self.activityColumns.count + columns.count)).map { SQLValue(row[$0] as DatabaseValue) }
            try csv.row(cells(values, renderings: columns.map(\.rendering)))
            total += 1
        }
        return total
    }

    /// The header: `delivery_id, id, email, cio_id`, the other activity columns, `timestamp`, the attributes.
    var header: [String] {
        ["delivery_id", "id", "email", "cio_id"] + Self.activityColumns.dropFirst() + ["timestamp"] + customer.attributes.map(\.name)
    }

    /// One row's fields from what the engine selected: the event's timestamp, the profile's uid, email and
    /// id, each activity column's JSON, then each attribute column (rendered as `renderings` say).
    func cells(_ row: [SQLValue], renderings: [CustomerExport.Rendering]) -> [CSVCell] {
        func text(_ v: SQLValue) -> String { if case .text(let s) = v { return s }; return "" }
        func int(_ v: SQLValue) -> Int64 { if case .integer(let i) = v { return i }; return 0 }
        let activity = Self.activityColumns.indices.map { CustomerExport.render(row[4 + $0], .json) }
        var fields = [activity[0], .text(text(row[1])), .text(text(row[2])), .other(PublicID.encode(int(row[3])))]
        fields += activity.dropFirst()
        fields.append(.other(Timestamp(milliseconds: int(row[0])).iso8601))
        for (i, rendering) in renderings.enumerated() { fields.append(CustomerExport.render(row[4 + Self.activityColumns.count + i], rendering)) }
        return fields
    }
}
