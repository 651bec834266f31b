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

        let header = ["delivery_id", "id", "email", "cio_id"] + Self.activityColumns.dropFirst() + ["timestamp"] + customer.attributes.map(\.name)
        try csv.row(header.map(CSVCell.text))
        let rows = try Row.fetchCursor(db, sql: query.sql, arguments: query.statementArguments)
        var total: Int64 = 0
        var fields: [CSVCell] = []
        while let row = try rows.next() {
            fields.removeAll(keepingCapacity: true)
            let activity = Self.activityColumns.indices.map { CustomerExport.render(row[4 + $0], .json) }
            fields.append(activity[0])
            fields.append(.text(row[1] ?? ""))
            fields.append(.text(row[2] ?? ""))
            fields.append(.other(PublicID.encode(row[3])))
            fields += activity.dropFirst()
            fields.append(.other(Timestamp(milliseconds: row[0]).iso8601))
            for (i, column) in columns.enumerated() { fields.append(CustomerExport.render(row[4 + Self.activityColumns.count + i], column.rendering)) }
            try csv.row(fields)
            total += 1
        }
        return total
    }
}
